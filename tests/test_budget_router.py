"""The router obeys the budget policy (downgrades) and holds hard caps through a Ledger.

Scripted providers, a small tiered catalog and a fixed clock: every figure is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from catalog import Catalog, Usage, cost
from catalog.budgets import Scope
from collector import DuckDBSpanExporter
from router import AllAttemptsFailed, Router, parse_config
from router.attempts import worst_case_cost
from router.classifier import CATEGORIES
from router.errors import ServerError
from router.policy import Downgrade, HardCapExceeded, Hold, Policy, StaticPolicy
from router.providers.base import Call, Completion
from tests.fakes import price, spec

T0 = 1_764_000_000_000_000_000
PROMPT = "What is the capital of France?"

# two economy models, one standard, one premium; "baseline" is the reference
CATALOG = Catalog(
    (
        replace(spec("eco", intelligence=30, price=price("0.10", "0.40")), tier="economy"),
        replace(spec("eco2", intelligence=40, price=price("0.15", "0.60")), tier="economy"),
        replace(spec("std", intelligence=55, price=price("0.50", "2")), tier="standard"),
        replace(spec("prem", intelligence=70, price=price("3", "15")), tier="premium"),
        replace(spec("prem2", intelligence=72, price=price("5", "25")), tier="premium"),
        replace(spec("baseline", intelligence=65, price=price("3", "15")), tier="premium"),
    )
)


def cfg() -> Any:
    cats: dict[str, Any] = {c: {"floors": {"basic": {"intelligence": 60}}} for c in CATEGORIES}
    raw = {
        "baseline": "baseline",
        "categories": cats,
        "faults": {"max_retries": 0},
        "strategies": {"fallback": {"chains": {"fast": ["eco2", "eco"]}}},
    }
    return parse_config(raw, "test.yaml")


class Echo:
    """Every model answers with the same usage."""

    name = "scripted"

    def __init__(self) -> None:
        self.usage = Usage(100, 50)
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def complete(self, call: Call) -> Completion:
        with self._lock:
            self.calls.append(call.model.name)
        return Completion(
            "Paris.",
            call.model.name,
            "r",
            "stop",
            self.usage,
            1_000,
            "api.example.test",
            443,
            False,
        )


def make(policy: Policy | None = None, ledger: Any = None, tracer: Any = None) -> Any:
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    provider = Echo()
    router = Router(
        CATALOG,
        cfg(),
        lambda m: provider,
        tracer=tracer or tp.get_tracer("t"),
        clock=lambda: T0,
        sleep=lambda s: None,
        env={},
        policy=StaticPolicy(policy) if policy else None,
        ledger=ledger,
    )
    return router, provider, memory


def down(mode: str, chain: str | None = None, scope: str = "global") -> Policy:
    return Policy(7, (Downgrade("daily", Scope.parse(scope), mode, chain, "ev-1"),))


def route_attrs(memory: InMemorySpanExporter) -> Mapping[str, Any]:
    (span,) = [s for s in memory.get_finished_spans() if s.name == "mmoa.route"]
    assert span.attributes is not None
    return span.attributes


# ------------------------------------------------------------------------------ policy


def test_without_a_policy_the_floor_decides_and_version_is_zero() -> None:
    router, provider, memory = make()
    r = router.complete(PROMPT)
    assert r.model == "prem"
    assert r.decision.policy_version == 0
    assert route_attrs(memory)["mmoa.policy.version"] == 0
    assert "downgraded" not in r.decision.reason


@pytest.mark.parametrize(
    ("mode", "chain", "model", "candidates", "what"),
    [
        ("next_tier", None, "std", ("std",), "next tier premium->standard"),
        ("chain", "fast", "eco2", ("eco2", "eco"), "chain fast"),
        ("cheapest", None, "eco", ("eco", "eco2", "std", "prem", "baseline", "prem2"), "cheapest"),
    ],
)
def test_a_downgrade_changes_the_choice_and_says_why(
    mode: str, chain: str | None, model: str, candidates: tuple[str, ...], what: str
) -> None:
    router, provider, memory = make(down(mode, chain))
    r = router.complete(PROMPT)
    assert r.model == model
    assert tuple(m.name for m in r.decision.candidates) == candidates
    assert r.decision.reason.startswith(f"downgraded by budget daily (event ev-1): {what}")
    assert r.decision.reason.endswith(f"primary {model} (was prem)")
    assert r.decision.policy_version == 7
    attrs = route_attrs(memory)
    assert attrs["mmoa.policy.version"] == 7
    assert attrs["mmoa.route.reason"] == r.decision.reason
    # cost stays exact: the downgraded model's price on the usage it reported
    assert r.cost == cost(CATALOG.get(model).price, Usage(100, 50))
    assert provider.calls == [model]


def test_fallback_strategy_uses_the_downgrade_chain_not_the_configured_one() -> None:
    router, provider, _ = make(down("chain", "fast"))
    r = router.complete(PROMPT, strategy="fallback")
    assert r.model == "eco2"


def test_next_tier_of_an_economy_model_stays_economy_cheapest_first() -> None:
    cats = {c: {"floors": {"basic": {"intelligence": 35}}} for c in CATEGORIES}
    router = Router(
        CATALOG,
        parse_config({"baseline": "baseline", "categories": cats}, "t.yaml"),
        lambda m: Echo(),
        clock=lambda: T0,
        env={},
        policy=StaticPolicy(down("next_tier")),
    )
    r = router.complete(PROMPT)
    assert tuple(m.name for m in r.decision.candidates) == ("eco", "eco2")
    assert "next tier economy->economy" in r.decision.reason


def test_an_unknown_chain_falls_back_to_cheapest_and_says_so() -> None:
    router, _, _ = make(down("chain", "nope"))
    r = router.complete(PROMPT)
    assert r.model == "eco"
    assert "chain nope unusable, cheapest capable" in r.decision.reason


def test_a_downgrade_out_of_scope_changes_nothing_but_the_version_is_recorded() -> None:
    router, _, memory = make(down("cheapest", scope="tag:team=search"))
    r = router.complete(PROMPT, tags={"team": "ads"})
    assert r.model == "prem" and r.decision.policy_version == 7
    assert route_attrs(memory)["mmoa.policy.version"] == 7
    r = router.complete(PROMPT + " ", tags={"team": "search"})
    assert r.model == "eco"


def test_category_and_provider_scopes() -> None:
    router, _, _ = make(down("cheapest", scope="category:simple_quick"))
    assert router.complete(PROMPT, category="simple_quick").model == "eco"
    assert router.complete(PROMPT, category="specialized").model == "prem"
    router, _, _ = make(down("cheapest", scope="provider:openai"))
    assert router.complete(PROMPT).model == "eco"
    router, _, _ = make(down("cheapest", scope="provider:anthropic"))
    assert router.complete(PROMPT).model == "prem"


def test_a_forced_model_is_not_downgraded() -> None:
    router, _, _ = make(down("cheapest"))
    r = router.complete(PROMPT, model="prem2")
    assert r.model == "prem2" and "downgraded" not in r.decision.reason


def test_policy_version_lands_in_the_store(store: Path) -> None:
    exporter = DuckDBSpanExporter(store)
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    router, _, _ = make(down("chain", "fast"), tracer=tp.get_tracer("t"))
    first = router.complete(PROMPT)
    router.policy = StaticPolicy(Policy(8))  # restored: no downgrade, a new version
    second = router.complete(PROMPT + "?")
    rows = exporter.conn.execute(
        "SELECT request_id, model, policy_version FROM requests ORDER BY policy_version"
    ).fetchall()
    assert rows == [(first.request_id, "eco2", 7), (second.request_id, "prem", 8)]
    tp.shutdown()


# ------------------------------------------------------------------------------ hard caps


class FakeLedger:
    """One hard-capped global budget, in memory: enough to drive the router's side."""

    def __init__(self, room: Decimal, name: str = "daily") -> None:
        self.room, self.name = room, name
        self.held: dict[str, Decimal] = {}
        self.settled: dict[str, Decimal | None] = {}
        self.asked: list[tuple[str, str, Decimal]] = []
        self._lock = threading.Lock()

    def reserve(
        self,
        request_id: str,
        category: str,
        tags: Mapping[str, str],
        provider: str,
        amount: Decimal,
    ) -> Hold | str:
        with self._lock:
            self.asked.append((request_id, provider, amount))
            if amount > self.room:
                return self.name
            self.room -= amount
            hold = Hold(f"h{len(self.asked)}", amount)
            self.held[hold.id] = amount
            return hold

    def settle(self, hold: Hold, actual: Decimal | None) -> None:
        with self._lock:
            assert hold.id not in self.settled, "settled twice"
            self.settled[hold.id] = actual
            self.room += hold.amount - (hold.amount if actual is None else actual)


