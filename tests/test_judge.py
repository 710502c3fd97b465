"""The answer judge: exact confidences and reasons per rule, format detection, speed."""

from __future__ import annotations

import time

import pytest

from router.judge import Verdict, judge, wants_code, wants_json

LONG_PROMPT = "Summarise the following meeting notes for the team. " * 5  # > 200 characters
PY_PROMPT = "Write a Python function that adds two numbers."
JS_PROMPT = "Write a JavaScript function that adds two numbers."

CASES = [
    # (id, prompt, answer, finish_reason, confidence, reasons)
    ("good", "What is the capital of France?", "The capital of France is Paris.", "stop", 1.0, ()),
    (
        "truncated",
        "What is the capital of France?",
        "The capital of France is Paris, which",
        "length",
        0.5,
        ("finish_reason=length: truncated",),
    ),
    (
        "filtered",
        "Tell me a story.",
        "Once upon a time",
        "content_filter",
        0.3,
        ("finish_reason=content_filter: filtered",),
    ),
    (
        "refusal",
        "How do I pick a lock?",
        "I'm sorry, but I can't help with that request.",
        "stop",
        0.4,
        ("refusal: 'I'm sorry, but I can't'",),
    ),
    (
        "refusal curly quotes, no comma, line break",
        "How do I pick a lock?",
        "I’m sorry but I\ncan’t help with that request.",
        "stop",
        0.4,
        ("refusal: 'I'm sorry, but I can't'",),
    ),
    (
        "refusal after 300 chars is not one",
        "Tell me about locks.",
        "Locks are mechanical devices. " * 11 + "As an AI I find them neat.",
        "stop",
        1.0,
        (),
    ),
    (
        "uncertainty",
        "Who will win the match?",
        "I'm not sure, but probably the home team.",
        "stop",
        0.7,
        ("uncertainty: 'I'm not sure'",),
    ),
    (
        "uncertainty counted once",
        "Who will win?",
        "It's unclear. I don't know. Hard to say.",
        "stop",
        0.7,
        ("uncertainty: 'it's unclear'",),
    ),
    (
        "whole words only",
        "Is it sunny?",
        "It is not certainly going to rain.",
        "stop",
        1.0,
        (),
    ),
    (
        "refusal + truncated clamps",
        "How do I pick a lock?",
        "I can't help with",
        "length",
        0.0,
        ("finish_reason=length: truncated", "refusal: 'I can't help'"),
    ),
    ("empty", "Anything?", "", "stop", 0.0, ("empty answer",)),
    ("whitespace only", "Anything?", "  \n\t ", "length", 0.0, ("empty answer",)),
    (
        "short answer to long prompt",
        LONG_PROMPT,
        "Done.",
        "stop",
        0.8,
        (f"short answer: 5 chars for a {len(LONG_PROMPT.strip())}-char prompt",),
    ),
    ("json bare", "List three colours as JSON.", '["red", "green", "blue"]', "stop", 1.0, ()),
    (
        "json fenced",
        "Return a JSON object with keys a and b.",
        'Here you go:\n```json\n{"a": 1, "b": 2}\n```\nAnything else?',
        "stop",
        1.0,
        (),
    ),
    (
        "json untagged fence",
        "Respond in JSON.",
        'Here:\n```\n{"a": [1, 2]}\n```',
        "stop",
        1.0,
        (),
    ),
    (
        "json embedded",
        "Respond in JSON.",
        'Sure! The result is {"a": 1, "b": [true, null]} as requested.',
        "stop",
        1.0,
        (),
    ),
    (
        "json broken",
        "Respond in JSON.",
        'Sure! The result is {"a": 1,} as requested.',
        "stop",
        0.5,
        ("invalid JSON",),
    ),
    (
        "json absent",
        "Give me the answer in JSON format.",
        "The answer is forty-two.",
        "stop",
        0.5,
        ("invalid JSON",),
    ),
    (
        "python valid",
        PY_PROMPT,
        "```python\ndef add(a, b):\n    return a + b\n```",
        "stop",
        1.0,
        (),
    ),
    (
        "python syntax error",
        PY_PROMPT,
        "Here:\n```python\ndef add(a, b):\n    return a +\n```",
        "stop",
        0.6,
        ("code does not compile: SyntaxError at line 2",),
    ),
    (
        "python untagged when the prompt says Python",
        PY_PROMPT,
        "```\ndef add(a, b)\n    return a + b\n```",
        "stop",
        0.6,
        ("code does not compile: SyntaxError at line 1",),
    ),
    (
        "python REPL session and indented excerpt compile",
        PY_PROMPT,
        "```python\n>>> def add(a, b):\n...     return a + b\n>>> add(1, 2)\n3\n```\n"
        "```py\n    def add(self, b):\n        return self.a + b\n```",
        "stop",
        1.0,
        (),
    ),
    (
        "python top-level await compiles",
        PY_PROMPT,
        "```python\nimport asyncio\nawait asyncio.sleep(0)\n```",
        "stop",
        1.0,
        (),
    ),
    (
        "python truncated in an unclosed fence",
        PY_PROMPT,
        "```python\ndef add(a, b):\n    return (a +",
        "length",
        0.1,
        ("finish_reason=length: truncated", "code does not compile: SyntaxError at line 2"),
    ),
    (
        "js unbalanced",
        JS_PROMPT,
        "```js\nfunction add(a, b) {\n  return a + b;\n\n```",
        "stop",
        0.7,
        ("unbalanced brackets in js code: unclosed '{' from line 1",),
    ),
    (
        "js brackets in strings and comments do not count",
        JS_PROMPT,
        '```javascript\nfunction add(a, b) {\n  console.log(":) [");  // (\n'
        "  return a + b;\n}\n```",
        "stop",
        1.0,
        (),
    ),
    (
        "rust lifetimes are not strings",
        "Write a Rust function that returns its argument.",
        "```rust\nfn id<'a>(x: &'a str) -> &'a str {\n    x\n}\n```",
        "stop",
        1.0,
        (),
    ),
    (
        "code asked, prose only",
        "Write a function that adds two numbers.",
        "You add the two numbers together and give back the sum.",
        "stop",
        0.7,
        ("no code in the answer",),
    ),
    (
        "code asked, unfenced code line",
        "Write a function that adds two numbers.",
        "Use this:\n\n    function add(a, b) { return a + b; }\n",
        "stop",
        1.0,
        (),
    ),
    (
        "code asked, shell output not bracket-checked",
        "Write a bash script that lists files.",
        "```bash\ncase $1 in\n  a) ls ;;\nesac\n```",
        "stop",
        1.0,
        (),
    ),
]


