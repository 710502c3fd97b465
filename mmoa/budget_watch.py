"""Wiring of the budget controller: where it reads, where its events go, where alerts go.

Embedded (`--store FILE`): this process owns the store; the controller reads a cursor of the
writer connection and appends with collector.events.append_events. Service (`--collector URL`):
it reads through the collector's /v1/query and appends with POST /v1/events (acknowledged
after the commit), so the collector stays the single writer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analytics.budget_rules import BudgetEvent
from analytics.budgets import Append, Controller
from analytics.errors import StoreUnavailable
from analytics.reader import Source
from catalog.budgets import AlertWebhook, BudgetSpec
from mmoa.alerts import Delivery, Outbox, Post, Webhook, http_post, log_events
from mmoa.render import to_jsonable

EVENTS_PATH = "/v1/events"


class CollectorEvents:
    """Appends events through `mmoa collector serve` (POST /v1/events), with its token."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/") + EVENTS_PATH
        self.token = token
        self.timeout_s = timeout_s

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        body = json.dumps(to_jsonable(rows)).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()[:300]
            raise StoreUnavailable(
                f"collector at {self.url} refused the events (HTTP {exc.code}): {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot reach the collector at {self.url} ({exc}): start `mmoa collector serve`"
            ) from None


def store_append(conn: Any) -> Append:
    """Appends through the embedded writer connection."""
    from collector.events import append_events

    def append(rows: list[dict[str, Any]]) -> None:
        append_events(conn, rows)

    return append


@dataclass
class Watch:
    """The controller loop's parts: one `tick(now)` decides, appends, logs and delivers."""

    controller: Controller
    outbox: Outbox | None = None
    on_events: Callable[[Sequence[BudgetEvent]], None] = log_events
    deliveries: list[Delivery] = field(default_factory=list)

    def tick(self, now: datetime) -> list[BudgetEvent]:
        events = self.controller.tick(now)
        if events:
            self.on_events(events)
        if self.outbox is not None:
            self.deliveries.extend(self.outbox.flush())
        return events


def make_watch(
    source: Source,
    append: Append,
    budgets: Sequence[BudgetSpec],
    webhook: AlertWebhook | None = None,
    *,
    simulated: bool = False,
    post: Post = http_post,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    on_events: Callable[[Sequence[BudgetEvent]], None] = log_events,
) -> Watch:
    """A Watch over `source` appending with `append`; alerts to `webhook` if there is one."""
    controller = Controller(source, budgets, append, simulated=simulated)
    outbox = None
    if webhook is not None:
        kw: dict[str, Any] = {"post": post}
        if sleep is not None:
            kw["sleep"] = sleep
        okw: dict[str, Any] = {} if clock is None else {"clock": clock}
        outbox = Outbox(source, Webhook(webhook, **kw), append, **okw)
    return Watch(controller, outbox, on_events)
