"""A query box for people: one read-only SELECT over the store, and the example queries.

The dashboard's SQL page runs what a user types. The fences, from the outside in: only one
SELECT statement is accepted (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, DDL and DML are refused
before they run); the store is opened read-only with external access disabled and the
configuration locked (`open_reader`), so read_csv('/etc/passwd') and friends fail too. Through a
collector, its /v1/query applies the same fences on its side.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.errors import AnalyticsError, WriteRefused
from analytics.reader import CollectorReader, Source

MAX_ROWS = 10_000  # rows shown at most; the answer says when it was cut
TIMEOUT_S = 60.0  # a query running longer is interrupted


@dataclass(frozen=True)
class Example:
    """One query of sql/queries: its file stem, the first comment line, and the SQL."""

    name: str
    title: str
    sql: str


@dataclass(frozen=True)
class Answer:
    """Column names, rows (at most `max_rows`), and whether more rows were left out."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def examples() -> list[Example]:
    """The example queries shipped in sql/queries (package mmoa.sql.queries), by name."""
    from mmoa import sql

    out = []
    for file in sql.listing("queries"):
        text = sql.read("queries", file)
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        title = first.removeprefix("--").strip() if first.startswith("--") else file
        out.append(Example(file.removesuffix(".sql"), title, text))
    return out


def check_select(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    """WriteRefused unless `sql` is exactly one SELECT (WITH, FROM-first, DESCRIBE, SHOW...)."""
    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise AnalyticsError(f"cannot parse the query: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise WriteRefused(f"refused: run one statement at a time, not {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        words = statements[0].query.split()
        verb = words[0].upper() if words else statements[0].type.name
        raise WriteRefused(
            f"refused: {verb} is not allowed; this is read-only, only SELECT queries run here "
            "(no writes, no files, no extensions, no settings)"
        )


def run(source: Source, sql: str, max_rows: int = MAX_ROWS, timeout_s: float = TIMEOUT_S) -> Answer:
    """Run one read-only SELECT typed by a user on the store or through a collector."""
    if not sql.strip():
        raise AnalyticsError("type a query, e.g. SELECT * FROM savings_by_category")
    if isinstance(source, duckdb.DuckDBPyConnection):
        return _run_on_file(source, sql, max_rows, timeout_s)
    columns, rows = source.query(sql)
    cut = len(rows) > max_rows or (isinstance(source, CollectorReader) and source.truncated)
    return Answer(columns, list(rows[:max_rows]), cut)


def _run_on_file(
    conn: duckdb.DuckDBPyConnection, sql: str, max_rows: int, timeout_s: float
) -> Answer:
    cur = conn.cursor()  # its own connection to the read-only database: safe across threads
    timer = threading.Timer(timeout_s, cur.interrupt)
    try:
        check_select(cur, sql)
        timer.start()
        cur.execute(sql)
        columns = [d[0] for d in (cur.description or [])]
        rows = cur.fetchmany(max_rows + 1)  # one row past the limit says the answer was cut
    except duckdb.InterruptException:
        raise AnalyticsError(
            f"the query took longer than {timeout_s:g} s and was stopped; narrow it "
            "(a time range, a LIMIT)"
        ) from None
    except duckdb.PermissionException as exc:
        raise WriteRefused(
            f"refused: no files, network or extensions from here. DuckDB said: {_first_line(exc)}"
        ) from None
    except duckdb.Error as exc:
        raise AnalyticsError(_first_line(exc)) from None
    finally:
        timer.cancel()
        cur.close()
    return Answer(columns, rows[:max_rows], len(rows) > max_rows)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
