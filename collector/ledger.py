"""The hard-cap ledger: reservations against every budget in scope, all or none, as events.

Before each attempt the router reserves that attempt's worst case; after it, settles with the
actual cost. A budget's state is the spend of its current period plus its outstanding
reservations, and a reservation is granted only if, for every hard-capped budget in scope,
`spent + reserved + amount <= hard`. One lock makes that check-and-add atomic over all of the
budgets, so no interleaving of concurrent requests can overspend.

Every reserve and settle is a row of `budget_events` (kinds `budget.reserve`, one row per
budget held, and `budget.settle`, one row per reservation). A reserve row is committed before
`reserve` returns: a reservation the caller was granted survives a restart, clean or not. A
settle row is queued and committed just after (losing one in a crash only keeps that hold at
its worst case: on the safe side). One writer thread commits everything queued in one
transaction (group commit), so concurrent callers share commits.

On start, and when a budget's period rolls over, its state is folded from the store
(`ledger_spend` and `ledger_holds` in sql/views/80_ledger.sql):
- spent = priced calls in scope in the window, plus, for settled reservations, the worst case
  of the unpriced ones and the actual cost of those whose request is not stored yet (spans
  reach the store after the settle);
- reserved = reservations with no settle, kept as holds so a settle after restart finds them.
Between folds, spend is counted from the settles (calls from other apps that reach the store
meanwhile count from the next fold).

The collector knows nothing of the router: `Reservation` mirrors router.policy.Hold and the
composition root adapts one to the other.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from catalog.budgets import BudgetSpec
from collector.store import transaction

log = logging.getLogger("mmoa.collector.ledger")

Clock = Callable[[], datetime]  # naive UTC
_NS = uuid.UUID("5f1d3c2a-7b0e-4c1a-9a57-6d0c8e1b2f44")  # event ids: uuid5 of their content

_COLUMNS = (
    "event_id",
    "ts",
    "kind",
    "budget",
    "scope",
    "period_start",
    "limit_usd",
    "reservation_id",
    "amount_usd",
    "details",
)
_MONEY = pa.decimal128(18, 10)
_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("kind", pa.string()),
        ("budget", pa.string()),
        ("scope", pa.string()),
        ("period_start", pa.timestamp("us")),
        ("limit_usd", _MONEY),
        ("reservation_id", pa.string()),
        ("amount_usd", _MONEY),
        ("details", pa.string()),
    ]
)
# Event ids are unique by construction (a reservation is written once, settled once), so a
# plain INSERT: checking for duplicates costs a third of each commit.
_INSERT = f"INSERT INTO budget_events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * 10)})"
_INSERT_BATCH = f"INSERT INTO budget_events ({', '.join(_COLUMNS)}) SELECT * FROM ledger_batch"
EventRow = tuple[object, ...]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A granted reservation (router.policy.Hold's twin): settle it exactly once."""

    id: str
    amount: Decimal


@dataclass(slots=True)
class _Period:
    start: datetime
    end: datetime
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)


@dataclass(slots=True)
class _Held:
    amount: Decimal
    budgets: tuple[tuple[str, datetime], ...]  # (budget name, period start) held
    request_id: str = ""


