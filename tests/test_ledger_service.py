"""Service mode: the collector is the single authority for hard-cap reservations.

Two router processes (64 concurrent requests) share one `mmoa collector serve` and one budget;
a collector killed and restarted keeps its outstanding reservations; the reserve/settle
endpoints answer malformed, unauthorized and budget-less requests in one line.
No assertion depends on time: waits are polls bounded by a deadline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from catalog.budgets import BudgetSpec, Scope
from collector.budget_api import NO_LEDGER
from collector.server import Collector, ServerConfig
from mmoa.ledger_client import LedgerUnavailable, RemoteLedger
from router.policy import Hold
from tests.cli_runner import clean_env, run_mmoa
from tests.conftest import REPO
from tests.test_collector_crash import Served, _listen_port
from tests.test_collector_server import request

D = Decimal
NOW = datetime(2026, 11, 28, 12)
SHIPPED = REPO / "mmoa" / "mmoa.yaml"
# the cheapest model there is: $0.01 per 1M tokens either way, so its worst case is the
# smallest and the hard cap has nowhere cheaper to send a request
TINY = {
    "name": "tiny",
    "provider": "openai",
    "context_window": 16000,
    "max_output": 4000,
    "intelligence": 20,
    "coding": 10,
    "tier": "economy",
    "prices": {"input": 0.01, "output": 0.01},
}


def write_config(path: Path, hard: str, period: str = "87600h") -> Path:
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["models"] = [TINY]
    raw["categories"]["simple_quick"] = {"chain": ["tiny"], "expected_output_tokens": 8}
    raw["simulation"] = {"seed": 7, "failure_scale": 0}
    raw["faults"] = {"max_retries": 0}
    raw["cache"] = {"ttl_s": 0}
    raw["budgets"] = [{"name": "cap", "amount": hard, "period": period, "hard": hard}]
    path.write_text(yaml.safe_dump(raw))
    return path


ROUTER = textwrap.dedent(
    """
    import json, sys, threading
    from pathlib import Path
    from mmoa.wiring import wire
    from router.policy import HardCapExceeded

    config, url, n, who = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    wired = wire(config, Path("unused.duckdb"), otlp_endpoint=url, virtual_time=True)
    assert type(wired.router.ledger).__name__ == "RemoteLedger"
    out, lock, gate = [], threading.Lock(), threading.Barrier(n)

    def one(i):
        gate.wait(60)
        try:
            r = wired.router.complete(
                f"Define the word number {who}-{i}", category="simple_quick", max_tokens=8
            )
            item = {"ok": r.request_id, "model": r.model, "cost": str(r.cost)}
        except HardCapExceeded as exc:
            item = {"refused": exc.budget, "message": str(exc)}
        with lock:
            out.append(item)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wired.flush()
    wired.close()
    print(json.dumps(out))
    """
)


def _worst(prompt_bytes: int, max_tokens: int) -> Decimal:
    # router.attempts.worst_case_cost for TINY: every byte (+16) and every output token at $0.01/1M
    return (D("0.01") * (prompt_bytes + 16) + D("0.01") * max_tokens) / D(1_000_000)


def test_two_router_processes_sharing_one_collector_never_break_the_cap(tmp_path: Path) -> None:
    room = _worst(len("Define the word number a-10"), 8) * 5  # a few answers, not 64
    config = write_config(tmp_path / "mmoa.yaml", str(room))
    store = tmp_path / "store.duckdb"
    served = Served(_listen_port(), store, tmp_path / "collector.log", config, clean_env())
    try:
        served.wait_healthy()
        routers = [
            subprocess.Popen(
                [sys.executable, "-c", ROUTER, str(config), served.url, "32", who],
                cwd=tmp_path,
                env=clean_env(PYTHONPATH=str(REPO)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for who in ("a", "b")
        ]
        outputs = [r.communicate(timeout=300) for r in routers]
        for r, (_, err) in zip(routers, outputs, strict=True):
            assert r.returncode == 0, err[-3000:]
    finally:
        served.stop()
    items: list[dict[str, Any]] = [i for out, _ in outputs for i in json.loads(out)]
    ok = [i for i in items if "ok" in i]
    refused = [i for i in items if "refused" in i]
    assert len(items) == 64 and ok and refused
    assert {i["refused"] for i in refused} == {"cap"}
    assert all(i["message"].startswith("budget 'cap': its hard cap") for i in refused)
    assert {i["model"] for i in ok} == {"tiny"}
    with duckdb.connect(str(store), read_only=True) as conn:
        ((spent, calls),) = conn.execute("SELECT sum(cost_usd), count(*) FROM calls").fetchall()
        kinds = dict(
            conn.execute("SELECT kind, count(*) FROM budget_events GROUP BY kind").fetchall()
        )
    assert spent <= room  # actual spend, from the store, within the hard cap
    assert spent == sum(D(i["cost"]) for i in ok)
    assert calls == len(ok)
    assert kinds == {"budget.reserve": len(ok), "budget.settle": len(ok)}


def test_a_restarted_collector_keeps_outstanding_reservations(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mmoa.yaml", "1")
    store = tmp_path / "store.duckdb"
    port = _listen_port()
    served = Served(port, store, tmp_path / "collector.log", config, clean_env())
    served.wait_healthy()
    ledger = RemoteLedger(served.url, sleep=lambda s: None)
    held = ledger.reserve("r1", "simple_quick", {}, "openai", D("0.6"))
    assert isinstance(held, Hold)
    served.stop(kill=True)  # kill -9: nothing gets to flush
    served = Served(port, store, tmp_path / "collector.log", config, clean_env())
    try:
        served.wait_healthy()
        assert ledger.reserve("r2", "simple_quick", {}, "openai", D("0.5")) == "cap"
        ledger.settle(held, D("0.25"))  # made before the restart, settled after it
        again = ledger.reserve("r3", "simple_quick", {}, "openai", D("0.75"))
        assert isinstance(again, Hold) and again.amount == D("0.75")
        assert ledger.reserve("r4", "simple_quick", {}, "openai", D("0.0000000001")) == "cap"
    finally:
        served.stop()


# -- the endpoints, in process ---------------------------------------------------------------


def _collector(tmp_path: Path, **extra: Any) -> Collector:
    spec = BudgetSpec("cap", D(1), "day", Scope(), hard=D(1))
    return Collector(
        ServerConfig(
            store=tmp_path / "c.duckdb", port=0, budgets=(spec,), ledger_clock=lambda: NOW, **extra
        )
    )


def _post(url: str, path: str, doc: object, **headers: str) -> tuple[int, str]:
    reply = request(url, "POST", path, json.dumps(doc).encode(), headers)
    return reply.status, reply.text


def test_reserve_is_idempotent_by_reservation_id(tmp_path: Path) -> None:
    with _collector(tmp_path) as c:
        doc = {"reservation_id": "x1", "request_id": "r", "amount": "0.4"}
        first = _post(c.url, "/v1/budget/reserve", doc)
        again = _post(c.url, "/v1/budget/reserve", doc)  # the client retried
        assert first == again
        assert json.loads(first[1]) == {"granted": True, "reservation_id": "x1", "amount": "0.4"}
        assert c.ledger is not None and c.ledger.state()["cap"]["reserved"] == D("0.4")
        assert _post(c.url, "/v1/budget/reserve", {**doc, "reservation_id": "x2", "amount": "0.7"})[
            1
        ] == json.dumps({"granted": False, "budget": "cap"})
        assert _post(c.url, "/v1/budget/settle", {"reservation_id": "x1", "actual": None}) == (
            200,
            json.dumps({"settled": True}),
        )
        assert c.ledger.state()["cap"]["spent"] == D("0.4")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"reservation_id": "x", "amount": 0.1}, "'amount' must be a decimal string"),
        ({"reservation_id": "x", "amount": "-1"}, "'amount' must be a finite amount >= 0"),
        ({"reservation_id": "x", "amount": "abc"}, "'amount': 'abc' is not a decimal number"),
        ({"amount": "0.1"}, "'reservation_id' must be a non-empty string"),
        ({"reservation_id": "x", "amount": "0.1", "tags": {"a": 1}}, "'tags' must map strings"),
        ([], "expected a JSON object"),
    ],
)
def test_bad_reservations_get_400_and_one_line(tmp_path: Path, doc: object, message: str) -> None:
    with _collector(tmp_path) as c:
        status, text = _post(c.url, "/v1/budget/reserve", doc)
        assert (status, text.strip()) == (400, message) or text.startswith(message)
        assert status == 400 and text.count("\n") == 1


def test_token_and_missing_budgets(tmp_path: Path) -> None:
    with _collector(tmp_path, token="s3cret") as c:
        doc = {"reservation_id": "x", "amount": "0.1"}
        assert _post(c.url, "/v1/budget/reserve", doc)[0] == 401
        assert _post(c.url, "/v1/budget/reserve", doc, Authorization="Bearer s3cret")[0] == 200
        with pytest.raises(LedgerUnavailable, match="HTTP 401"):
            RemoteLedger(c.url).reserve("r", "c", {}, "p", D("0.1"))
        assert isinstance(
            RemoteLedger(c.url, token="s3cret").reserve("r", "c", {}, "p", D(0)), Hold
        )
    with Collector(ServerConfig(store=tmp_path / "plain.duckdb", port=0)) as plain:
        with pytest.raises(LedgerUnavailable, match="holds no hard-capped budgets"):
            RemoteLedger(plain.url).reserve("r", "c", {}, "p", D("0.1"))
        assert NO_LEDGER.startswith("this collector holds no hard-capped budgets")


def test_an_unreachable_collector_fails_the_reservation_in_one_line() -> None:
    port = _listen_port()  # nothing listens there
    ledger = RemoteLedger(f"http://127.0.0.1:{port}", retries=2, sleep=lambda s: None)
    with pytest.raises(
        LedgerUnavailable, match=f"127.0.0.1:{port}/v1/budget/reserve: cannot reach"
    ):
        ledger.reserve("r", "c", {}, "p", D("0.1"))


def test_mmoa_ask_refused_by_a_hard_cap_prints_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mmoa.yaml", "0.0000000001")
    done = run_mmoa(
        [
            "ask",
            "Define the word ledger",
            "--config",
            str(config),
            "--store",
            str(tmp_path / "s.duckdb"),
            "--category",
            "simple_quick",
            "--max-tokens",
            "8",
            "--provider",
            "simulated",
        ]
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("mmoa: error: budget 'cap': its hard cap leaves no room")
    assert done.stderr.count("\n") == 1
