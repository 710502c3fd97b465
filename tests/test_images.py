"""Image generation: a category of its own, image models priced per image, traced like text."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from catalog import load_catalog
from mmoa import settings
from router import Router, load_config
from router.classifier import classify
from router.errors import ServerError
from router.faults import RetryPolicy
from router.providers.base import Images
from tests.cli_runner import run_mmoa
from tests.loopback import LoopbackServer
from tests.loopback.wire import TINY_PNG

T0 = 1_764_000_000_000_000_000


@pytest.mark.parametrize(
    "prompt",
    [
        "Generate an image of a red fox in the snow",
        "Draw a logo for my bakery",
        "Please create 3 illustrations of cats for a children's book",
        "Make a poster for the summer fair",
    ],
)
def test_image_requests_are_recognised(prompt: str) -> None:
    assert classify(prompt).category == "image_generation"


@pytest.mark.parametrize(
    "prompt",
    [
        "Explain how to create a docker image",
        "Write a function that generates image thumbnails",
        "Create a picture-perfect plan for my trip",
    ],
)
def test_text_about_images_is_not_an_image_request(prompt: str) -> None:
    assert classify(prompt).category != "image_generation"


class ScriptedImages:
    name = "scripted"

    def __init__(self, outcomes: dict[str, list[object]]) -> None:
        self.outcomes = outcomes
        self.calls: list[str] = []

    def complete(self, call):  # type: ignore[no-untyped-def]
        raise AssertionError("text call for an image request")

    def generate_images(self, model, prompt, n, timeout_s):  # type: ignore[no-untyped-def]
        self.calls.append(model.name)
        outcome = self.outcomes[model.name].pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return Images((TINY_PNG,) * n, model.name, 3_000_000_000, "images.test", 443)


def test_router_prices_per_image_falls_back_and_traces() -> None:
    config = load_config(settings.config_path(None))
    catalog = load_catalog()
    provider = ScriptedImages(
        {"gpt-image-1-mini": [ServerError("500", "busy")], "imagen-4.0-fast-generate-001": ["ok"]}
    )
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    router = Router(
        catalog,
        dataclasses.replace(config, retry=RetryPolicy(max_retries=0)),
        lambda m: provider,
        tracer=tp.get_tracer("t"),
        clock=lambda: T0,
        sleep=lambda s: None,
    )
    result = router.complete("Draw a logo for my bakery", images=3)
    assert provider.calls == ["gpt-image-1-mini", "imagen-4.0-fast-generate-001"]
    assert result.images == (TINY_PNG,) * 3
    assert result.cost == Decimal("0.06")  # 3 x $0.02 (the failed call is not billed)
    assert result.baseline_cost == Decimal("0.126")  # 3 x $0.042 on gpt-image-1
    assert result.decision.baseline_model == "gpt-image-1"
    spans = {s.name: s for s in memory.get_finished_spans()}
    call = spans["generate_content imagen-4.0-fast-generate-001"]
    assert call.attributes["gen_ai.operation.name"] == "generate_content"
    assert call.attributes["mmoa.images.count"] == 3
    assert call.attributes["mmoa.cost.usd"] == "0.06"
    assert spans["generate_content gpt-image-1-mini"].attributes["error.type"] == "500"
    assert spans["mmoa.route"].attributes["mmoa.task.category"] == "image_generation"


def _run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_mmoa(args, env_extra)


def test_ask_openai_images_through_the_real_sdk(tmp_path: Path) -> None:
    store, out_dir = tmp_path / "img.duckdb", tmp_path / "pictures"
    with LoopbackServer() as srv:
        done = _run(
            [
                "ask",
                "Draw a logo for my bakery",
                "--provider",
                "openai",
                "--images",
                "2",
                "--json",
                "--store",
                str(store),
                "--out",
                str(out_dir),
            ],
            {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.url + "/v1"},
        )
        assert done.returncode == 0, done.stderr
        assert srv.requests[-1].path == "/v1/images/generations"
        assert srv.requests[-1].body == {
            "model": "gpt-image-1-mini",
            "prompt": "Draw a logo for my bakery",
            "n": 2,
        }
    data = json.loads(done.stdout)
    assert data["model"] == "gpt-image-1-mini" and data["category"] == "image_generation"
    assert Decimal(data["cost_usd"]) == Decimal("0.022")  # 2 x $0.011
    assert Decimal(data["baseline_cost_usd"]) == Decimal("0.084")  # 2 x $0.042
    assert [Path(p).read_bytes() for p in data["images"]] == [TINY_PNG, TINY_PNG]
    rows = json.loads(
        _run(
            [
                "sql",
                "SELECT operation, image_count, cost_usd FROM calls",
                "--json",
                "--store",
                str(store),
            ],
            {},
        ).stdout
    )
    assert rows == [{"operation": "generate_content", "image_count": 2, "cost_usd": "0.0220000000"}]


def test_ask_imagen_through_the_real_sdk(tmp_path: Path) -> None:
    store = tmp_path / "imagen.duckdb"
    with LoopbackServer() as srv:
        raw = yaml.safe_load(settings.config_path(None).read_text())
        raw["providers"] = {"google": {"base_url": srv.url}}
        config = tmp_path / "mmoa.yaml"
        config.write_text(yaml.safe_dump(raw))
        done = _run(
            [
                "ask",
                "Generate an image of a lighthouse",
                "--provider",
                "google",
                "--images",
                "2",
                "--json",
                "--store",
                str(store),
                "--config",
                str(config),
                "--out",
                str(tmp_path / "out"),
            ],
            {"GEMINI_API_KEY": "g-test"},
        )
        assert done.returncode == 0, done.stderr
        assert srv.requests[-1].path.endswith("imagen-4.0-fast-generate-001:predict")
    data = json.loads(done.stdout)
    assert data["model"] == "imagen-4.0-fast-generate-001"
    assert Decimal(data["cost_usd"]) == Decimal("0.04")  # 2 x $0.02
    assert len(data["images"]) == 2