class _Writer:
    """Commits event rows on its own thread, everything queued in one transaction (group
    commit); `wait(append(rows))` returns once those rows are committed."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.cur = cur
        self._cond = threading.Condition()
        self._queued: list[EventRow] = []
        self._appended = 0  # tickets handed out
        self._written = 0  # tickets committed (or failed)
        self._failed: list[tuple[int, int, BaseException]] = []
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="mmoa-ledger-writer", daemon=True)
        self._thread.start()

    def append(self, rows: Sequence[EventRow]) -> int:
        with self._cond:
            if self._closing:
                raise RuntimeError("the budget ledger is closed")
            self._queued.extend(rows)
            self._appended += 1
            self._cond.notify_all()
            return self._appended

    def flush(self) -> None:
        """Block until everything appended so far is committed."""
        with self._cond:
            ticket = self._appended
        self.wait(ticket)

    def wait(self, ticket: int) -> None:
        with self._cond:
            while self._written < ticket:
                self._cond.wait()
            for lo, hi, failure in self._failed:
                if lo <= ticket <= hi:
                    raise failure

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queued and not self._closing:
                    self._cond.wait()
                if not self._queued:
                    return
                rows, upto, first = self._queued, self._appended, self._written + 1
                self._queued = []
            error: BaseException | None = None
            try:
                self._write(rows)
            except Exception as exc:  # handed to every waiting caller of the batch
                log.error("could not write %d budget events: %s", len(rows), exc)
                error = exc
            with self._cond:
                self._written = upto
                if error is not None:
                    self._failed.append((first, upto, error))
                self._cond.notify_all()

    def _write(self, rows: list[EventRow]) -> None:
        with transaction(self.cur):
            if len(rows) == 1:  # one row: binding beats building a table
                self.cur.execute(_INSERT, rows[0])
                return
            batch = pa.Table.from_pylist(
                [dict(zip(_COLUMNS, r, strict=True)) for r in rows], _SCHEMA
            )
            self.cur.register("ledger_batch", batch)
            try:
                self.cur.execute(_INSERT_BATCH)
            finally:
                self.cur.unregister("ledger_batch")

    def close(self) -> None:
        """Write everything queued, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self.cur.close()


