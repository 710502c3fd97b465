"""Hard-cap ledgers for the router: the process's own (embedded) or the collector's (service).

In service mode every router process reserves through the collector (`POST
/v1/budget/reserve` and `/v1/budget/settle`, collector/budget_api.py), the single authority,
so several processes share one budget correctly. The client picks each reservation's id, so a
request retried after a lost answer returns the same reservation instead of holding twice.
A collector that cannot be reached fails the attempt (fail closed: no hold, no call).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from collector.ledger import BudgetLedger, Reservation
from router.errors import RouterError
from router.policy import Hold

log = logging.getLogger("mmoa.ledger")

RESERVE_PATH = "/v1/budget/reserve"
SETTLE_PATH = "/v1/budget/settle"


class LedgerUnavailable(RouterError):
    """The collector holding the budgets could not be reached or refused the request."""


class EmbeddedLedger:
    """The router's Ledger over this process's own BudgetLedger (collector/ledger.py)."""

    def __init__(self, ledger: BudgetLedger) -> None:
        self.ledger = ledger

    def reserve(
        self,
        request_id: str,
        category: str,
        tags: Mapping[str, str],
        provider: str,
        amount: Decimal,
    ) -> Hold | str:
        got = self.ledger.reserve(request_id, category, tags, provider, amount)
        return got if isinstance(got, str) else Hold(got.id, got.amount)

    def settle(self, hold: Hold, actual: Decimal | None) -> None:
        self.ledger.settle(Reservation(hold.id, hold.amount), actual)

    def close(self) -> None:
        self.ledger.close()


class RemoteLedger:
    """The router's Ledger over a collector's reservation endpoints (one connection per thread)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"collector URL {url!r}: use http://HOST:PORT")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.timeout_s, self.retries, self.sleep = timeout_s, retries, sleep
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = kind(self._host, self._port, timeout=self.timeout_s)
            self._local.conn = conn
            conn.connect()
            if conn.sock is not None:  # small requests: no waiting on Nagle
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _drop(self) -> None:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _post(self, path: str, doc: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(doc).encode()
        problem = ""
        for n in range(self.retries + 1):
            if n:
                self.sleep(min(0.1 * 2**n, 2.0))
            try:
                conn = self._connection()
                conn.request("POST", path, body, self._headers)
                reply = conn.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                problem = f"cannot reach it ({exc})"
                continue
            if reply.status == 200:
                answer: dict[str, Any] = json.loads(data)
                return answer
            problem = f"HTTP {reply.status}: {data.decode(errors='replace').strip()}"
            if reply.status != 503:
                break
        raise LedgerUnavailable(f"budget ledger at {self.url}{path}: {problem}")

    def reserve(
        self,
        request_id: str,
        category: str,
        tags: Mapping[str, str],
        provider: str,
        amount: Decimal,
    ) -> Hold | str:
        answer = self._post(
            RESERVE_PATH,
            {
                "reservation_id": uuid.uuid4().hex,
                "request_id": request_id,
                "category": category,
                "tags": dict(tags),
                "provider": provider,
                "amount": format(amount, "f"),
            },
        )
        if answer.get("granted"):
            return Hold(str(answer["reservation_id"]), Decimal(answer["amount"]))
        return str(answer["budget"])

    def settle(self, hold: Hold, actual: Decimal | None) -> None:
        """Settle; if the collector cannot be reached the call's answer still stands, and the
        hold keeps its worst case there (on the safe side) until the period ends."""
        doc = {"reservation_id": hold.id, "actual": None if actual is None else format(actual, "f")}
        try:
            self._post(SETTLE_PATH, doc)
        except LedgerUnavailable as exc:
            log.warning("%s; reservation %s keeps its worst case", exc, hold.id)

    def close(self) -> None:
        """Nothing to flush: every reservation is the collector's."""
