"""The `mmoa` command. Imports are lazy so `mmoa --help` answers at once."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EPILOG = """examples:
  mmoa demo                          route a simulated day (20,000 requests) and report savings
  mmoa report --since 24h --by model savings by model over the last day
  mmoa sql "SELECT * FROM savings_by_category"
  mmoa ask "Summarise this text: ..." --json
  mmoa models
  mmoa budget status                 each budget: spent, pace, forecast, state, downgrades

environment: MMOA_STORE (default ./mmoa.duckdb), MMOA_CONFIG (default ./mmoa.yaml, else the
shipped default). Every figure is also a SQL view: spans, calls, requests, models,
savings_summary, savings_by_category, savings_by_model, savings_by_day, spend_by_day_model."""


class UserError(Exception):
    """One line for the user; no traceback."""


def _common(p: argparse.ArgumentParser, *, config: bool = False, json: bool = True) -> None:
    p.add_argument(
        "--store", metavar="FILE", help="DuckDB store (default $MMOA_STORE or ./mmoa.duckdb)"
    )
    if config:
        p.add_argument(
            "--config",
            metavar="FILE",
            help="config file (default $MMOA_CONFIG, ./mmoa.yaml, or the shipped one)",
        )
    if json:
        p.add_argument("--json", action="store_true", help="machine-readable JSON output")


def _reader_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--collector",
        metavar="URL",
        help="read through a running collector instead of the file (default $MMOA_COLLECTOR)",
    )
    p.add_argument("--token", help="the collector's token (default $MMOA_TOKEN)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mmoa",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
        description="Route each LLM request to the cheapest model that can do the job, trace "
        "every decision and call into DuckDB, and prove the saving.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "demo", help="route a simulated day of traffic, then print the savings report"
    )
    p.add_argument(
        "--requests", type=int, default=20_000, metavar="N", help="requests (default 20000)"
    )
    p.add_argument("--seed", type=int, default=7, help="workload seed (default 7)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _common(p, config=True)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("report", help="savings against the single-model baseline")
    p.add_argument("--since", metavar="AGE", help="window: 24h, 7d, 90m, or a date/time (UTC)")
    p.add_argument(
        "--by",
        action="append",
        metavar="KEY",
        help="model|category|provider|day|tag|complexity|strategy|hour (repeatable; "
        "default category and model)",
    )
    _common(p)
    _reader_flags(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("sql", help="run a read-only SQL query on the store")
    p.add_argument("query", help='e.g. "SELECT model, sum(cost_usd) FROM calls GROUP BY 1"')
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV output")
    fmt.add_argument("--json", action="store_true", help="JSON output (one object per row)")
    _common(p, json=False)
    _reader_flags(p)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser(
        "models", help="the model catalog: prices, context windows, capability scores"
    )
    _common(p, config=True)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("export", help="write the store as day-partitioned Parquet or CSV files")
    p.add_argument("--format", default="parquet", choices=("parquet", "csv"))
    p.add_argument("--since", metavar="AGE", help="only data since: 24h, 7d, or a date (UTC)")
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    _common(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("collector", help="run the collector: the store's single writer, OTLP/HTTP")
    csub = p.add_subparsers(dest="collector_command", required=True, metavar="ACTION")
    c = csub.add_parser(
        "serve",
        help="accept OTLP/HTTP traces at /v1/traces and serve reads",
        description="Standard OTLP exporters send here with "
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT; mmoa routers with "
        "MMOA_OTLP_ENDPOINT. Readers use --collector URL (or MMOA_COLLECTOR).",
    )
    c.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    c.add_argument(
        "--parquet-dir",
        metavar="DIR",
        help="also write the log as day-partitioned Parquet segments, continuously",
    )
    c.add_argument("--port", type=int, default=4318, help="port (default 4318, OTLP/HTTP)")
    c.add_argument(
        "--token",
        help="require `Authorization: Bearer TOKEN` on every request (default $MMOA_TOKEN)",
    )
    _common(c, config=True, json=False)
    c.set_defaults(func=cmd_collector_serve)

    p = sub.add_parser(
        "dashboard",
        help="open the Streamlit dashboard over the store",
        description="Pages: Overview, Models, Routing, Budgets, Trace, SQL; filters on every "
        "page. Read-only: it never writes the store. While a collector writes the store, read "
        "through it with --collector URL.",
    )
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--refresh",
        type=float,
        metavar="SECONDS",
        help="redraw the pages with fresh data every SECONDS (0: off). Default: 30 with "
        "--collector (the store grows while you watch), off with a store file (no other "
        "process can write it while the dashboard reads it)",
    )
    _common(p, config=True, json=False)
    _reader_flags(p)
    p.set_defaults(func=cmd_dashboard)

    _budget_parser(sub)

    p = sub.add_parser("ask", help="route one prompt and show the answer, model, reason and cost")
    p.add_argument("prompt")
    p.add_argument(
        "--category", help="skip classification: simple_quick, coding_implementation, ..."
    )
    p.add_argument("--model", help="force one model (still traced and priced)")
    p.add_argument("--stream", action="store_true", help="print the answer as it arrives")
    p.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="send spans to a collector (mmoa collector serve) instead of the store "
        "file (default $MMOA_OTLP_ENDPOINT)",
    )
    p.add_argument(
        "--strategy",
        choices=("cheapest", "fallback", "ensemble", "verify"),
        help="how candidates are used (default: `strategy` in the config)",
    )
    p.add_argument("--role", help="an agent role instead of a category, e.g. orchestrator")
    p.add_argument(
        "--max-cost",
        metavar="USD",
        help="cost cap: no attempt starts that could break it, e.g. 0.01",
    )
    p.add_argument("--max-latency", type=float, metavar="S", help="deadline in seconds")
    p.add_argument(
        "--images",
        type=int,
        default=1,
        metavar="N",
        help="images to generate when the prompt asks for pictures (default 1)",
    )
    p.add_argument(
        "--out",
        default="mmoa-images",
        metavar="DIR",
        help="where generated images are written (default ./mmoa-images)",
    )
    p.add_argument(
        "--provider",
        default="auto",
        help="auto (default: every provider whose API key is set), simulated (offline), or one "
        "of anthropic, openai, google, groq, together",
    )
    p.add_argument("--max-tokens", type=int, help="output cap (default 4096)")
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="caller tag recorded on the spans (repeatable), e.g. team=search",
    )
    _common(p, config=True)
    p.set_defaults(func=cmd_ask)
    return top


BUDGET_HELP = """budgets are the `budgets:` list of mmoa.yaml, e.g.
  budgets:
    - {name: daily, amount: 25, period: day, scope: global, soft: "80%", hard: 30,
       downgrade: next_tier, margin: 0.2, cooldown_s: 1800}
