"""Tests for the deterministic task classifier in ``router.classifier``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from router.classifier import (
    CATEGORIES,
    COMPLEXITIES,
    Classification,
    classify,
    estimate_tokens,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

CATEGORY_CASES: list[tuple[str, str]] = [
    # simple_quick: lookups, definitions, conversions, short translations, yes/no.
    ("What is the capital of Portugal?", "simple_quick"),
    ("Translate 'see you tomorrow' to German.", "simple_quick"),
    ("How many centimetres are in an inch?", "simple_quick"),
    ("Define photosynthesis in one sentence.", "simple_quick"),
    ("Is a tomato a fruit? Yes or no.", "simple_quick"),
    ("What does ASAP stand for?", "simple_quick"),
    ("Who wrote Pride and Prejudice?", "simple_quick"),
    ("Convert 5 miles to kilometers.", "simple_quick"),
    ("What's another word for 'happy'?", "simple_quick"),
    # general_development: explanations, debugging advice, tooling, git, config, errors.
    ("How do I squash my last three commits in git?", "general_development"),
    ("Why does npm install fail with EACCES permission denied on my Mac?", "general_development"),
    ("Explain the difference between a process and a thread.", "general_development"),
    (
        "My Django app returns a 502 behind nginx after deploying, where should I start debugging?",
        "general_development",
    ),
    (
        "What's the best practice for storing secrets in a Kubernetes cluster?",
        "general_development",
    ),
    (
        "I get 'TypeError: undefined is not a function' in the browser console when I click "
        "save. What could cause that?",
        "general_development",
    ),
    ("How can I configure VS Code to format Python files on save?", "general_development"),
    ("Explain what a Python virtual environment is and why I need one.", "general_development"),
    # coding_implementation: write / implement / refactor code, tests, scripts, SQL.
    (
        "Write a Python function that checks whether a string is a palindrome.",
        "coding_implementation",
    ),
    (
        "Implement a priority queue in Java using a binary heap, with insert and extract-min.",
        "coding_implementation",
    ),
    (
        "Refactor this function to remove the nested ifs:\n"
        "def f(x):\n    if x:\n        if x > 3:\n            return 1\n    return 0\n",
        "coding_implementation",
    ),
    (
        "Write a SQL query to find users who signed up in March but never placed an order.",
        "coding_implementation",
    ),
    ("Write pytest unit tests for a slugify() helper.", "coding_implementation"),
    (
        "Create a TypeScript React component for a login form with validation.",
        "coding_implementation",
    ),
    (
        "Write a bash script that renames every .jpeg file in a folder to .jpg.",
        "coding_implementation",
    ),
    ("Add pagination to this Flask endpoint that lists products.", "coding_implementation"),
    # analysis_research: summaries, analyses, comparisons, research, reports, insights.
    ("Summarise this article in three bullet points.", "analysis_research"),
    (
        "Analyze last month's support tickets and tell me the most common complaint categories.",
        "analysis_research",
    ),
    (
        "Compare Snowflake, BigQuery and Redshift on pricing model and concurrency limits.",
        "analysis_research",
    ),
    ("What are the key takeaways from the attached quarterly report?", "analysis_research"),
    (
        "Extract the action items and owners from these meeting notes.",
        "analysis_research",
    ),
    (
        "Research the main competitors in the European e-bike market and summarize their "
        "positioning.",
        "analysis_research",
    ),
    ("Give me insights on the churn data by plan tier.", "analysis_research"),
    # creative_content: stories, poems, blog posts, marketing copy, slogans, video scripts.
    ("Write a short story about a dragon who is afraid of heights.", "creative_content"),
    ("Write a limerick about a cat who loves lasagna.", "creative_content"),
    (
        "Draft a blog post about our move to a four-day work week, upbeat tone.",
        "creative_content",
    ),
    ("Give me five catchy slogans for a coffee shop near a university.", "creative_content"),
    ("Write a script for a 30-second TikTok video promoting our hiking boots.", "creative_content"),
    ("Write an Instagram caption for a photo of our new summer menu.", "creative_content"),
    ("Write a poem for my grandmother's 90th birthday.", "creative_content"),
    # complex_reasoning: proofs, multi-step math/logic, puzzles, constrained planning.
    ("Prove that there are infinitely many prime numbers.", "complex_reasoning"),
    (
        "Three boxes are labelled apples, oranges and mixed, and every label is wrong. "
        "Picking one fruit from one box, how do you relabel them all? Reason step by step.",
        "complex_reasoning",
    ),
    (
        "What is the expected value of the number of rolls of a fair die until a six appears? "
        "Derive it.",
        "complex_reasoning",
    ),
    (
        "Plan a conference schedule for 8 talks in 3 rooms so no speaker overlaps with their "
        "own panel, given these constraints.",
        "complex_reasoning",
    ),
    ("Solve this riddle: what has keys but can't open locks?", "complex_reasoning"),
    (
        "Think through the trade-offs of raising prices 10% given elastic demand and a "
        "competitor likely to follow, and decide.",
        "complex_reasoning",
    ),
    ("Prove by induction that 2^n > n^2 for every integer n >= 5.", "complex_reasoning"),
    # specialized: legal, medical, financial/tax, scientific, regulatory/compliance.
    (
        "Is a non-compete clause enforceable in a California employment contract?",
        "specialized",
    ),
    ("What is the maximum safe daily dosage of acetaminophen for adults?", "specialized"),
    ("How are RSUs taxed when they vest for a UK employee?", "specialized"),
    ("Explain the mechanism of an SN2 reaction in organic chemistry.", "specialized"),
    (
        "Which HIPAA safeguards apply when we store patient records in a cloud database?",
        "specialized",
    ),
    ("Interpret this variant calling output for the BRCA2 gene.", "specialized"),
    ("What does GAAP require for revenue recognition on multi-year contracts?", "specialized"),
]

COMPLEXITY_CASES: list[tuple[str, str]] = [
    ("What is the capital of Spain?", "basic"),
    ("Quick: convert 10 km to miles.", "basic"),
    ("Briefly, what does HTTP 404 mean?", "basic"),
    (
        "Write a Python function that removes duplicate entries from a list of customer "
        "emails while preserving their order.",
        "intermediate",
    ),
    ("Explain how Python's garbage collector handles reference cycles.", "intermediate"),
    (
        "Implement a thread-safe LRU cache in Go for production use, with unit tests covering "
        "the edge cases and a short benchmark.",
        "advanced",
    ),
    ("Prove that the square root of 3 is irrational.", "advanced"),
    (
        "Design the architecture of a distributed, fault-tolerant rate limiter for a "
        "multi-region production API. Prove it never admits more than the configured rate "
        "under concurrency, handle every edge case, and explain the trade-offs step by step.",
        "expert",
    ),
    ("Summarise the following report:\n" + "Revenue grew in every region. " * 2_000, "expert"),
]


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{want}:{prompt[:40]}" for prompt, want in cases]


@pytest.mark.parametrize(("prompt", "expected"), CATEGORY_CASES, ids=_ids(CATEGORY_CASES))
def test_category(prompt: str, expected: str) -> None:
    result = classify(prompt)
    assert result.category == expected, result.reason


def test_category_table_covers_every_category() -> None:
    counts = {cat: 0 for cat in CATEGORIES}
    for _, cat in CATEGORY_CASES:
        counts[cat] += 1
    assert all(n >= 6 for n in counts.values()), counts


@pytest.mark.parametrize(("prompt", "expected"), COMPLEXITY_CASES, ids=_ids(COMPLEXITY_CASES))
def test_complexity(prompt: str, expected: str) -> None:
    result = classify(prompt)
    assert result.complexity == expected, result.reason


def test_complexity_table_covers_every_level() -> None:
    assert {level for _, level in COMPLEXITY_CASES} == set(COMPLEXITIES)


def test_result_fields_are_valid() -> None:
    for prompt, _ in CATEGORY_CASES + COMPLEXITY_CASES:
        result = classify(prompt)
        assert isinstance(result, Classification)
        assert result.category in CATEGORIES
        assert result.complexity in COMPLEXITIES
        assert 0.0 <= result.confidence <= 1.0
        assert result.confidence == round(result.confidence, 2)
        assert result.reason.startswith(result.category)


def test_reason_names_matched_keywords() -> None:
    result = classify("Implement a function that parses dates, handling edge cases.")
    assert result.category == "coding_implementation"
    assert "'implement'" in result.reason
    assert "edge cases" in result.reason


def test_deterministic_in_process() -> None:
    for prompt, _ in CATEGORY_CASES:
        assert classify(prompt) == classify(prompt)


def test_deterministic_across_processes() -> None:
    # Hash randomisation differs per process; results must not depend on it.
    prompts = [prompt for prompt, _ in CATEGORY_CASES]
    local = [repr(classify(p)) for p in prompts]
    script = (
        "import sys, json\n"
        "from router.classifier import classify\n"
        "prompts = json.load(sys.stdin)\n"
        "print(json.dumps([repr(classify(p)) for p in prompts]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(prompts),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO_ROOT)},
    )
    assert json.loads(out.stdout) == local


def test_long_document_is_analysis_with_bounded_scan() -> None:
    paragraph = (
        "The northern region closed the quarter slightly ahead of plan, driven by renewals "
        "from mid-sized accounts. Support volume fell after the onboarding changes shipped, "
        "while the share of tickets about billing stayed flat. "
    )
    body = paragraph * (200_000 // len(paragraph) + 1)
    prompt = "Summarise this report:\n" + body
    assert len(prompt) > 200_000
    result = classify(prompt)
    assert result.category == "analysis_research"
    assert result.complexity == "expert"
    assert "long" in result.reason
    assert f"~{estimate_tokens(prompt):,} tokens" in result.reason


def test_long_document_with_instruction_at_the_end() -> None:
    body = "Customer said the export button was hard to find. " * 4_000
    result = classify(body + "\n\nWhat are the main themes in the feedback above?")
    assert result.category == "analysis_research"
    assert "long" in result.reason


def test_medium_document_complexity_scales_with_size() -> None:
    sentence = "Weekly active users rose in the west region while churn held steady. "
    short = classify("Summarise: " + sentence)
    long = classify("Summarise: " + sentence * 400)
    order = {level: i for i, level in enumerate(COMPLEXITIES)}
    assert order[long.complexity] > order[short.complexity]


@pytest.mark.parametrize("prompt", ["", " ", "\n\t", "?", "hi", "ok thanks"])
def test_empty_or_signal_free_prompt(prompt: str) -> None:
    result = classify(prompt)
    assert result.category == "simple_quick"
    assert result.complexity == "basic"
    assert result.confidence <= 0.4
    assert "no strong signal" in result.reason


def test_technical_prompt_without_keywords_falls_back_to_general() -> None:
    result = classify("foo_bar = baz(qux) -> None ???")
    assert result.category == "general_development"
    assert result.confidence <= 0.4
    assert "no strong signal" in result.reason


def test_confidence_reflects_margin() -> None:
    clear = classify("Write a haiku about autumn leaves.")
    mixed = classify("Write a poem about debugging.")
    assert clear.confidence > mixed.confidence


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 4_000) == 1_000