def _worst(model: str, max_tokens: int = 4096) -> Decimal:
    w = worst_case_cost(CATALOG.get(model), len(PROMPT.encode()), max_tokens, 1)
    assert w is not None
    return w


def test_each_attempt_reserves_its_worst_case_and_settles_the_exact_cost() -> None:
    ledger = FakeLedger(Decimal(1))
    router, _, _ = make(ledger=ledger)
    r = router.complete(PROMPT, tags={"team": "a"})
    assert ledger.asked == [(r.request_id, "openai", _worst("prem"))]
    assert ledger.settled == {"h1": cost(CATALOG.get("prem").price, Usage(100, 50))}
    assert ledger.room == Decimal(1) - r.cost


def test_a_hard_cap_sends_the_attempt_to_the_cheapest_capable_model() -> None:
    ledger = FakeLedger(_worst("eco"))  # room for the cheapest worst case only
    router, provider, memory = make(ledger=ledger)
    r = router.complete(PROMPT)
    assert r.model == "eco" and provider.calls == ["eco"]
    assert "hard cap of budget daily: prem downgraded to eco" in r.decision.reason
    assert [a[2] for a in ledger.asked] == [_worst("prem"), _worst("eco")]
    assert r.cost == cost(CATALOG.get("eco").price, Usage(100, 50))
    assert route_attrs(memory)["mmoa.route.model"] == "eco"


