"""Appending budget events (embedded and POST /v1/events), the alert webhook outbox against a
loopback receiver that is down, then flaky, then up, and the policy source's refresh clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics.budgets import timeline
from analytics.reader import CollectorReader
from catalog.budgets import AlertWebhook
from collector.events import BadEvent, append_events
from collector.server import Collector, ServerConfig
from collector.store import migrate
from mmoa.alerts import Outbox, Webhook, alert_line
from mmoa.budget_watch import CollectorEvents, make_watch
from mmoa.policy_source import LogPolicySource
from tests.test_collector_server import request

T0 = datetime(2026, 11, 28, 14, 5)


def alert(i: int, **kw: Any) -> dict[str, Any]:
    return {
        "event_id": f"alert-{i}",
        "ts": T0 + timedelta(minutes=i),
        "kind": "budget.alert",
        "budget": "daily",
        "scope": "global",
        "period_start": datetime(2026, 11, 28),
        "reason": f"alert number {i}",
        "spent_usd": Decimal("8.9000000001"),
        "limit_usd": Decimal("14.40"),
        "details": {"trigger": "drift"},
        **kw,
    }


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    migrate(c)
    return c


# ---------------------------------------------------------------------------- append_events


def test_append_is_idempotent_and_exact(conn: duckdb.DuckDBPyConnection) -> None:
    assert append_events(conn, [alert(1), alert(2)]) == 2
    assert append_events(conn, [alert(2), alert(3)]) == 1  # alert-2 is already stored
    rows = conn.execute(
        "SELECT event_id, spent_usd, simulated, details->>'trigger' FROM budget_events ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("alert-1", Decimal("8.9000000001"), False, "drift"),
        ("alert-2", Decimal("8.9000000001"), False, "drift"),
        ("alert-3", Decimal("8.9000000001"), False, "drift"),
    ]
    delivery = {
        "kind": "budget.delivery",
        "event_id": "alert-1",
        "channel": "webhook:x",
        "delivered_at": "2026-11-28T14:07:00+01:00",  # stored as naive UTC
        "attempts": 3,
        "status": 204,
    }
    feedback = {
        "kind": "feedback",
        "event_id": "f1",
        "ts": "2026-11-28 15:00:00",
        "request_id": "r1",
        "score": 0.25,
        "source": "user",
    }
    assert append_events(conn, [delivery, feedback, delivery]) == 2
    assert conn.execute("SELECT delivered_at, attempts FROM budget_deliveries").fetchall() == [
        (datetime(2026, 11, 28, 13, 7), 3)
    ]
    assert conn.execute("SELECT score FROM feedback").fetchall() == [(0.25,)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "budget.boom"}, "event 1: unknown kind 'budget.boom'"),
        ({**alert(9), "ts": "yesterday"}, "event 1 (budget.alert 'alert-9'): ts 'yesterday'"),
        ({**alert(9), "spent_usd": "lots"}, "spent_usd 'lots' is not a decimal amount"),
        ({**alert(9), "event_id": ""}, "event 1 (budget.alert ''): event_id is required"),
        ({**alert(9), "colour": "red"}, "unknown field 'colour'"),
        ("text", "event 1: must be an object, got str"),
    ],
)
def test_a_bad_event_fails_the_whole_call(
    conn: duckdb.DuckDBPyConnection, bad: Any, message: str
) -> None:
    with pytest.raises(BadEvent) as info:
        append_events(conn, [alert(1), bad])
    assert message in str(info.value) and "\n" not in str(info.value)
    assert conn.execute("SELECT count(*) FROM budget_events").fetchall() == [(0,)]


# ------------------------------------------------------------------------- POST /v1/events


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Collector]:
    with Collector(ServerConfig(store=tmp_path / "s.duckdb", port=0, token="s3cret")) as c:
        yield c


def test_events_endpoint_stores_once_after_commit(served: Collector) -> None:
    auth = {"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
    body = json.dumps([{**alert(1), "ts": T0.isoformat(), "spent_usd": "1.5",
                        "period_start": "2026-11-28 00:00:00", "limit_usd": "2"}])  # fmt: skip
    assert request(served.url, "POST", "/v1/events", body.encode()).status == 401
    first = request(served.url, "POST", "/v1/events", body.encode(), auth)
    assert (first.status, first.json()) == (200, {"stored": 1})
    again = request(served.url, "POST", "/v1/events", body.encode(), auth)
    assert (again.status, again.json()) == (200, {"stored": 0})
    bad = request(served.url, "POST", "/v1/events", b'{"kind": 1}', auth)
    assert (bad.status, bad.text) == (400, "expected a JSON list of events, got dict\n")
    assert request(served.url, "GET", "/v1/events").status == 405
    events = timeline(CollectorReader(served.url, token="s3cret"))
    assert [(e["event_id"], e["spent_usd"], e["ts"]) for e in events] == [
        ("alert-1", Decimal("1.5"), T0)
    ]


def test_collector_events_client_round_trip(served: Collector) -> None:
    CollectorEvents(served.url, "s3cret")([alert(1), alert(2)])
    reader = CollectorReader(served.url, token="s3cret")
    assert [e["reason"] for e in timeline(reader)] == ["alert number 1", "alert number 2"]
    assert timeline(reader)[0]["details"] == {"trigger": "drift"}


# --------------------------------------------------------------------------------- webhook


class Receiver:
    """A loopback webhook receiver: answers `script` statuses in turn, then 204; records every
    body it was sent (even those it answered with an error: the sender cannot know)."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(json.loads(body))
                outer.keys.append(self.headers["Idempotency-Key"])
                status = outer.script.pop(0) if outer.script else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread: threading.Thread | None = None

    def up(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread:
            self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_webhook_down_then_flaky_then_up_loses_nothing(
    conn: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    append_events(conn, [alert(1), alert(2), alert(3)])
    slept: list[float] = []
    hook = AlertWebhook(receiver.url, timeout_s=2, retries=3)
    outbox = Outbox(
        conn,
        Webhook(hook, sleep=slept.append),
        lambda rows: append_events(conn, rows),
        clock=lambda: T0 + timedelta(hours=1),
    )
    # down: every try is answered 503 (unreachable is the next test)
    receiver.script = [503] * 4
    receiver.up()
    first = outbox.flush()
    assert [(d.event_id, d.delivered, d.attempts, d.status) for d in first] == [
        ("alert-1", False, 4, 503)  # 1 + 3 retries, then stop: order is kept
    ]
    assert slept == [0.5, 1.0, 2.0]  # exponential backoff, injected sleep
    assert [a["event_id"] for a in outbox.pending()] == ["alert-1", "alert-2", "alert-3"]
    # flaky: two failures, then it answers
    receiver.script = [500, 502]
    second = outbox.flush()
    assert [(d.event_id, d.delivered, d.attempts) for d in second] == [
        ("alert-1", True, 3),
        ("alert-2", True, 1),
        ("alert-3", True, 1),
    ]
    assert outbox.pending() == []
    assert conn.execute(
        "SELECT event_id, attempts, status FROM budget_deliveries ORDER BY 1"
    ).fetchall() == [("alert-1", 7, 204), ("alert-2", 1, 204), ("alert-3", 1, 204)]
    # every try carried the alert's own id: duplicates are recognisable
    assert receiver.keys == ["alert-1"] * 7 + ["alert-2", "alert-3"]
    assert [b["event_id"] for b in receiver.bodies] == receiver.keys
    body = receiver.bodies[-1]
    assert body["spent_usd"] == "8.9000000001" and body["details"] == {"trigger": "drift"}
    assert body["kind"] == "budget.alert" and body["reason"] == "alert number 3"
    assert outbox.flush() == []  # nothing sent twice once acknowledged


def test_webhook_unreachable_keeps_alerts_pending(
    conn: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    append_events(conn, [alert(1)])
    slept: list[float] = []
    hook = AlertWebhook(receiver.url, timeout_s=1, retries=2)
    receiver.server.server_close()  # nothing listens on the port: connection refused
    outbox = Outbox(conn, Webhook(hook, sleep=slept.append), lambda rows: append_events(conn, rows))
    (d,) = outbox.flush()
    assert (d.delivered, d.status, d.attempts) == (False, 0, 3)
    assert slept == [0.5, 1.0]
    assert [a["event_id"] for a in outbox.pending()] == ["alert-1"]


def test_watch_tick_delivers_the_alerts_it_raises(
    conn: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    from tests.test_budget_controller import CENT, DAY, SPEC, Store

    store = Store()
    for m in range(14 * 60 + 5):
        store.spend(DAY + timedelta(minutes=m), CENT if m < 14 * 60 else CENT * 10)
    store.flush()
    receiver.up()
    lines: list[str] = []
    watch = make_watch(
        store.conn,
        store.append,
        [SPEC],
        AlertWebhook(receiver.url, retries=0),
        clock=lambda: DAY.replace(hour=14, minute=6),
        on_events=lambda events: lines.extend(alert_line(e) for e in events),
    )
    events = watch.tick(DAY.replace(hour=14, minute=5))
    assert [e.kind for e in events] == ["budget.alert", "budget.downgrade"]
    assert [b["event_id"] for b in receiver.bodies] == [events[0].event_id]
    assert lines[1].startswith("2026-11-28 14:05 budget.downgrade [coding] -> policy v1: budget")


# ---------------------------------------------------------------------------- policy source


def test_policy_source_refreshes_on_its_clock_only(conn: duckdb.DuckDBPyConnection) -> None:
    clock = [0.0]
    source = LogPolicySource(conn, every_s=5.0, clock=lambda: clock[0])
    assert source.current().version == 0 and source.reads == 1
    down = alert(1, kind="budget.downgrade", event_id="d1", to_chain="next_tier")
    append_events(conn, [down])
    clock[0] = 4.9
    assert source.current().version == 0 and source.reads == 1  # not yet: no read at all
    clock[0] = 5.0
    assert source.current().version == 1 and source.reads == 2
    assert source.current().downgrades[0].event_id == "d1"
    append_events(conn, [alert(2, kind="budget.restore", event_id="x1")])
    assert source.refresh().version == 2 and source.current().downgrades == ()
