"""Export the store as files other engines read in place: hive-partitioned by day."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from analytics.errors import AnalyticsError, StoreUnavailable

FORMATS = ("parquet", "csv")
TABLES = ("spans", "calls", "requests")


def export(
    store: Path, out: Path, fmt: str, since: datetime | None, tables: tuple[str, ...] = TABLES
) -> dict[str, int]:
    """Write each table under out/<table>/day=YYYY-MM-DD/...; returns rows written per table.

    The store is opened read-only; only this command writes files, and only under `out`.
    """
    if fmt not in FORMATS:
        raise AnalyticsError(f"--format {fmt!r}: use parquet or csv")
    if not store.is_file():
        raise StoreUnavailable(f"no store at {store}: run `mmoa demo` first, or pass --store FILE")
    if out.exists() and any(out.iterdir()):
        raise AnalyticsError(f"{out} is not empty: choose a new --out folder (nothing was written)")
    conn = duckdb.connect(str(store), read_only=True)
    written: dict[str, int] = {}
    try:
        for table in tables:
            ts = "start_time" if table == "spans" else "ts"
            query = f"SELECT *, strftime({ts}, '%Y-%m-%d') AS day FROM {table} WHERE {ts} >= $since"
            count = conn.execute(
                f"SELECT count(*) FROM ({query})", {"since": since or datetime(1970, 1, 1)}
            ).fetchone()
            target = out / table
            target.mkdir(parents=True, exist_ok=True)
            options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
            conn.execute(
                f"COPY ({query}) TO '{_quoted(target)}' "
                f"({options}, PARTITION_BY (day), OVERWRITE_OR_IGNORE true)",
                {"since": since or datetime(1970, 1, 1)},
            )
            written[table] = int(count[0]) if count else 0
    finally:
        conn.close()
    return written


def _quoted(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")
