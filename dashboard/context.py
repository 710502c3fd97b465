"""What every page shares: where reads go, the sidebar filters, the page header, the refresh.

app.py builds one `Context` per run (after drawing the sidebar) and keeps it in the session;
each page reads it with `current()` and draws itself with `live(draw)`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import streamlit as st

import analytics
from analytics.dashboard import Filters, filter_options
from dashboard import reads

_KEY = "mmoa.context"
log = logging.getLogger("mmoa.dashboard")


@dataclass(frozen=True)
class Args:
    """The dashboard's own command line (after `streamlit run app.py --`)."""

    store: str
    collector: str | None
    token: str | None
    refresh_s: float  # 0: pages do not refresh by themselves
    config: str | None = None  # the config file whose `budgets:` the Budgets page shows


def parse_args(argv: Sequence[str]) -> Args:
    parser = argparse.ArgumentParser(prog="mmoa dashboard")
    parser.add_argument("--store", default="mmoa.duckdb")
    parser.add_argument("--collector")
    parser.add_argument("--token")
    parser.add_argument("--refresh", type=float, default=0.0)
    parser.add_argument("--config")
    args = parser.parse_known_args(list(argv))[0]
    return Args(args.store, args.collector, args.token, max(0.0, args.refresh), args.config)


@dataclass(frozen=True)
class Context:
    """One run's reads: the source, what it is (for captions), the filters, the options."""

    source: analytics.Source
    origin: str
    filters: Filters
    options: dict[str, Any]
    refresh_s: float
    version: str | None = None  # the store file's identity (reads.py); None: live collector
    config: str | None = None  # see Args.config

    @property
    def simulated(self) -> bool:
        return bool(self.options.get("simulated"))


@st.cache_resource(show_spinner=False)
def _file_reader(path: str) -> Any:
    """One read-only connection to the store per dashboard process (pages take cursors)."""
    return analytics.open_reader(path)


def open_source(args: Args) -> tuple[str, analytics.Source]:
    """(what the data is, where reads go): the collector when given, else the store file."""
    if args.collector:
        return args.collector, analytics.CollectorReader(args.collector, token=args.token)
    # a cursor per run: DuckDB connections are not shared between threads (sessions)
    return args.store, _file_reader(args.store).cursor()


def build(args: Args) -> Context | None:
    """Open the source, draw the sidebar filters; None (after saying why) if nothing to show."""
    try:
        origin, source = open_source(args)
    except analytics.AnalyticsError as exc:  # no store, or the collector is unreachable
        st.error(str(exc))
        return None
    version = None if args.collector else reads.file_version(args.store)
    try:
        options = reads.remembered(version, filter_options, source)
    except Exception as exc:  # noqa: BLE001 - the page says what went wrong, in one line
        say(exc, origin)
        return None
    filters = sidebar_filters(options)
    ctx = Context(source, origin, filters, options, args.refresh_s, version, args.config)
    st.session_state[_KEY] = ctx
    return ctx


def current() -> Context | None:
    """The Context app.py built for this run (None when there was nothing to read)."""
    ctx = st.session_state.get(_KEY)
    return ctx if isinstance(ctx, Context) else None


def _hour_floor(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def sidebar_filters(options: dict[str, Any]) -> Filters:
    """Time range, provider, model, category and tag pickers; empty picks mean everything."""
    bar = st.sidebar
    bar.header("Filters")
    since = until = None
    first, last = options.get("first_ts"), options.get("last_ts")
    if first is not None and last is not None:
        lo, hi = _hour_floor(first), _hour_floor(last) + timedelta(hours=1)
        picked = bar.slider(
            "time (UTC)",
            min_value=lo,
            max_value=hi,
            value=(lo, hi),
            step=timedelta(minutes=15),
            format="MM-DD HH:mm",
            key="f_time",
        )
        # the full range is no filter at all: new data keeps showing as it arrives
        since = picked[0] if picked[0] > lo else None
        until = picked[1] if picked[1] < hi else None
    picks = {
        name: tuple(
            bar.multiselect(name, options.get(plural) or [], placeholder="all", key=f"f_{name}")
        )
        for name, plural in (
            ("provider", "providers"),
            ("model", "models"),
            ("category", "categories"),
            ("tag", "tags"),
        )
    }
    return Filters(
        since=since,
        until=until,
        providers=picks["provider"],
        models=picks["model"],
        categories=picks["category"],
        tags=picks["tag"],
    )


def header(ctx: Context | None, title: str, about: str) -> None:
    """The page title, the simulated-data badge, and one line on what the page shows."""
    st.title(title)
    if ctx is not None and ctx.simulated:
        st.badge(
            "simulated data: these spans come from the offline `simulated` provider",
            icon=":material/science:",
            color="orange",
        )
    st.caption(about)


def say(exc: Exception, origin: str) -> None:
    """One error line on the page for a failed read (the traceback goes to the server log)."""
    log.warning("dashboard read failed", exc_info=exc)
    if isinstance(exc, analytics.AnalyticsError):
        st.error(str(exc))
        return
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = ""
    if "does not exist" in first:
        hint = (
            " A store written by an older mmoa lacks this version's views: open it once with "
            "this version's writer (`mmoa collector serve`, `mmoa ask`), or run `mmoa demo` "
            "for a new one."
        )
    st.error(f"cannot read {origin}: {first}.{hint}")


def guarded(ctx: Context, draw: Callable[[Context], None]) -> None:
    """Draw the page body; a failed read is one error line, not a traceback."""
    try:
        draw(ctx)
    except Exception as exc:  # noqa: BLE001 - see say()
        say(exc, ctx.origin)


def live(ctx: Context, draw: Callable[[Context], None]) -> None:
    """Draw the page body (guarded); with --refresh N, redraw it every N seconds."""
    if ctx.refresh_s > 0:
        st.fragment(run_every=ctx.refresh_s)(guarded)(ctx, draw)
    else:
        guarded(ctx, draw)


def footer(ctx: Context) -> None:
    every = f"refreshes every {ctx.refresh_s:g} s" if ctx.refresh_s else "refresh: off"
    st.caption(f"data: {ctx.origin} · {every} · every figure is SQL over the store's views")
