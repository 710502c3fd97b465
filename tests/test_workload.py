"""Tests for the simulated traffic generator in ``mmoa.workload``."""

from __future__ import annotations

import math
from collections import Counter
from functools import cache

import pytest

from mmoa.workload import CATEGORY_MIX, WorkItem, generate, hourly_weights
from router.classifier import CATEGORIES, classify, estimate_tokens

HOUR_NS = 3_600 * 10**9
DAY_NS = 24 * HOUR_NS
# 2023-11-15 00:00:00 UTC: a day boundary, so hour-of-day maths is easy to eyeball.
END_NS = 1_700_006_400 * 10**9
TEAMS = {"search", "support", "growth", "platform", "data"}


@cache
def _day(n: int, seed: int = 7) -> tuple[WorkItem, ...]:
    # Cached: several tests look at the same large sample and generation is deterministic.
    return tuple(generate(n, seed=seed, end_ns=END_NS))


def _hour(ts_ns: int) -> int:
    return (ts_ns % DAY_NS) // HOUR_NS


def test_same_arguments_give_identical_items() -> None:
    assert generate(500, seed=3, end_ns=END_NS) == generate(500, seed=3, end_ns=END_NS)


def test_different_seed_gives_different_items() -> None:
    a = generate(200, seed=1, end_ns=END_NS)
    b = generate(200, seed=2, end_ns=END_NS)
    assert [i.prompt for i in a] != [i.prompt for i in b]
    assert [i.ts_ns for i in a] != [i.ts_ns for i in b]


@pytest.mark.parametrize("n", [0, 1, 37, 2_000])
def test_count_and_index(n: int) -> None:
    items = generate(n, end_ns=END_NS)
    assert len(items) == n
    assert [item.index for item in items] == list(range(n))


def test_timestamps_in_window_and_sorted() -> None:
    items = _day(20_000)
    stamps = [item.ts_ns for item in items]
    assert stamps == sorted(stamps)
    assert all(END_NS - DAY_NS <= ts < END_NS for ts in stamps)


def test_custom_span_and_unaligned_end() -> None:
    end = END_NS + 17 * 60 * 10**9 + 123
    span = 3 * HOUR_NS + 5
    items = generate(1_000, end_ns=end, span_ns=span)
    assert all(end - span <= item.ts_ns < end for item in items)


def test_hourly_weights_shape() -> None:
    weights = hourly_weights()
    assert len(weights) == 24
    assert math.isclose(sum(weights), 1.0)
    assert all(w > 0 for w in weights)
    assert weights.index(max(weights)) in (14, 15)
    assert max(weights[2:4]) < min(weights[9:12])


def test_afternoon_spike_beats_night_by_3x() -> None:
    per_hour = Counter(_hour(item.ts_ns) for item in _day(20_000))
    afternoon = (per_hour[14] + per_hour[15]) / 2
    night = (per_hour[2] + per_hour[3]) / 2
    print(f"afternoon/night rate: {afternoon:.0f}/{night:.0f} = {afternoon / night:.1f}x")
    assert afternoon >= 3 * night


def test_category_mix_close_to_target() -> None:
    items = _day(20_000)
    counts = Counter(item.intended_category for item in items)
    assert set(counts) <= set(CATEGORIES)
    assert math.isclose(sum(CATEGORY_MIX.values()), 1.0)
    for category, share in CATEGORY_MIX.items():
        observed = counts[category] / len(items)
        assert abs(observed - share) <= 0.03, (category, observed, share)


def test_prompts_bounded_and_some_long_documents() -> None:
    items = _day(20_000)
    sizes = [estimate_tokens(item.prompt) for item in items]
    assert max(sizes) < 150_000
    assert all(item.prompt.strip() for item in items)
    long_docs = [
        item
        for item, size in zip(items, sizes, strict=True)
        if size >= 3_000 and item.intended_category == "analysis_research"
    ]
    assert long_docs, "expected a few pasted long documents"
    assert len(long_docs) < 0.02 * len(items)


def test_prompts_are_varied() -> None:
    items = _day(5_000)
    for category in CATEGORIES:
        prompts = {item.prompt for item in items if item.intended_category == category}
        assert len(prompts) >= 20, category


def test_max_tokens_per_category() -> None:
    for item in _day(5_000):
        assert 64 <= item.max_tokens <= 8_192
        if item.intended_category == "simple_quick":
            assert item.max_tokens <= 512
        if item.intended_category == "complex_reasoning":
            assert item.max_tokens >= 2_048


def test_tags_present_and_users_skewed() -> None:
    items = _day(20_000)
    for item in items:
        assert set(item.tags) == {"team", "feature", "user"}
        assert item.tags["team"] in TEAMS
        assert item.tags["feature"]
        user = item.tags["user"]
        assert user.startswith("u") and 1 <= int(user[1:]) <= 400
    users = Counter(item.tags["user"] for item in items)
    top10 = sum(count for _, count in users.most_common(10))
    assert top10 > 0.2 * len(items), "a handful of heavy users should dominate"
    assert {item.tags["team"] for item in items} == TEAMS


def test_classifier_agrees_with_intended_category() -> None:
    items = _day(5_000)
    agree = sum(classify(item.prompt).category == item.intended_category for item in items)
    rate = agree / len(items)
    print(f"classifier agreement: {rate:.2%} ({agree}/{len(items)})")
    assert rate >= 0.90
