"""Headless Chromium driven over the DevTools protocol, with a tiny stdlib WebSocket client.

Streamlit draws its pages in the browser from messages on a websocket, so a plain `--dump-dom`
cannot tell when a page is done. This opens a page, waits until Streamlit says its script is
not running and the page's elements (charts included) are drawn, then reads the DOM and takes
screenshots. Used by tests/test_dashboard_browser.py and bench/dashboard.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("MMOA_CHROMIUM", "/usr/bin/chromium")

# A Streamlit page is drawn when: the app says its script is not running, it drew a title,
# no element is stale (greyed out during a rerun), and every plotly chart holds its SVG.
DRAWN = """(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!document.querySelector('h1')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return charts.every(c => c.querySelector('.main-svg'));
})()"""

# How tall the page is: Streamlit scrolls its main area and sidebar, not the document.
PAGE_HEIGHT = """Math.max(window.innerHeight, ...[...document.querySelectorAll(
  '[data-testid="stMain"], [data-testid="stSidebarContent"]')].map(e => e.scrollHeight))"""


class BrowserError(Exception):
    """Chromium is missing, did not start, or a page did not finish drawing."""


class _WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: text frames, client masking, pings."""

    def __init__(self, url: str, timeout_s: float) -> None:
        assert url.startswith("ws://")
        hostport, _, path = url[len("ws://") :].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserError("DevTools closed the connection during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise BrowserError(f"DevTools refused the websocket: {status.decode(errors='replace')}")
        self.buffer = head.split(b"\r\n\r\n", 1)[1]

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise BrowserError("DevTools closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def send(self, text: str, opcode: int = 0x1) -> None:
        payload = text.encode()
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self) -> str:
        """The next whole text message (continuation frames joined, pings answered)."""
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else b""
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x8:
                raise BrowserError("DevTools closed the websocket")
            if opcode == 0x9:
                self.send(data.decode(errors="replace"), opcode=0xA)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


class Chromium:
    """One headless Chromium with one tab; `open`, `wait_drawn`, `evaluate`, `screenshot`."""

    def __init__(self, width: int = 1400, height: int = 1000, timeout_s: float = 60.0) -> None:
        if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
            raise BrowserError(
                f"no Chromium at {CHROMIUM}: apt-get install -y chromium "
                "(or set MMOA_CHROMIUM to its path)"
            )
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="mmoa-chromium-")
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._id = 0
        try:
            self.ws = _WebSocket(self._page_url(), timeout_s)
            self.call("Page.enable")
            self.call("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _page_url(self) -> str:
        """The tab's DevTools websocket: Chromium writes its port to DevToolsActivePort."""
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError(f"{CHROMIUM} exited with {self.proc.returncode} at start")
            if port_file.is_file() and port_file.read_text().strip():
                port = int(port_file.read_text().split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                    targets = json.loads(r.read())
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.05)
        raise BrowserError(f"{CHROMIUM} did not open its DevTools port")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        out = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in out:
            raise BrowserError(f"script failed: {out['exceptionDetails'].get('text')}")
        return out.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait_drawn(self, timeout_s: float | None = None) -> float:
        """Wait until the Streamlit page is drawn (DRAWN holds twice in a row, 0.1 s apart);
        the seconds until it first held."""
        started = time.monotonic()
        deadline = started + (timeout_s or self.timeout_s)
        seen, drawn_at = 0, started
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.evaluate(DRAWN):
                seen, drawn_at = seen + 1, drawn_at if seen else now
            else:
                seen = 0
            if seen == 2:
                return drawn_at - started
            time.sleep(0.1)
        raise BrowserError(f"page not drawn within {timeout_s or self.timeout_s:g} s")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the tab; `full_page` grows the viewport to Streamlit's scrolling areas so
        what lies below the fold is in the picture too."""
        if full_page:
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=int(self.evaluate("window.innerWidth")),
                height=min(int(self.evaluate(PAGE_HEIGHT)), 8000),
                deviceScaleFactor=1,
                mobile=False,
            )
            self.wait_drawn()  # charts redraw at the new size
        try:
            data = self.call("Page.captureScreenshot", format="png")["data"]
        finally:
            if full_page:
                self.call("Emulation.clearDeviceMetricsOverride")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