scope: global | category:<name> | tag:<key>=<value> | provider:<name>
period: hour | day | week | month | a duration such as 6h or 90m
downgrade: next_tier | cheapest | chain:<name of strategies.fallback.chains>
alerts also go to `budget_webhook: {url: ..., timeout_s: 5, retries: 5}` when set."""


def _budget_parser(sub: Any) -> None:
    p = sub.add_parser(
        "budget",
        help="budgets: status, history of alerts and downgrades, the controller loop",
        description="The budget controller folds the log into spend, pace and a forecast per "
        "budget; on drift it alerts and downgrades, and restores after a cool-down.",
        epilog=BUDGET_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bsub = p.add_subparsers(dest="budget_command", required=True, metavar="ACTION")
    b = bsub.add_parser(
        "status", help="each budget now: spent, reserved, pace, forecast, state, downgrade"
    )
    b.add_argument("--at", metavar="TIME", help="as of this UTC time (default now)")
    _common(b, config=True)
    _reader_flags(b)
    b.set_defaults(func=cmd_budget_status)
    b = bsub.add_parser("history", help="alerts, downgrades and restores, oldest first")
    b.add_argument("--since", metavar="AGE", help="window: 24h, 7d, or a date/time (UTC)")
    _common(b)
    _reader_flags(b)
    b.set_defaults(func=cmd_budget_history)
    b = bsub.add_parser(
        "watch",
        help="run the controller: every --interval seconds, decide, append, alert",
        description="Embedded with --store (this process writes the file), or through a "
        "collector with --collector URL (reads /v1/query, appends POST /v1/events).",
    )
    b.add_argument(
        "--interval", type=float, default=60.0, metavar="S", help="seconds between ticks (60)"
    )
    b.add_argument("--once", action="store_true", help="one tick, then exit")
    b.add_argument(
        "--at", metavar="TIME", help="with --once: decide as of this UTC time (default now)"
    )
    _common(b, config=True)
    _reader_flags(b)
    b.set_defaults(func=cmd_budget_watch)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """'24h', '7d', '90m', '2026-11-01' or '2026-11-01T12:00' -> a naive UTC datetime."""
    if not text:
        return None
    now = now or datetime.now(UTC).replace(tzinfo=None)
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if text[-1:] in units and text[:-1].isdigit():
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--since {text!r}: use an age such as 24h, 7d, 90m, or a date such as 2026-11-01"
        ) from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _console() -> Any:
    from rich.console import Console

    console = Console()
    # reports are wide; when piped (no terminal) rich would assume 80 columns and truncate
    return console if console.is_terminal else Console(width=140)


def _store(args: argparse.Namespace) -> Path:
    from mmoa import settings

    return settings.store_path(args.store)


def _source(args: argparse.Namespace) -> Any:
    """The store file (read-only), or the collector that owns it (--collector / MMOA_COLLECTOR)."""
    import analytics
    from mmoa import settings

    url = settings.collector_url(getattr(args, "collector", None))
    if url:
        return analytics.CollectorReader(url, token=settings.token(getattr(args, "token", None)))
    return analytics.open_reader(_store(args))


def cmd_report(args: argparse.Namespace) -> int:
    import analytics
    from mmoa import render

    by = args.by or ["category", "model"]
    for b in by:
        if b not in analytics.GROUPINGS:
            raise UserError(f"--by {b!r}: use one of {', '.join(analytics.GROUPINGS)}")
    report = analytics.build(_source(args), by, parse_since(args.since))
    if args.json:
        print(render.report_json(report))
    else:
        render.print_report(_console(), report)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from analytics.export import export
    from mmoa import render

    written = export(_store(args), Path(args.out), args.format, parse_since(args.since))
    if args.json:
        print(render.dumps({"out": args.out, "format": args.format, "rows": written}))
    else:
        for table, n in written.items():
            print(f"{table}: {n:,} rows -> {Path(args.out) / table}/day=YYYY-MM-DD/")
        print(
            f"read them in place, e.g. duckdb: SELECT * FROM read_parquet('{args.out}/"
            "requests/*/*.parquet', hive_partitioning = true)"
        )
    return 0


def cmd_collector_serve(args: argparse.Namespace) -> int:
    from collector import open_writer, write_catalog
    from collector.pricing import make_pricer
    from collector.server import ServerConfig, serve
    from mmoa import settings
    from mmoa.wiring import load

    store = _store(args)
    config, catalog = load(settings.config_path(args.config))
    conn = open_writer(store)  # migrate and record the catalog before serving
    write_catalog(conn, catalog)
    conn.close()
    print(
        f"mmoa collector on http://{args.host}:{args.port} writing {store} (Ctrl-C to stop)",
        flush=True,
    )
    serve(
        ServerConfig(
            store=store,
            host=args.host,
            port=args.port,
            token=settings.token(args.token),
            pricer=make_pricer(catalog),
            parquet_dir=Path(args.parquet_dir) if args.parquet_dir else None,
            budgets=config.budgets,  # hard caps: routers reserve here (/v1/budget/reserve)
        )
    )
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import csv

    import analytics
    from mmoa import render

    source = _source(args)
    columns, rows = analytics.rows_of(source, args.query)
    if getattr(source, "truncated", False):
        print(
            f"mmoa: note: the collector returned only the first {len(rows):,} rows; "
            "add a LIMIT, or use `mmoa export` for everything",
            file=sys.stderr,
        )
    if not columns:
        return 0
    if args.json:
        print(render.dumps([dict(zip(columns, r, strict=True)) for r in rows]))
    elif args.csv:
        out = csv.writer(sys.stdout)
        out.writerow(columns)
        out.writerows(render.to_jsonable(list(r)) for r in rows)
    else:
        render.print_rows(_console(), columns, rows)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from mmoa import render, settings
    from mmoa.wiring import load

    _, catalog = load(settings.config_path(args.config))
    rows = []
    for m in catalog:
        p = m.price
        rows.append(
            {
                "provider": m.provider,
                "name": m.name,
                "input_price": p.input.base if p else None,
                "cached_input_price": p.cache_read.base if p and p.cache_read else None,
                "output_price": p.output.base if p else None,
                "context_window": m.context_window,
                "intelligence": m.intelligence,
                "coding": m.coding,
                "tier": m.tier,
                "strengths": list(m.strengths),
            }
        )
    if args.json:
        print(render.dumps(rows))
        return 0
    from rich.table import Table

    t = Table(title="model catalog ($ per 1M tokens; prices from genai-prices unless overridden)")
    for col in (
        "provider",
        "model",
        "input",
        "cached in",
        "output",
        "context",
        "intel",
        "coding",
        "tier",
    ):
        t.add_column(col, justify="left" if col in ("provider", "model", "tier") else "right")
    for r in rows:
        t.add_row(
            str(r["provider"]),
            str(r["name"]),
            _price(r["input_price"]),
            _price(r["cached_input_price"]),
            _price(r["output_price"]),
            f"{r['context_window']:,}",
            str(r["intelligence"]),
            str(r["coding"]),
            str(r["tier"]),
        )
    _console().print(t)
    return 0


def _price(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _tags(pairs: Sequence[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--tag {pair!r}: write it as KEY=VALUE, e.g. --tag team=search")
        tags[key] = value
    return tags


def cmd_ask(args: argparse.Namespace) -> int:
    from analytics.money import usd
    from mmoa import render, settings
    from mmoa.wiring import wire

    wired = wire(
        settings.config_path(args.config),
        _store(args),
        provider=args.provider,
        otlp_endpoint=settings.otlp_endpoint(args.otlp_endpoint),
    )
    for note in wired.notes:
        print(f"mmoa: {note}", file=sys.stderr)
    options: dict[str, Any] = {
        "category": args.category,
        "model": args.model,
        "max_tokens": args.max_tokens,
        "tags": _tags(args.tag),
        "strategy": args.strategy,
        "role": args.role,
        "max_cost": _money(args.max_cost),
        "max_latency_s": args.max_latency,
    }
    if args.images < 1:
        raise UserError("--images must be at least 1")
    streamed = args.stream and not args.json
    banner = f"[bold yellow]{render.SIMULATED_BANNER}[/]"
    if streamed and args.provider == "simulated":
        _console().print(banner)
    try:
        if streamed:
            stream = wired.router.stream(args.prompt, **options)
            for piece in stream:
                print(piece, end="", flush=True)
            print()
            result = stream.result
        else:
            result = wired.router.complete(args.prompt, images=args.images, **options)
    finally:
        wired.close()
    d, u = result.decision, result.usage
    saved = _save_images(result.images, Path(args.out), result.request_id)
    out = {
        "answer": result.text,
        "model": result.model,
        "category": d.category,
        "complexity": d.complexity,
        "reason": d.reason,
        "classifier": d.classifier_reason,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cached_input_tokens": u.cache_read_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "cost_usd": result.cost,
        "baseline_model": d.baseline_model,
        "baseline_cost_usd": result.baseline_cost,
        "saving_usd": result.saving,
        "attempts": d.attempts,
        "strategy": d.strategy,
        "escalations": d.escalations,
        "agreement": d.agreement,
        "cache_hit": d.cache_hit,
        "request_id": result.request_id,
        "simulated": d.simulated,
        "images": [str(path) for path in saved],
    }
    if args.json:
        print(render.dumps(out))
        return 0
    console = _console()
    if not streamed:
        if d.simulated:
            console.print(banner)
        console.print(result.text)
    for path in saved:
        console.print(f"[dim]image[/] {path}")
    console.print(
        f"[dim]model[/] {result.model}  [dim]category[/] {d.category}/{d.complexity}  "
        f"[dim]attempts[/] {d.attempts}"
    )
    console.print(f"[dim]reason[/] {d.reason}")
    console.print(
        f"[dim]tokens[/] {u.input_tokens:,} in / {u.output_tokens:,} out  "
        f"[dim]cost[/] {usd(result.cost)}  [dim]baseline "
        f"({d.baseline_model})[/] {usd(result.baseline_cost)}"
    )
    return 0


def dashboard_command(
    store: Path,
    host: str,
    port: int,
    collector: str | None = None,
    token: str | None = None,
    refresh_s: float = 0.0,
    config: Path | None = None,
) -> list[str]:
    """The `streamlit run` command line that serves dashboard/app.py for `store` (or the
    collector that owns it), redrawing every `refresh_s` seconds (0: never), with the budgets
    of `config`."""
    from importlib.util import find_spec

    spec = find_spec("dashboard.app")
    if spec is None or spec.origin is None:
        raise UserError("the dashboard package is missing: reinstall mmoa (pip install -e .)")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        spec.origin,
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",  # no developer menu (deploy, rerun on save) for people reading figures
        "--",
        "--store",
        str(store.resolve()),
        *(["--collector", collector] if collector else []),
        *(["--token", token] if token else []),
        *(["--refresh", f"{refresh_s:g}"] if refresh_s > 0 else []),
        *(["--config", str(config.resolve())] if config else []),
    ]


def cmd_dashboard(args: argparse.Namespace) -> int:
    import os
    import subprocess

    import analytics
    from mmoa import settings
    from router import load_config

    store = _store(args)
    collector = settings.collector_url(args.collector)
    token = settings.token(args.token)
    refresh = args.refresh if args.refresh is not None else (30.0 if collector else 0.0)
    if refresh < 0:
        raise UserError(f"--refresh {args.refresh:g}: give seconds between redraws, or 0 for off")
    config = settings.config_path(args.config)
    load_config(config)  # a bad config (budgets included) is one line here, not a broken page
    if collector:  # fail here, in one line, if the data cannot be read
        analytics.CollectorReader(collector, token).query("SELECT 1")
    else:
        analytics.open_reader(store).close()
    every = f", redraws every {refresh:g} s" if refresh else ""
    print(f"mmoa dashboard on http://{args.host}:{args.port}{every} (Ctrl-C to stop)", flush=True)
    command = dashboard_command(store, args.host, args.port, collector, token, refresh, config)
    if os.name == "posix":  # become the server: signals (Ctrl-C, kill) reach it directly
        os.execv(command[0], command)
    return subprocess.call(command)


def _money(text: str | None) -> Any:
    from decimal import Decimal, InvalidOperation

    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UserError(f"--max-cost {text!r}: give US dollars, e.g. 0.01") from None
    if not value.is_finite() or value <= 0:
        raise UserError(f"--max-cost {text!r}: must be a positive amount of US dollars")
    return value


def _save_images(images: Sequence[bytes], folder: Path, request_id: str) -> list[Path]:
    """Write generated images as PNG files named after the request."""
    if not images:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{request_id}-{i + 1}.png" for i in range(len(images))]
    for path, data in zip(paths, images, strict=True):
        path.write_bytes(data)
    return paths


def _budgets(args: argparse.Namespace) -> Any:
    from mmoa import settings
    from router import load_config

    config = load_config(settings.config_path(args.config))
    if not config.budgets:
        raise UserError(
            f"{config.source} has no `budgets:`; add one, e.g. budgets: "
            "[{name: daily, amount: 25}] (see `mmoa budget --help`)"
        )
    return config


def cmd_budget_status(args: argparse.Namespace) -> int:
    from analytics.budgets import status
    from mmoa import render

    config = _budgets(args)
    now = parse_since(args.at) or datetime.now(UTC).replace(tzinfo=None)
    rows = status(_source(args), config.budgets, now)
    if args.json:
        print(render.dumps({"at": now, "budgets": [r.as_dict() for r in rows]}))
    else:
        render.print_budgets(_console(), rows, now)
    return 0


def cmd_budget_history(args: argparse.Namespace) -> int:
    from analytics.budgets import timeline
    from mmoa import render

    events = timeline(_source(args), parse_since(args.since))
    if args.json:
        print(render.dumps(events))
    else:
        render.print_budget_history(_console(), events)
    return 0


def cmd_budget_watch(args: argparse.Namespace) -> int:
    import logging
    import time

    from mmoa import settings
    from mmoa.budget_watch import CollectorEvents, make_watch, store_append

    if args.interval <= 0:
        raise UserError("--interval must be a positive number of seconds")
    if args.at and not args.once:
        raise UserError("--at needs --once (a running watch decides as of now)")
    config = _budgets(args)
    url = settings.collector_url(args.collector)
    conn = None
    append: Callable[[list[dict[str, Any]]], None]
    if url:
        source = _source(args)
        append = CollectorEvents(url, settings.token(args.token))
    else:
        from collector import open_writer

        conn = open_writer(_store(args))
        source, append = conn.cursor(), store_append(conn)
    out = sys.stderr if args.json else sys.stdout  # --json: stdout holds only the JSON
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=out)
    watch = make_watch(source, append, config.budgets, config.budget_webhook)
    try:
        while True:
            now = parse_since(args.at) or datetime.now(UTC).replace(tzinfo=None)
            events = watch.tick(now)
            if args.json:
                from mmoa import render

                print(render.dumps([e.row() for e in events]), flush=True)
            if args.once:
                return 0
            time.sleep(args.interval)
    finally:
        if conn is not None:
            conn.close()


def cmd_demo(args: argparse.Namespace) -> int:
    import analytics
    from mmoa import demo, render, settings

    if args.requests < 1:
        raise UserError("--requests must be at least 1")
    store = _store(args)
    if not demo.store_is_disposable(store):
        raise UserError(
            f"{store} holds real (non-simulated) data or is in use; the demo will "
            "not touch it: pass --store demo.duckdb"
        )
    for path in (store, Path(f"{store}.wal")):
        path.unlink(missing_ok=True)
    console = _console()
    if not args.json:
        console.print(f"[bold yellow]{render.SIMULATED_BANNER}[/]")
    ran = demo.run(
        args.requests,
        store,
        settings.config_path(args.config),
        args.seed,
        progress=not (args.no_progress or args.json),
    )
    report = analytics.build(analytics.open_reader(store), ["category", "model"], None)
    if args.json:
        print(render.report_json(report))
        return 0
    console.print(
        f"routed {ran.requests:,} requests ({ran.failed:,} failed on every model) "
        f"in {ran.seconds:.1f} s into {store}"
    )
    render.print_report(console, report, title="mmoa savings report, simulated day")
    from mmoa import settings as names

    flag = "" if store == names.store_path() else f" --store {store}"
    day = datetime.fromtimestamp(demo.day_end_ns() / 1e9 - 86_400, UTC).date()
    console.print(NEXT_STEPS.format(store=store, s=flag, day=day))
    return 0


NEXT_STEPS = """
[bold]Explore further[/] (activate with `. .venv/bin/activate`, or prefix with .venv/bin/):
  mmoa report --since 2d --by provider --by day{s}
  mmoa budget history{s}    alerts, downgrades and restores, with their reasons
  mmoa budget status --at "{day} 14:30"{s}
  mmoa report --by tag --json{s}
  mmoa sql "SELECT * FROM savings_by_category"{s}
  mmoa sql "SELECT model, count(*), sum(cost_usd) FROM calls GROUP BY ALL ORDER BY 3 DESC"{s}
  mmoa ask "Write a SQL query that finds duplicate emails" --json{s}
  mmoa models
  The store is a plain DuckDB file: {store}
[bold]See it all in the dashboard[/] (read-only; Ctrl-C to stop):
  mmoa dashboard{s}    then open http://127.0.0.1:8501"""


def _known_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    from analytics import AnalyticsError
    from catalog import CatalogError
    from collector.errors import CollectorError
    from router import RouterError

    return (
        UserError,
        AnalyticsError,
        CatalogError,
        CollectorError,
        RouterError,
        duckdb.Error,
        ValueError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("mmoa: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, _known_errors()):
            print(
                f"mmoa: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                file=sys.stderr,
            )
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
