"""Service mode end to end: routers and other apps send OTLP to `mmoa collector serve`;
readers get the same answers through the collector as from the file."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_runner import clean_env, run_mmoa
from tests.loopback import LoopbackServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mmoa(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_mmoa(list(args), env)


@pytest.fixture
def collector(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = tmp_path / "served.duckdb"
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mmoa",
            "collector",
            "serve",
            "--port",
            str(port),
            "--store",
            str(store),
        ],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):  # the first start imports a lot; poll, do not sleep a fixed time
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:
                if answer.read().strip() == b"ok":
                    break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError(f"collector did not start: {proc.communicate()}")
    yield url, store, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_router_sends_to_the_collector_and_readers_agree(collector) -> None:  # type: ignore[no-untyped-def]
    url, store, proc = collector
    for prompt in (
        "What is the capital of France?",
        "Write a haiku about databases",
        "Implement a binary search in Python with tests",
    ):
        out = mmoa("ask", prompt, "--provider", "simulated", "--json", "--otlp-endpoint", url)
        assert out.returncode == 0, out.stderr
    through = json.loads(mmoa("report", "--json", "--collector", url).stdout)
    assert through["summary"]["requests"] == 3 and through["simulated"] is True
    sql = json.loads(
        mmoa(
            "sql",
            "SELECT count(*) AS n, sum(cost_usd) AS c FROM calls",
            "--json",
            "--collector",
            url,
        ).stdout
    )
    refused = mmoa("sql", "DELETE FROM spans", "--collector", url)
    assert refused.returncode == 2 and "read-only" in refused.stderr
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    from_file = json.loads(mmoa("report", "--json", "--store", str(store)).stdout)
    assert from_file["summary"] == through["summary"]
    assert from_file["breakdowns"] == through["breakdowns"]
    file_sql = json.loads(
        mmoa(
            "sql",
            "SELECT count(*) AS n, sum(cost_usd) AS c FROM calls",
            "--json",
            "--store",
            str(store),
        ).stdout
    )
    assert file_sql == sql and Decimal(sql[0]["c"]) > 0


def test_another_app_instrumented_with_openai_v2_lands_priced(collector, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, store, proc = collector
    app = tmp_path / "app.py"
    app.write_text(
        "import sys\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import BatchSpanProcessor\n"
        "from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter\n"
        "tp = TracerProvider()\n"
        "tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))\n"
        "trace.set_tracer_provider(tp)\n"
        "from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor\n"
        "OpenAIInstrumentor().instrument()\n"
        "import openai\n"
        "client = openai.OpenAI(base_url=sys.argv[2], api_key='k', max_retries=0)\n"
        "client.chat.completions.create(model='gpt-4o-mini',\n"
        "    messages=[{'role': 'user', 'content': 'hello'}])\n"
        "tp.shutdown()\n"
    )
    with LoopbackServer() as provider:
        provider.respond(text="hi", input_tokens=1_000, output_tokens=200)
        run = subprocess.run(
            [sys.executable, str(app), url + "/v1/traces", provider.url + "/v1"],
            capture_output=True,
            text=True,
            env=clean_env(),
            check=False,
            cwd=str(Path(__file__).parent.parent),
        )
        assert run.returncode == 0, run.stderr
    rows = json.loads(
        mmoa(
            "sql",
            "SELECT model, provider, source, input_tokens, output_tokens,"
            " cost_usd, simulated FROM calls",
            "--json",
            "--collector",
            url,
        ).stdout
    )
    # priced at ingest from the catalog: 1000 x 0.15 + 200 x 0.60 = 150 + 120 micro-dollars
    assert rows == [
        {
            "model": "gpt-4o-mini",
            "provider": "openai",
            "source": "opentelemetry.util.genai.handler",
            "input_tokens": 1000,
            "output_tokens": 200,
            "cost_usd": "0.0002700000",
            "simulated": False,
        }
    ]
