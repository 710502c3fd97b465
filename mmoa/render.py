"""Terminal rendering of reports and query results (rich tables), and money formatting."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from analytics import unpriced_note
from analytics.money import usd

if TYPE_CHECKING:
    from rich.console import Console

    from analytics import Report

SIMULATED_BANNER = "SIMULATED TRAFFIC: figures come from the offline `simulated` provider"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def to_jsonable(value: Any) -> Any:
    """Decimals as exact strings, timestamps as ISO text: JSON without losing money precision."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2)


def report_json(report: Report) -> str:
    return dumps(
        {
            "simulated": report.simulated,
            "since": report.since,
            "summary": report.summary,
            "breakdowns": {b.by: b.rows for b in report.breakdowns},
            "unpriced": report.unpriced,
            "strategies": report.strategies,
            "budget_events": report.budget_events,
            "downgrades": report.downgrades,
        }
    )


def print_report(console: Console, report: Report, title: str = "mmoa savings report") -> None:
    from rich.table import Table

    s = report.summary
    if report.simulated:
        console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    window = f"since {report.since:%Y-%m-%d %H:%M} UTC" if report.since else "all time"
    head = Table(title=f"{title} ({window})", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_row("requests", f"{s['requests']:,} ({s['failed']:,} failed)")
    head.add_row("tokens in / out", f"{s['input_tokens']:,} / {s['output_tokens']:,}")
    head.add_row("cached input tokens", f"{s['cached_input_tokens']:,}")
    head.add_row("actual spend", usd(s["cost_usd"]))
    head.add_row("single-model baseline", usd(s["baseline_cost_usd"]))
    head.add_row("saving", f"[green]{usd(s['saving_usd'])} ({pct(s['saving_pct'])})[/]")
    console.print(head)
    for b in report.breakdowns:
        console.print(_breakdown_table(b.by, b.rows))
    if report.strategies:
        console.print(_strategy_table(report.strategies))
    if report.budget_events:
        print_budget_story(console, report.budget_events, report.downgrades)
    for u in report.unpriced:
        hint = "(models: - {name: ..., prices: {input: .., output: ..}})"
        console.print(f"[red]{unpriced_note(u)} {hint}[/]", markup=True, highlight=False)


def _breakdown_table(by: str, rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    t = Table(title=f"by {by}", title_justify="left")
    t.add_column(by)
    for name in ("requests", "tokens in", "tokens out", "spend", "baseline", "saving", "saving %"):
        t.add_column(name, justify="right")
    for r in rows:
        t.add_row(
            str(r["key"]),
            f"{r['requests']:,}",
            f"{r['input_tokens']:,}",
            f"{r['output_tokens']:,}",
            usd(r["cost_usd"]),
            usd(r["baseline_cost_usd"]),
            usd(r["saving_usd"]),
            pct(r["saving_pct"]),
        )
    return t


def _strategy_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    t = Table(title="by strategy", title_justify="left")
    t.add_column("strategy")
    for name in (
        "requests",
        "escalation rate",
        "mean attempts",
        "agreement",
        "cache hits",
        "spend",
        "baseline",
        "saving %",
    ):
        t.add_column(name, justify="right")
    for r in rows:
        agreement = "-" if r["mean_agreement"] is None else f"{r['mean_agreement']:.2f}"
        t.add_row(
            str(r["strategy"]),
            f"{r['requests']:,}",
            f"{100 * r['escalation_rate']:.1f}%",
            f"{r['mean_attempts']:.2f}",
            agreement,
            f"{r['cache_hits']:,}",
            usd(r["cost_usd"]),
            usd(r["baseline_cost_usd"]),
            pct(r["saving_pct"]),
        )
    return t


def print_rows(console: Console, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from rich.table import Table

    t = Table()
    for c in columns:
        t.add_column(c)
    for row in rows:
        t.add_row(*("NULL" if v is None else str(v) for v in row))
    console.print(t)
    console.print(f"{len(rows):,} row{'s' if len(rows) != 1 else ''}")


def print_budgets(console: Console, rows: list[Any], now: datetime) -> None:
    """`mmoa budget status`: one row per budget, then each budget's period, band and rates."""
    from rich.table import Table

    t = Table(title=f"budgets at {now:%Y-%m-%d %H:%M} UTC")
    for c in ("budget", "scope", "spent", "reserved", "pace", "forecast", "limit"):
        t.add_column(c, justify="left" if c in ("budget", "scope") else "right")
    t.add_column("state")
    t.add_column("downgrade")
    colour = {"ok": "green", "alert": "yellow", "downgraded": "red"}
    for r in rows:
        t.add_row(
            r.name,
            r.scope,
            usd(r.spent),
            usd(r.reserved),
            usd(r.pace),
            usd(r.forecast),
            usd(r.limit),
            f"[{colour.get(r.state, 'white')}]{r.state}[/]",
            f"{r.downgrade} since {r.downgrade_since:%H:%M}" if r.downgrade_since else "-",
        )
    console.print(t)
    for r in rows:
        hard = usd(r.hard) if r.hard is not None else "none"
        console.print(
            f"{r.name}: {r.period} {r.period_start:%m-%d %H:%M}..{r.period_end:%m-%d %H:%M}; "
            f"forecast {usd(r.forecast)} ({usd(r.forecast_low)}–{usd(r.forecast_high)}) by "
            f"{r.forecast_method}; soft {usd(r.soft)}, hard {hard}; rate {usd(r.rate_per_h)}/h "
            f"vs pace {usd(r.pace_rate_per_h)}/h" + (f"; drift: {r.drift}" if r.drift else ""),
            highlight=False,
        )


def print_budget_history(console: Console, events: list[dict[str, Any]]) -> None:
    """`mmoa budget history`: alerts and policy changes, oldest first, each with its reason."""
    if not events:
        console.print("no budget alerts or policy changes yet")
        return
    style = {"budget.alert": "yellow", "budget.downgrade": "red", "budget.restore": "green"}
    for e in events:
        version = f" policy v{e['policy_version']}" if e.get("policy_version") else ""
        console.print(
            f"{e['ts']:%Y-%m-%d %H:%M} [{style.get(e['kind'], 'white')}]{e['kind']}[/]"
            f" {e['budget']} ({e['scope']}){version}",
            highlight=False,
        )
        console.print(f"    {e['reason']}", highlight=False, soft_wrap=True)
    console.print(f"{len(events)} event{'s' if len(events) != 1 else ''}")


def print_budget_story(
    console: Console, events: list[dict[str, Any]], downgrades: list[dict[str, Any]]
) -> None:
    """The budget controller's part of the report: what it did, why, and what it changed."""
    console.print("[bold]budget controller[/]")
    print_budget_history(console, events)
    for d in downgrades:
        until = f"{d['restored_at']:%H:%M}" if d["restored_at"] else "the end"
        after = (
            f", {usd(d['rate_after_usd_per_h'])}/h in the hour after the restore"
            if d["restored_at"]
            else ""
        )
        console.print(
            f"  {d['budget']} ({d['scope']}): spend rate {usd(d['rate_before_usd_per_h'])}/h in "
            f"the hour before the downgrade at {d['downgraded_at']:%H:%M}, "
            f"{usd(d['rate_during_usd_per_h'])}/h while downgraded to {d['to_chain']} "
            f"(until {until}){after}",
            highlight=False,
        )
