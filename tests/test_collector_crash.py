"""The collector under stress: `kill -9` while exporters send loses no acknowledged span and
stores each span once after the clients retry; a slow reader does not hold up ingest.

No assertion depends on wall-clock time: every wait is a poll with a deadline that fails the test
instead of hanging it, and "ingest finished before the slow query" is checked as an ordering
(the query's thread is still alive), not as a duration.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import IO

import duckdb

from collector.server import Collector, ServerConfig
from tests.conftest import REPO
from tests.test_collector_server import (
    DEADLINE_S,
    Response,
    count,
    post_spans,
    protobuf_body,
    query,
    request,
    rows,
    wait_for,
)

CLIENTS = 4
REQUESTS = 40  # per client
SPANS = 50  # per request
CLIENT_DEADLINE_S = 120.0  # each client's bound on getting all its requests acknowledged
ACKS_BEFORE_KILL = 10

# One exporter process: builds each request from real SDK spans, POSTs it until it gets a 200
# (the same body every time, so the same span ids), and only then logs the request as acked.
CLIENT_SCRIPT = textwrap.dedent(
    """
    import http.client, os, random, sys, time, urllib.error, urllib.request
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    url, client, requests, spans, ack_path = sys.argv[1:6]
    client, requests, spans = int(client), int(requests), int(spans)
    deadline = time.monotonic() + float(sys.argv[6])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("crash-client")
    retries = 0
    with open(ack_path, "a") as acks:
        for i in range(requests):
            memory.clear()
            for j in range(spans):
                with tracer.start_as_current_span(f"c{client}-r{i}-s{j}"):
                    pass
            body = encode_spans(memory.get_finished_spans()).SerializeToString()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    sys.exit(f"client {client}: request {i} not acknowledged before the deadline")
                req = urllib.request.Request(
                    url + "/v1/traces",
                    data=body,
                    headers={"Content-Type": "application/x-protobuf"},
                    method="POST",
                )
                try:
                    with opener.open(req, timeout=min(30.0, left)) as resp:
                        resp.read()
                        status = resp.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                    detail = exc.read()
                    exc.close()
                    if status not in (500, 503):
                        sys.exit(f"client {client}: request {i} answered {status}: {detail!r}")
                except (OSError, http.client.HTTPException):
                    status = None  # refused, reset or cut off while the collector is down
                if status == 200:
                    break
                retries += 1
                time.sleep(random.uniform(0.05, 0.2))
            acks.write(f"{i}\\n")
            acks.flush()
            os.fsync(acks.fileno())
    print(retries)
    """
)


def _env() -> dict[str, str]:
    drop = ("MMOA_", "OTEL_")
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(drop) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }


def _listen_port() -> int:
    """A free loopback port below the ephemeral range.

    While the collector is down, the clients keep opening connections to its port; were that
    port in the ephemeral range, one of them could be given it as its own source port (a TCP
    self-connect) and hold it, so the restarted collector could not bind.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10_000, max(low, 10_001))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free loopback port below the ephemeral range")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


class Served:
    """`python -m mmoa collector serve [--config CFG]` as a subprocess, its output appended to a
    log file (a restart on the same log keeps the first run's lines)."""

    def __init__(
        self,
        port: int,
        store: Path,
        log: Path,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._out: IO[bytes] = open(log, "ab")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mmoa", "collector", "serve"]
            + ["--port", str(port), "--store", str(store)]
            + (["--config", str(config)] if config is not None else []),
            cwd=REPO,
            env=_env() if env is None else env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self) -> None:
        def up() -> bool:
            assert self.proc.poll() is None, f"collector exited:\n{_tail(self.log)}"
            try:
                return request(self.url, "GET", "/healthz").status == 200
            except OSError:
                return False

        wait_for(up, f"the collector at {self.url} to answer /healthz (log: {self.log})")

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=DEADLINE_S)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()

    def stop(self, kill: bool = False) -> None:
        """SIGKILL (nothing gets to flush) or SIGTERM (a graceful shutdown), then wait."""
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.wait()


