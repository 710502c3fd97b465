"""The simulated provider's draws depend on what a call is, never on the order calls were made."""

from __future__ import annotations

from dataclasses import replace

from router.providers.base import Call
from router.providers.simulated import SimulatedProvider
from tests.fakes import CATALOG


def _call(**changes: object) -> Call:
    base = Call(CATALOG.get("cheap"), "Explain a B-tree.", 400, 0, "req-1")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_running_attempt_count_does_not_change_the_draws() -> None:
    # ensemble members run at once, so which member's call is the request's 2nd or 3rd is a
    # race; a call's answer, usage and latency must not depend on it
    sim = SimulatedProvider(failure_scale=0)
    first, third = sim.complete(_call(attempt=0)), sim.complete(_call(attempt=2))
    assert (first.text, first.usage, first.latency_ns) == (
        third.text,
        third.usage,
        third.latency_ns,
    )


def test_a_retry_or_another_purpose_draws_afresh() -> None:
    sim = SimulatedProvider(failure_scale=0)
    answer = sim.complete(_call())
    retry = sim.complete(_call(retry=1))
    verify = sim.complete(_call(purpose="verify"))
    assert answer.usage != retry.usage or answer.latency_ns != retry.latency_ns
    assert answer.usage != verify.usage or answer.latency_ns != verify.latency_ns
