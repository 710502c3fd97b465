"""Read-only access to the store: no writes, no other files, no extensions."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from analytics.errors import StoreUnavailable, WriteRefused

_READ_ONLY_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": "false",
    "autoload_known_extensions": "false",
    "autoinstall_known_extensions": "false",
    "lock_configuration": "true",
}


def open_reader(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open the store read-only; StoreUnavailable with the fix when that is not possible."""
    p = Path(path)
    if not p.is_file():
        raise StoreUnavailable(
            f"no store at {p}: run `mmoa demo` (or route requests) first, or pass --store FILE"
        )
    try:
        return duckdb.connect(str(p), read_only=True, config=_READ_ONLY_CONFIG)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreUnavailable(
                f"{p} is open for writing by another process (DuckDB allows one writer): "
                "wait for it to finish, then run this again"
            ) from None
        raise StoreUnavailable(f"cannot open {p}: {exc}") from None


_WRITE_ERROR = re.compile(
    r"read-only|read only|has been locked|disabled (by|through) configuration", re.I
)


def query(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[object] | dict[str, object] | None = None,
) -> duckdb.DuckDBPyRelation | None:
    """Run one user query on a read-only connection; WriteRefused if it tries to write."""
    try:
        return conn.sql(sql, params=params)
    except (duckdb.InvalidInputException, duckdb.PermissionException) as exc:
        if _WRITE_ERROR.search(str(exc)):
            raise WriteRefused(
                "refused: `mmoa sql` is read-only (no INSERT/UPDATE/DELETE/DDL, no other files). "
                f"DuckDB said: {str(exc).splitlines()[0]}"
            ) from None
        raise
