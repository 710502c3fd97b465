"""Every setting's name in one place: explicit argument, then environment variable, then default."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

STORE_ENV = "MMOA_STORE"
CONFIG_ENV = "MMOA_CONFIG"
DEFAULT_STORE = "mmoa.duckdb"
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