def test_a_request_no_model_can_fit_is_refused_naming_the_budget() -> None:
    ledger = FakeLedger(_worst("eco") - Decimal("0.0000000001"), name="team-search")
    router, provider, memory = make(ledger=ledger)
    with pytest.raises(HardCapExceeded) as info:
        router.complete(PROMPT)
    assert info.value.budget == "team-search"
    assert str(info.value).startswith("budget 'team-search': its hard cap leaves no room")
    assert provider.calls == [] and ledger.settled == {}
    # each candidate asked once; the cheapest capable model (eco) asked once, not per candidate
    assert [a[2] for a in ledger.asked] == [
        _worst("prem"),
        _worst("eco"),
        _worst("baseline"),
        _worst("prem2"),
    ]
    attrs = route_attrs(memory)  # the refusal is traced like any failed request
    assert attrs["mmoa.route.status"] == "error"


def test_unpriced_models_cannot_be_held_against_a_hard_cap() -> None:
    catalog = Catalog((*CATALOG.models, spec("mystery", intelligence=99, price=None)))
    cats = {c: {"floors": {"basic": {"intelligence": 90}}} for c in CATEGORIES}
    ledger = FakeLedger(Decimal(1))
    router = Router(
        catalog,
        parse_config({"baseline": "baseline", "categories": cats}, "t.yaml"),
        lambda m: Echo(),
        clock=lambda: T0,
        env={},
        ledger=ledger,
    )
    with pytest.raises(AllAttemptsFailed, match="mystery"):
        router.complete(PROMPT)
    assert ledger.asked == []


def test_the_cap_holds_under_64_threads() -> None:
    room = _worst("prem") * 10 + _worst("eco") * 3
    ledger = FakeLedger(room)
    router, provider, _ = make(ledger=ledger)
    results: list[Any] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            r = router.complete(f"{PROMPT} #{i}")
            with lock:
                results.append(r)
        except HardCapExceeded as exc:
            with lock:
                results.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent = sum((r.cost for r in results if not isinstance(r, HardCapExceeded)), Decimal(0))
    assert len(results) == 64
    assert spent <= room
    assert all(h in ledger.settled for h in ledger.held)  # every hold settled exactly once


def test_a_provider_failure_after_a_hard_cap_downgrade_is_not_called_a_cap_refusal() -> None:
    class Down(Echo):
        def complete(self, call: Call) -> Completion:
            raise ServerError("500", f"{call.model.name}: down")

    ledger = FakeLedger(_worst("eco"))
    provider = Down()
    router = Router(CATALOG, cfg(), lambda m: provider, clock=lambda: T0, env={}, ledger=ledger)
    with pytest.raises(AllAttemptsFailed, match="eco: down"):
        router.complete(PROMPT)
    # each candidate was sent to eco, which failed: every hold settled at $0
    assert ledger.settled == {"h2": Decimal(0), "h4": Decimal(0), "h6": Decimal(0)}
