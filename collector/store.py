"""The DuckDB store: open it for writing, migrate it, keep its `models` table current."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import mmoa.sql as sqlfiles

from catalog import Catalog
from collector.errors import StoreLocked

_VERSION = re.compile(r"^(\d+)_")


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All of the block, or none of it."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def open_writer(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store for writing and bring its schema up to date."""
    try:
        conn = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreLocked(
                f"{path} is in use by another process (DuckDB allows one writer); "
                "stop it, or use another --store"
            ) from None
        raise
    migrate(conn)
    return conn


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending numbered migrations (each in its own transaction), then the views."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP))"
    )
    rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    done = {row[0] for row in rows}
    applied = []
    for name in sqlfiles.listing("migrations"):
        match = _VERSION.match(name)
        if match is None:
            raise ValueError(
                f"sql/migrations/{name}: name must start with a number, e.g. 002_x.sql"
            )
        version = int(match.group(1))
        if version in done:
            continue
        with transaction(conn):
            conn.execute(sqlfiles.read("migrations", name))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name]
            )
        applied.append(name)
    for name in sqlfiles.listing("views"):
        conn.execute(sqlfiles.read("views", name))
    return applied


def write_catalog(conn: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Replace the `models` table with the catalog in use (reference data, not the log)."""
    rows = []
    for m in catalog:
        p = m.price
        rows.append(
            (
                m.provider,
                m.name,
                p.input.base if p else None,
                p.cache_read.base if p and p.cache_read else None,
                p.cache_write.base if p and p.cache_write else None,
                p.output.base if p else None,
                p.tier_start if p else None,
                m.context_window,
                m.max_output,
                m.intelligence,
                m.coding,
                m.tier,
                list(m.strengths),
                p.source if p else ("mmoa catalog" if m.per_image is not None else None),
                m.kind,
                m.per_image,
            )
        )
    with transaction(conn):
        conn.execute("DELETE FROM models")
        conn.executemany("INSERT INTO models VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
