"""Budget alerts, delivered: to the log (stdout), and to a webhook through an outbox.

The outbox is the log itself: an alert with no `budget_deliveries` row for the webhook's
channel is pending (sql/views/70_budgets.sql, `budget_alerts_pending`). Each flush POSTs the
pending alerts oldest first, retrying each with exponential backoff; an alert is marked
delivered only once the receiver answered 2xx, so a receiver that is down loses nothing (the
next flush tries again), and a delivery repeated after a lost answer carries the same event id
(in the body and as the `Idempotency-Key` header) for the receiver to drop.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.budget_rules import BudgetEvent
from analytics.reader import Source, rows_of
from catalog.budgets import AlertWebhook
from mmoa.render import to_jsonable

log = logging.getLogger("mmoa.budget")

Post = Callable[[str, bytes, Mapping[str, str], float], int]  # url, body, headers, timeout
Append = Callable[[list[dict[str, Any]]], None]
_PENDING_SQL = "SELECT * FROM budget_alerts_pending($chan, $since::TIMESTAMP)"
MAX_BACKOFF_S = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def alert_line(e: BudgetEvent | Mapping[str, Any]) -> str:
    """One log line for a budget event: when, what, and its reason with the figures."""
    row = e.row() if isinstance(e, BudgetEvent) else e
    ts = row["ts"]
    when = ts.strftime("%Y-%m-%d %H:%M") if isinstance(ts, datetime) else str(ts)
    version = f" -> policy v{row['policy_version']}" if row.get("policy_version") else ""
    return f"{when} {row['kind']} [{row['budget']}]{version}: {row['reason']}"


def log_events(events: Sequence[BudgetEvent]) -> None:
    """Alerts at WARNING, policy changes at INFO (`mmoa budget watch` prints both)."""
    for e in events:
        log.log(logging.WARNING if e.kind == "budget.alert" else logging.INFO, alert_line(e))


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST; the HTTP status, or 0 when the receiver could not be reached."""
    request = urllib.request.Request(url, body, dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0


def payload(alert: Mapping[str, Any]) -> bytes:
    """The webhook's JSON body: the alert event as stored, money as exact decimal strings."""
    doc = {k: v for k, v in alert.items() if v is not None}
    if isinstance(doc.get("details"), str):
        doc["details"] = json.loads(doc["details"])
    return json.dumps(to_jsonable(doc), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    status: int  # the last HTTP status (0: unreachable)
    attempts: int
    delivered: bool


class Webhook:
    """Delivers one alert with retries: 1 + `hook.retries` tries, backoff 0.5 s doubling up to
    MAX_BACKOFF_S (sleep injected, so tests do not wait)."""

    def __init__(
        self,
        hook: AlertWebhook,
        *,
        post: Post = http_post,
        sleep: Callable[[float], None] = time.sleep,
        backoff_s: float = 0.5,
    ) -> None:
        self.hook = hook
        self.channel = f"webhook:{hook.url}"
        self.post = post
        self.sleep = sleep
        self.backoff_s = backoff_s

    def deliver(self, alert: Mapping[str, Any]) -> Delivery:
        body = payload(alert)
        event_id = str(alert["event_id"])
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": event_id,
            "User-Agent": "mmoa-budget",
        }
        status, tries = 0, 0
        for tries in range(1, self.hook.retries + 2):
            status = self.post(self.hook.url, body, headers, self.hook.timeout_s)
            if 200 <= status < 300:
                return Delivery(event_id, status, tries, True)
            if tries <= self.hook.retries:
                self.sleep(min(MAX_BACKOFF_S, self.backoff_s * 2 ** (tries - 1)))
        return Delivery(event_id, status, tries, False)


class Outbox:
    """Pending alerts -> the webhook, recording each delivery through the writer."""

    def __init__(
        self,
        source: Source,
        webhook: Webhook,
        append: Append,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_age: timedelta = timedelta(days=7),
    ) -> None:
        self.source = source
        self.webhook = webhook
        self.append = append
        self.clock = clock
        self.max_age = max_age
        self.attempts: dict[str, int] = {}  # tries so far per alert, across flushes

    def pending(self) -> list[dict[str, Any]]:
        """Alerts not delivered to this webhook yet, oldest first."""
        since = (self.clock() - self.max_age).isoformat(sep=" ")
        columns, rows = rows_of(
            self.source, _PENDING_SQL, {"chan": self.webhook.channel, "since": since}
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def flush(self) -> list[Delivery]:
        """Deliver pending alerts in order; stop at the first that fails (it stays pending)."""
        out = []
        for alert in self.pending():
            d = self.webhook.deliver(alert)
            tries = self.attempts.get(d.event_id, 0) + d.attempts
            self.attempts[d.event_id] = tries
            out.append(d)
            if not d.delivered:
                log.warning(
                    "webhook %s: alert %s not delivered after %d tries (HTTP %s); kept pending",
                    self.webhook.hook.url,
                    d.event_id,
                    tries,
                    d.status or "unreachable",
                )
                break
            record = {
                "kind": "budget.delivery",
                "event_id": d.event_id,
                "channel": self.webhook.channel,
                "delivered_at": self.clock(),
                "attempts": tries,
                "status": d.status,
            }
            self.append([record])
            self.attempts.pop(d.event_id, None)
        return out