def _acked(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _names(client: int, request_index: int) -> set[str]:
    return {f"c{client}-r{request_index}-s{j}" for j in range(SPANS)}


def test_kill_9_while_four_exporters_send_loses_no_acknowledged_span(tmp_path: Path) -> None:
    store = tmp_path / "crash.duckdb"
    port = _listen_port()
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT)
    ack_files = [tmp_path / f"acked-{c}.log" for c in range(CLIENTS)]
    collector = Served(port, store, tmp_path / "collector-1.log")
    clients: list[subprocess.Popen[bytes]] = []
    try:
        collector.wait_healthy()
        clients = [
            subprocess.Popen(
                [sys.executable, str(script), collector.url, str(c), str(REQUESTS), str(SPANS)]
                + [str(ack_files[c]), str(CLIENT_DEADLINE_S)],
                cwd=tmp_path,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for c in range(CLIENTS)
        ]

        def some_acked() -> bool:
            for proc in clients:
                assert proc.poll() is None or proc.returncode == 0, proc.communicate()[1].decode()
            return sum(len(_acked(f)) for f in ack_files) >= ACKS_BEFORE_KILL

        wait_for(some_acked, f"{ACKS_BEFORE_KILL} acknowledged requests")
        os.kill(collector.proc.pid, signal.SIGKILL)
        assert collector.wait() == -signal.SIGKILL
        # read after the kill: includes every 200 the dead collector sent, so a total short of
        # all requests means the clients had work left and must finish it against the restart
        acked_at_kill = sum(len(_acked(f)) for f in ack_files)
        assert acked_at_kill < CLIENTS * REQUESTS, "clients finished before the kill; send more"

        collector = Served(port, store, tmp_path / "collector-2.log")
        collector.wait_healthy()
        retries = 0
        for c, proc in enumerate(clients):
            out, err = proc.communicate(timeout=CLIENT_DEADLINE_S + DEADLINE_S)
            assert proc.returncode == 0, f"client {c}: {err.decode()[-3000:]}"
            retries += int(out.decode().split()[-1])
        assert retries > 0  # the kill was felt: refused or cut-off requests were sent again

        # every client logged each request once, and only after its 200
        acked = [_acked(f) for f in ack_files]
        assert acked == [list(range(REQUESTS))] * CLIENTS
        url = collector.url
        assert rows(url, "SELECT name, count(*) FROM spans GROUP BY name HAVING count(*) > 1") == []
        stored = {name for [name] in rows(url, "SELECT name FROM spans")}
        for c, indexes in enumerate(acked):
            for i in indexes:
                missing = _names(c, i) - stored
                assert not missing, f"acked request c{c}-r{i} lost {len(missing)} spans"
        expected = {n for c in range(CLIENTS) for i in range(REQUESTS) for n in _names(c, i)}
        assert stored == expected
        total = CLIENTS * REQUESTS * SPANS
        assert count(url) == total
        assert rows(url, "SELECT count(DISTINCT (trace_id, span_id)) FROM spans") == [[total]]

        collector.proc.send_signal(signal.SIGTERM)
        assert collector.wait() == 0, _tail(collector.log)
        with duckdb.connect(str(store), read_only=True) as conn:
            assert conn.execute("SELECT count(*) FROM spans").fetchone() == (total,)
            assert conn.execute("SELECT count(DISTINCT name) FROM spans").fetchone() == (total,)
    finally:
        for proc in clients:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=DEADLINE_S)
        collector.kill()


# Sized (measured on the 2-CPU development machine: about 10 s alone) to take many times as
# long as the ingest below (about 1-2 s); (n(n-1)/2)^2 is the exact answer.
SLOW_N = 50_000
SLOW_SQL = f"SELECT sum(a.range * b.range) AS s FROM range({SLOW_N}) a, range({SLOW_N}) b"


def test_a_slow_reader_does_not_stall_ingest(tmp_path: Path) -> None:
    bodies = [protobuf_body(f"ingest{i}", 100) for i in range(20)]
    with Collector(ServerConfig(store=tmp_path / "c.duckdb", port=0)) as c:
        url = c.url
        slow: list[Response] = []
        reader = threading.Thread(target=lambda: slow.append(query(url, SLOW_SQL)))
        reader.start()  # on failure, leaving the `with` stops the collector, interrupting it
        wait_for(lambda: bool(c._running), "the slow query to run")

        statuses = [post_spans(url, body).status for body in bodies]
        assert statuses == [200] * 20
        assert count(url) == 2_000
        names = rows(url, "SELECT count(DISTINCT name) FROM spans WHERE name LIKE 'ingest%'")
        assert names == [[2_000]]
        assert reader.is_alive(), "the slow query finished before ingest did; make it slower"

        reader.join(DEADLINE_S)
        assert not reader.is_alive(), "the slow query did not finish"
        assert len(slow) == 1 and slow[0].status == 200, slow[0].text if slow else slow
        assert slow[0].json()["rows"] == [[(SLOW_N * (SLOW_N - 1) // 2) ** 2]]
        # the reader and the writer both still work
        assert post_spans(url, protobuf_body("after", 10)).status == 200
        assert count(url) == 2_010
        assert query(url, "SELECT 1").status == 200
