"""The composition root: builds the catalog, the router, the tracer and the store exporter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from catalog import Catalog, ModelSpec, load_catalog
from collector import DuckDBSpanExporter, write_catalog
from router import Router, RouterConfig, load_config
from router.providers.base import Provider
from router.providers.simulated import SimulatedProvider
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
    exporter: DuckDBSpanExporter

    def flush(self) -> None:
        """Block until every span ended so far is in the store."""
        self.tracer_provider.force_flush()

    def close(self) -> None:
        self.tracer_provider.shutdown()


def load(config_file: Path) -> tuple[RouterConfig, Catalog]:
    """Read the config and the catalog it extends."""
    config = load_config(config_file)
    return config, load_catalog(config.models, where=str(config_file))


def simulated_providers(config: RouterConfig) -> SimulatedProvider:
    sim = config.simulation
    return SimulatedProvider(
        seed=int(sim.get("seed", 7)), failure_scale=float(sim.get("failure_scale", 1.0))
    )


def wire(
    config_file: Path, store: Path, *, provider: str = "simulated", clock: Clock | None = None
) -> Wired:
    """Everything `mmoa ask` and `mmoa demo` need, with spans going to `store`."""
    config, catalog = load(config_file)
    if provider != "simulated":
        raise SystemExit(f"provider {provider!r} is not available yet; use --provider simulated")
    sim = simulated_providers(config)

    def provider_for(model: ModelSpec) -> Provider:
        return sim

    exporter = DuckDBSpanExporter(store)
    write_catalog(exporter.conn, catalog)
    tp = TracerProvider(resource=Resource.create({"service.name": "mmoa"}))
    tp.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=QUEUE_SIZE,
            max_export_batch_size=BATCH_SIZE,
            schedule_delay_millis=500,
        )
    )
    kwargs = {"clock": clock} if clock is not None else {}
    router = Router(catalog, config, provider_for, tracer=tp.get_tracer("mmoa.router"), **kwargs)
    return Wired(router, catalog, config, tp, exporter)
