"""Every setting's name in one place: explicit argument, then environment variable, then default."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

STORE_ENV = "MMOA_STORE"
CONFIG_ENV = "MMOA_CONFIG"
DEFAULT_STORE = "mmoa.duckdb"
OTLP_ENV = "MMOA_OTLP_ENDPOINT"  # routers send spans to this collector instead of a file
COLLECTOR_ENV = "MMOA_COLLECTOR"  # readers query this collector instead of a file
TOKEN_ENV = "MMOA_TOKEN"  # the collector's shared secret
DEFAULT_CONFIG = "mmoa.yaml"


def store_path(explicit: str | None = None) -> Path:
    """--store, else $MMOA_STORE, else ./mmoa.duckdb."""
    return Path(explicit or os.environ.get(STORE_ENV) or DEFAULT_STORE)


def config_path(explicit: str | None = None) -> Path:
    """--config, else $MMOA_CONFIG, else ./mmoa.yaml if present, else the shipped default."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen)
    local = Path(DEFAULT_CONFIG)
    if local.is_file():
        return local
    return Path(str(resources.files("mmoa").joinpath("mmoa.yaml")))


def otlp_endpoint(explicit: str | None = None) -> str | None:
    """--otlp-endpoint, else $MMOA_OTLP_ENDPOINT, else None (write the store in-process)."""
    return explicit or os.environ.get(OTLP_ENV) or None


def collector_url(explicit: str | None = None) -> str | None:
    """--collector, else $MMOA_COLLECTOR, else None (read the store file)."""
    return explicit or os.environ.get(COLLECTOR_ENV) or None


def token(explicit: str | None = None) -> str | None:
    """--token, else $MMOA_TOKEN, else None (no token required or sent)."""
    return explicit or os.environ.get(TOKEN_ENV) or None
