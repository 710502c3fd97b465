"""The composition root: builds the catalog, the router, the tracer and the store exporter."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from catalog import Catalog, load_catalog
from collector import DuckDBSpanExporter, write_catalog
from collector.ledger import BudgetLedger
from mmoa import providers, settings
from mmoa.ledger_client import EmbeddedLedger, RemoteLedger
from router import Router, RouterConfig, load_config
from router.policy import PolicySource
from router.router import Clock

# The demo routes tens of thousands of requests in seconds: a deep queue keeps
# BatchSpanProcessor from dropping spans, and callers flush before reading the store. Large
# batches let DuckDB write whole row groups instead of going through its WAL (bench/ingest.py).
QUEUE_SIZE = 1 << 18
BATCH_SIZE = 1 << 16


@dataclass
class Wired:
    """A router whose spans land in a DuckDB store, and what it takes to shut it down."""

    router: Router
    catalog: Catalog
    config: RouterConfig
    tracer_provider: TracerProvider
    exporter: SpanExporter
    notes: tuple[str, ...] = ()  # providers skipped, and why
    ledger: EmbeddedLedger | RemoteLedger | None = None  # hard caps, when budgets have them
    policy: PolicySource | None = None  # the downgrades in force, read from budget_events

    def flush(self) -> None:
        """Block until every span ended so far is in the store."""
        self.tracer_provider.force_flush()

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
        self.tracer_provider.shutdown()


def load(config_file: Path) -> tuple[RouterConfig, Catalog]:
    """Read the config and the catalog it extends."""
    config = load_config(config_file)
    return config, load_catalog(config.models, where=str(config_file))


def wire(
    config_file: Path,
    store: Path,
    *,
    provider: str = "simulated",
    clock: Clock | None = None,
    virtual_time: bool = False,
    otlp_endpoint: str | None = None,
    token: str | None = None,
    policy: PolicySource | None = None,
    policy_every_s: float | None = None,
) -> Wired:
    """Everything `mmoa ask` and `mmoa demo` need, with spans going to `store`.

    virtual_time: the clock is set by the caller (the demo) and waits only move it on.
    otlp_endpoint: a collector's URL (`mmoa collector serve`) to send spans to instead of
    writing the store in this process; it also holds the hard-cap reservations then.
    token: the collector's token (default $MMOA_TOKEN).
    policy: the budget downgrades the router obeys (default: with `budgets:` in the config,
    folded from budget_events, re-read every `policy_every_s` seconds of `clock`).
    """
    config, catalog = load(config_file)
    selection = providers.select(provider, config, catalog)
    exporter: SpanExporter
    clock = clock or time.time_ns
    capped = any(b.hard is not None for b in config.budgets)
    ledger: EmbeddedLedger | RemoteLedger | None = None
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
    else:
        exporter = DuckDBSpanExporter(store)
        write_catalog(exporter.conn, catalog)
        if capped:
            # on virtual time (the demo) a commit per attempt would dwarf the simulated calls;
            # close() still writes every reservation
            inner = BudgetLedger(
                exporter.conn, config.budgets, clock=_utc_clock(clock), durable=not virtual_time
            )
            ledger = EmbeddedLedger(inner)
    if capped and otlp_endpoint:
        ledger = RemoteLedger(otlp_endpoint, token=token or settings.token())
    if policy is None and config.budgets:
        every = POLICY_REFRESH_S if policy_every_s is None else policy_every_s
        policy = _log_policy(exporter, otlp_endpoint, token, clock, every)
    tp = TracerProvider(resource=Resource.create({"service.name": "mmoa"}))
    tp.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=QUEUE_SIZE,
            max_export_batch_size=BATCH_SIZE,
            schedule_delay_millis=500,
        )
    )
    router = Router(
        catalog,
        config,
        selection.provider_for,
        tracer=tp.get_tracer("mmoa.router"),
        clock=clock,
        sleep=_no_wait if virtual_time else time.sleep,
        seed=int(config.simulation.get("seed", 7)),
        ledger=ledger,
        policy=policy,
    )
    return Wired(router, catalog, config, tp, exporter, selection.notes, ledger, policy)


# How often (seconds of the router's clock) the router re-reads the policy from budget_events.
POLICY_REFRESH_S = 5.0


def _log_policy(
    exporter: SpanExporter,
    otlp_endpoint: str | None,
    token: str | None,
    clock: Clock,
    every_s: float,
) -> PolicySource:
    """The policy folded from the log: the store this process writes, or the collector's."""
    from analytics.reader import CollectorReader, Source
    from mmoa.policy_source import LogPolicySource

    source: Source
    if otlp_endpoint:
        source = CollectorReader(otlp_endpoint, token=token or settings.token(), timeout_s=5.0)
    else:
        assert isinstance(exporter, DuckDBSpanExporter)
        source = exporter.conn.cursor()  # its own connection: the exporter writes on another thread
    return LogPolicySource(source, every_s=every_s, clock=lambda: clock() / 1e9)


def _utc_clock(clock: Clock) -> Callable[[], datetime]:
    """The ledger's clock (naive UTC datetimes) on the router's (nanoseconds)."""

    def now() -> datetime:
        return datetime.fromtimestamp(clock() / 1e9, UTC).replace(tzinfo=None)

    return now


def _no_wait(seconds: float) -> None:
    """On virtual time a wait is recorded in the spans' timestamps, not slept."""