class BudgetLedger:
    """Hard-cap reservations over the budgets of a store; thread-safe; see the module doc."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        budgets: Sequence[BudgetSpec],
        clock: Clock = utc_now,
        *,
        durable: bool = True,
    ) -> None:
        """durable: a reserve returns once its row is committed, so it survives a crash too.
        False: it returns at once and its row follows (a clean close() writes every one);
        for simulations, where a commit per attempt would cost more than the attempt."""
        self.budgets = tuple(b for b in budgets if b.hard is not None)
        self.clock = clock
        self.durable = durable
        self._cur = conn.cursor()  # its own connection to the store: safe beside the writer
        self._writer = _Writer(conn.cursor())
        self._lock = threading.Lock()
        self._periods: dict[str, _Period] = {}
        self._holds: dict[str, _Held] = {}
        now = clock()
        with self._lock:
            for b in self.budgets:
                self._fold(b, now)

    # -- the fold ------------------------------------------------------------------------------

    def _fold(self, b: BudgetSpec, now: datetime) -> _Period:
        """The budget's current period, from the store (caller holds the lock)."""
        start, end = b.window(now)
        ((spent,),) = self._cur.execute(
            "SELECT ledger_spend(?, ?, ?, ?)", [b.scope.kind, b.scope.value, start, end]
        ).fetchall()
        period = _Period(start, end, spent=Decimal(spent))
        rows = self._cur.execute(
            "SELECT reservation_id, reserved, settled, actual, stored FROM ledger_holds(?, ?)",
            [b.name, start],
        ).fetchall()
        for rid, reserved, settled, actual, stored in rows:
            if not settled:
                period.reserved += reserved
                held = self._holds.get(rid)
                budgets = (held.budgets if held else ()) + ((b.name, start),)
                self._holds[rid] = _Held(reserved, budgets)
            elif actual is None:
                period.spent += reserved  # unpriced: the worst case stays spent
            elif not stored:
                period.spent += actual
        self._periods[b.name] = period
        return period

    def _period(self, b: BudgetSpec, now: datetime) -> _Period:
        p = self._periods[b.name]
        return p if p.start <= now < p.end else self._fold(b, now)

    # -- the Ledger protocol (router/policy.py), structurally -------------------------------

    def reserve(
        self,
        request_id: str,
        category: str,
        tags: Mapping[str, str],
        provider: str,
        amount: Decimal,
        reservation_id: str | None = None,
    ) -> Reservation | str:
        """Hold `amount` against every hard-capped budget in scope, or none of them.

        Returns the Reservation (committed to the log), or the name of the first budget whose
        hard cap it would break. Reserving again with the same `reservation_id` returns the
        same Reservation (a client may retry)."""
        if amount < 0:
            raise ValueError(f"a reservation must not be negative, got {amount}")
        rid = reservation_id or uuid.uuid4().hex
        now = self.clock()
        with self._lock:
            known = self._holds.get(rid)
            if known is not None:
                return Reservation(rid, known.amount)
            pairs = [
                (b, self._period(b, now))
                for b in self.budgets
                if b.scope.matches(category, tags, provider)
            ]
            for b, p in pairs:
                assert b.hard is not None
                if p.spent + p.reserved + amount > b.hard:
                    return b.name
            if not pairs:
                return Reservation(rid, amount)  # nothing to hold: settle is a no-op
            for _, p in pairs:
                p.reserved += amount
            self._holds[rid] = _Held(amount, tuple((b.name, p.start) for b, p in pairs), request_id)
            ticket = self._writer.append(
                [
                    _reserve_row(rid, b, p.start, amount, now, request_id, category, provider, tags)
                    for b, p in pairs
                ]
            )
        try:
            if self.durable:
                self._writer.wait(ticket)
        except BaseException:
            with self._lock:  # not in the log: not granted
                self._release(rid, None, count=False)
            raise
        return Reservation(rid, amount)

    def settle(self, reservation: Reservation | str, actual: Decimal | None) -> None:
        """Replace the reservation by the actual cost (None: unpriced, the worst case stays
        spent). Settling an unknown or already settled reservation does nothing.

        The settle row is committed just after, not awaited: lost in a crash, the reservation
        stays at its worst case after the restart (on the safe side); close() writes it."""
        rid = reservation if isinstance(reservation, str) else reservation.id
        now = self.clock()
        with self._lock:
            held = self._release(rid, actual, count=True)
            if held is None:
                return
            self._writer.append(
                [
                    (
                        str(uuid.uuid5(_NS, f"budget.settle|{rid}")),
                        now,
                        "budget.settle",
                        "",
                        "",
                        None,
                        None,
                        rid,
                        actual,
                        json.dumps({"request_id": held.request_id}),
                    )
                ]
            )

    def _release(self, rid: str, actual: Decimal | None, *, count: bool) -> _Held | None:
        held = self._holds.pop(rid, None)
        if held is None:
            return None
        for name, start in held.budgets:
            p = self._periods.get(name)
            if p is None or p.start != start:
                continue  # the period rolled over: its fold already counted this
            p.reserved -= held.amount
            if count:
                p.spent += held.amount if actual is None else actual
        return held

    # -- reading -------------------------------------------------------------------------------

    def state(self) -> dict[str, dict[str, object]]:
        """Each hard-capped budget's current period: start, spent, reserved, hard."""
        now = self.clock()
        with self._lock:
            out: dict[str, dict[str, object]] = {}
            for b in self.budgets:
                p = self._period(b, now)
                out[b.name] = {
                    "period_start": p.start,
                    "spent": p.spent,
                    "reserved": p.reserved,
                    "hard": b.hard,
                }
            return out

    def flush(self) -> None:
        """Block until every event so far (settles included) is committed."""
        self._writer.flush()

    def close(self) -> None:
        """Close the ledger's cursors (every granted reservation is already committed)."""
        self._writer.close()
        self._cur.close()


def _reserve_row(
    rid: str,
    b: BudgetSpec,
    start: datetime,
    amount: Decimal,
    now: datetime,
    request_id: str,
    category: str,
    provider: str,
    tags: Mapping[str, str],
) -> EventRow:
    details = {"request_id": request_id, "category": category, "provider": provider}
    return (
        str(uuid.uuid5(_NS, f"budget.reserve|{rid}|{b.name}")),
        now,
        "budget.reserve",
        b.name,
        str(b.scope),
        start,
        b.hard,
        rid,
        amount,
        json.dumps({**details, "tags": dict(tags)}),
    )