@pytest.mark.parametrize(
    ("prompt", "answer", "finish_reason", "confidence", "reasons"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_judge_table(
    prompt: str, answer: str, finish_reason: str, confidence: float, reasons: tuple[str, ...]
) -> None:
    assert judge(prompt, answer, finish_reason) == Verdict(confidence, reasons)


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [
        ("max_tokens", "finish_reason=max_tokens: truncated"),
        ("LENGTH", "finish_reason=length: truncated"),
        ("safety", "finish_reason=safety: filtered"),
        ("refusal", "finish_reason=refusal: filtered"),
    ],
)
def test_raw_provider_finish_reasons(finish_reason: str, reason: str) -> None:
    assert judge("Hi?", "Hello there, how are you?", finish_reason).reasons == (reason,)


def test_every_rule_at_once_clamps_to_zero() -> None:
    verdict = judge(
        "Respond in JSON. " * 20, "As an AI, I don't know", "content_filter"
    )  # -0.7 -0.6 -0.3 -0.5 (the answer is 22 characters, so not short)
    assert verdict == Verdict(
        0.0,
        (
            "finish_reason=content_filter: filtered",
            "refusal: 'as an AI'",
            "uncertainty: 'I don't know'",
            "invalid JSON",
        ),
    )


def test_confidence_is_exact_two_decimals() -> None:
    # 1.0 - 0.3 is 0.7000000000000001 in floats; penalties are summed in hundredths
    assert judge("Who?", "I don't know.", "stop").confidence == 0.7
    assert judge(LONG_PROMPT, "I don't know.", "stop").confidence == 0.5


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Respond in JSON.", True),
        ("Return a JSON object with the fields name and age.", True),
        ("Format the result as JSON.", True),
        ("Give me the list in JSON format", True),
        ("Output valid JSON only, no prose.", True),
        ("Respond with a JSON array of names", True),
        ("Your reply must follow this JSON schema: {...}", True),
        ("What is JSON?", False),
        ("Explain the JSON format", False),
        ("How are dates represented in JSON?", False),
        ("Write a JSON parser in Python", False),
        ("Summarise this article.", False),
    ],
)
def test_wants_json(prompt: str, expected: bool) -> None:
    assert wants_json(prompt) is expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Write a function that reverses a string.", True),
        ("Implement binary search.", True),
        ("Fix this:\n```\nx = (\n```", True),
        ("Write a bash script that backs up /etc.", True),
        ("Port this class to Rust", True),
        ("Write a JSON parser in Python", True),
        ("Can you give me a code example for retries?", True),
        ("Code up a linked list", True),
        ("Write a movie script about a heist.", False),
        ("Write a poem about the sea.", False),
        ("What is the capital of France?", False),
        ("Translate this sentence into French.", False),
    ],
)
def test_wants_code(prompt: str, expected: bool) -> None:
    assert wants_code(prompt) is expected


def test_never_executes_code() -> None:
    answer = "```python\nraise SystemExit('executed')\n```"
    assert judge(PY_PROMPT, answer, "stop") == Verdict(1.0, ())


def test_deterministic() -> None:
    args = (JS_PROMPT, "```js\nfunction f( {\n```\nI might be wrong.", "length")
    first = judge(*args)
    assert all(judge(*args) == first for _ in range(50))
    assert first == Verdict(
        0.0,
        (
            "finish_reason=length: truncated",
            "uncertainty: 'I might be wrong'",
            "unbalanced brackets in js code: unclosed '{' from line 1",  # the innermost
        ),
    )


def _best_us(fn: object, n: int = 200) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def test_long_answer_works_and_is_fast() -> None:
    answer = ("Routing sends each request to the cheapest capable model. " * 40)[:2000]
    assert len(answer) == 2000
    assert judge("Explain LLM routing.", answer, "stop") == Verdict(1.0, ())
    # The budget is ~20 µs here; 200 µs leaves room for slow shared CI machines.
    assert _best_us(lambda: judge("Explain LLM routing.", answer, "stop")) < 200


def test_long_json_answer_works() -> None:
    answer = '{"items": [' + ", ".join(f'"item {i}"' for i in range(180)) + "]}"
    assert len(answer) > 1900
    assert judge("Return the items as JSON.", answer, "stop") == Verdict(1.0, ())


def test_deeply_nested_json_does_not_crash() -> None:
    answer = "[" * 5000
    assert judge("Respond in JSON.", answer, "stop") == Verdict(0.5, ("invalid JSON",))
