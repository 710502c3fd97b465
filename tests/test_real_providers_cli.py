"""`mmoa ask` with real providers: the official SDKs against the loopback server, end to end.

The API key must reach the provider and nothing else: not the store, not the output, not logs.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

from tests.cli_runner import run_mmoa
from tests.loopback import LoopbackServer

SECRET = "sk-test-" + "Zq9x" * 8


def run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_mmoa(args, env_extra)


def assert_secret_absent(store: Path, *texts: str) -> None:
    for path in store.parent.iterdir():  # the store and any WAL beside it
        assert SECRET.encode() not in path.read_bytes(), path
    for text in texts:
        assert SECRET not in text


def test_ask_openai_real_sdk_exact_cost_and_no_key_leak(tmp_path: Path) -> None:
    store = tmp_path / "real.duckdb"
    with LoopbackServer() as srv:
        srv.respond(text="Paris.", input_tokens=1_000, cache_read_tokens=200, output_tokens=50)
        out = run(
            [
                "ask",
                "What is the capital of France?",
                "--provider",
                "openai",
                "--model",
                "gpt-4o-mini",
                "--json",
                "--store",
                str(store),
            ],
            {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": srv.url + "/v1"},
        )
        assert out.returncode == 0, out.stderr
        assert srv.requests[-1].headers.get("authorization") == f"Bearer {SECRET}"
    data = json.loads(out.stdout)
    assert data["answer"] == "Paris." and data["simulated"] is False
    # gpt-4o-mini: 800 x 0.15 + 200 x 0.075 + 50 x 0.60 = 120 + 15 + 30 = 165 micro-dollars
    assert Decimal(data["cost_usd"]) == Decimal("0.000165")
    # claude-sonnet-4-6 baseline: 800 x 3 + 200 x 0.30 + 50 x 15 = 2400 + 60 + 750 = 3210
    assert Decimal(data["baseline_cost_usd"]) == Decimal("0.00321")
    rows = json.loads(
        run(
            [
                "sql",
                "SELECT provider, model, cached_input_tokens, cost_usd, simulated FROM calls",
                "--json",
                "--store",
                str(store),
            ],
            {},
        ).stdout
    )
    assert rows == [
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "cached_input_tokens": 200,
            "cost_usd": "0.0001650000",
            "simulated": False,
        }
    ]
    assert_secret_absent(store, out.stdout, out.stderr)


def test_ask_auto_skips_providers_without_keys_and_retries_429(tmp_path: Path) -> None:
    store = tmp_path / "auto.duckdb"
    with LoopbackServer() as srv:
        srv.fail(429, headers={"retry-after-ms": "50"})
        srv.respond(text="4", input_tokens=20, output_tokens=3)
        out = run(
            ["ask", "What is 2+2?", "--json", "--store", str(store)],
            {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": srv.url + "/v1"},
        )
        assert out.returncode == 0, out.stderr
        assert len(srv.requests) == 2  # one 429, one retry: the SDK's own retries are off
    assert "skipping anthropic models: set ANTHROPIC_API_KEY" in out.stderr
    assert "skipping google models: set GEMINI_API_KEY or GOOGLE_API_KEY" in out.stderr
    data = json.loads(out.stdout)
    assert data["model"] == "gpt-5-nano" and data["attempts"] == 2  # cheapest OpenAI model
    rows = json.loads(
        run(
            [
                "sql",
                "SELECT error_type FROM calls ORDER BY ts, error_type NULLS LAST",
                "--json",
                "--store",
                str(store),
            ],
            {},
        ).stdout
    )
    assert rows == [{"error_type": "429"}, {"error_type": None}]
    assert_secret_absent(store, out.stdout, out.stderr)


def test_no_key_at_all_says_so(tmp_path: Path) -> None:
    out = run(["ask", "hi", "--store", str(tmp_path / "x.duckdb")], {})
    assert out.returncode == 2
    assert out.stderr.strip().endswith("use --provider simulated for the offline simulation")
    assert not (tmp_path / "x.duckdb").exists()


def test_stream_prints_as_it_arrives_and_records_usage(tmp_path: Path) -> None:
    store = tmp_path / "stream.duckdb"
    with LoopbackServer() as srv:
        srv.respond(text="The quick brown fox.", input_tokens=30, output_tokens=6)
        out = run(
            [
                "ask",
                "Say something",
                "--provider",
                "openai",
                "--model",
                "gpt-4o-mini",
                "--stream",
                "--store",
                str(store),
            ],
            {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": srv.url + "/v1"},
        )
        assert out.returncode == 0, out.stderr
        body = srv.requests[-1].body or {}
    assert body.get("stream") is True and body.get("stream_options") == {"include_usage": True}
    assert out.stdout.startswith("The quick brown fox.\n")
    rows = json.loads(
        run(
            [
                "sql",
                "SELECT input_tokens, output_tokens, cost_usd FROM calls",
                "--json",
                "--store",
                str(store),
            ],
            {},
        ).stdout
    )
    # 30 x 0.15 + 6 x 0.60 = 4.5 + 3.6 = 8.1 micro-dollars
    assert rows == [{"input_tokens": 30, "output_tokens": 6, "cost_usd": "0.0000081000"}]


def test_openai_responses_api_chosen_in_config(tmp_path: Path) -> None:
    import yaml

    from mmoa import settings

    raw = yaml.safe_load(settings.config_path(None).read_text())
    raw["providers"] = {"openai": {"api": "responses"}}
    config = tmp_path / "mmoa.yaml"
    config.write_text(yaml.safe_dump(raw))
    with LoopbackServer() as srv:
        srv.respond(text="Hi.", input_tokens=40, output_tokens=10, reasoning_tokens=4)
        out = run(
            [
                "ask",
                "Say hi",
                "--provider",
                "openai",
                "--model",
                "gpt-5-mini",
                "--json",
                "--config",
                str(config),
                "--store",
                str(tmp_path / "r.duckdb"),
            ],
            {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": srv.url + "/v1"},
        )
        assert out.returncode == 0, out.stderr
        assert srv.requests[-1].path == "/v1/responses"
    data = json.loads(out.stdout)
    assert data["reasoning_tokens"] == 4
    # 40 x 0.25 + 10 x 2 (reasoning included, at the output rate) = 10 + 20 micro-dollars
    assert Decimal(data["cost_usd"]) == Decimal("0.00003")


def test_unknown_price_is_unpriced_and_reported_never_zero(tmp_path: Path) -> None:
    import yaml

    from mmoa import settings

    raw = yaml.safe_load(settings.config_path(None).read_text())
    raw["models"] = [
        {
            "name": "my-llama-4",
            "provider": "groq",
            "context_window": 131072,
            "max_output": 8192,
            "intelligence": 40,
            "coding": 30,
            "tier": "economy",
        }
    ]
    raw["providers"] = {"groq": {"base_url": "PLACEHOLDER"}}
    store = tmp_path / "u.duckdb"
    with LoopbackServer() as srv:
        raw["providers"]["groq"]["base_url"] = srv.url + "/v1"
        config = tmp_path / "mmoa.yaml"
        config.write_text(yaml.safe_dump(raw))
        srv.respond(text="ok", input_tokens=100, output_tokens=20)
        for _ in range(3):
            out = run(
                [
                    "ask",
                    "hello there",
                    "--provider",
                    "groq",
                    "--model",
                    "my-llama-4",
                    "--json",
                    "--config",
                    str(config),
                    "--store",
                    str(store),
                ],
                {"GROQ_API_KEY": SECRET},
            )
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout)["cost_usd"] is None
    report = run(["report", "--store", str(store)], {})
    assert "3 calls unpriced: add a price for my-llama-4 in mmoa.yaml" in report.stdout
    rows = json.loads(
        run(
            [
                "sql",
                "SELECT count(*) AS n, count(cost_usd) AS priced FROM calls",
                "--json",
                "--store",
                str(store),
            ],
            {},
        ).stdout
    )
    assert rows == [{"n": 3, "priced": 0}]


def test_fallback_cascade_escalates_across_real_sdks(tmp_path: Path) -> None:
    store = tmp_path / "cascade.duckdb"
    with LoopbackServer() as srv:
        srv.respond(text="Paris is the", finish="length", input_tokens=20, output_tokens=5, times=1)
        srv.respond(text="Paris is the capital of France.", input_tokens=22, output_tokens=9)
        out = run(
            [
                "ask",
                "What is the capital of France?",
                "--strategy",
                "fallback",
                "--json",
                "--store",
                str(store),
            ],
            {
                "OPENAI_API_KEY": SECRET,
                "OPENAI_BASE_URL": srv.url + "/v1",
                "ANTHROPIC_API_KEY": SECRET,
                "ANTHROPIC_BASE_URL": srv.url,
            },
        )
        assert out.returncode == 0, out.stderr
        paths = [r.path for r in srv.requests]
    assert paths == ["/v1/chat/completions", "/v1/messages"]  # the mixed chain's first two
    data = json.loads(out.stdout)
    assert data["model"] == "claude-haiku-4-5" and data["escalations"] == 1
    # gpt-4o-mini 20 x 0.15 + 5 x 0.6 = 6; claude-haiku-4-5 22 x 1 + 9 x 5 = 67 micro-dollars
    assert Decimal(data["cost_usd"]) == Decimal("0.000073")
    rows = json.loads(
        run(
            [
                "sql",
                "SELECT model, judge_confidence FROM calls ORDER BY ts, model",
                "--json",
                "--store",
                str(store),
            ],
            {},
        ).stdout
    )
    assert rows == [
        {"model": "gpt-4o-mini", "judge_confidence": 0.5},
        {"model": "claude-haiku-4-5", "judge_confidence": 1.0},
    ]
    report = json.loads(run(["report", "--json", "--store", str(store)], {}).stdout)
    assert report["strategies"][0]["strategy"] == "fallback"
    assert report["strategies"][0]["escalation_rate"] == 1.0
    assert report["strategies"][0]["mean_attempts"] == 2.0
    assert_secret_absent(store, out.stdout, out.stderr)
