"""Open a report in a real browser (headless Chromium) and say what it saw.

The HTML reports are meant to be opened by people, so "renders" is checked where it
matters: in a browser. Chromium is driven over the DevTools protocol (a WebSocket; the
``websockets`` client), which gives what a screenshot alone cannot: the console errors
and uncaught exceptions of the page, and the DOM to query. Used by the tests and by
``python -m conformance compare --screenshot``.

Every step is bounded: the browser is started with its own throw-away profile, each
protocol call waits at most ``timeout`` seconds, and the process is killed on the way out.
"""

from __future__ import annotations

import base64
import json
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class BrowserError(RuntimeError):
    """The browser could not be found, started or driven; the message says which."""


@dataclass
class PageCheck:
    """What the browser saw of one page."""

    title: str
    console_errors: list[str] = field(default_factory=list)
    """Console errors, uncaught exceptions and failed loads, as text."""
    query: Any = None
    """The value of the JavaScript expression the caller asked about."""
    screenshot: bytes = b""


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES)
                       + "); on Debian: apt-get install chromium")


def check_page(path: Path, query: str = "null", *, screenshot: Path | None = None,
               width: int = 1300, max_height: int = 6000, timeout: float = 30.0) -> PageCheck:
    """Load ``path`` in headless Chromium; return its console errors, ``query``'s value
    and (when ``screenshot`` is given, also written there) a full-page PNG."""
    with _browser(timeout) as port:
        target = _page_target(port, timeout)
        with _Session(target, timeout) as session:
            for domain in ("Runtime", "Log", "Page"):
                session.call(f"{domain}.enable")
            session.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                         deviceScaleFactor=1, mobile=False)
            session.call("Page.navigate", url=path.resolve().as_uri())
            session.wait_event("Page.loadEventFired")
            title = session.evaluate("document.title")
            value = session.evaluate(query)
            image = b""
            if screenshot is not None:
                metrics = session.call("Page.getLayoutMetrics")
                size = metrics.get("cssContentSize") or metrics["contentSize"]
                height = min(int(size["height"]) + 1, max_height)
                shot = session.call("Page.captureScreenshot", format="png",
                                    captureBeyondViewport=True,
                                    clip={"x": 0, "y": 0, "width": width, "height": height,
                                          "scale": 1})
                image = base64.b64decode(shot["data"])
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(image)
            session.drain(0.2)  # late console messages (after load) still count
            return PageCheck(title=str(title), console_errors=session.errors, query=value,
                             screenshot=image)


@contextmanager
def _browser(timeout: float) -> Iterator[int]:
    executable = find_chromium()
    profile = tempfile.mkdtemp(prefix="conformance-chromium-")
    argv = [executable, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}", "about:blank"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        yield _wait_listening(process, timeout)
    finally:
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _wait_listening(process: subprocess.Popen[str], timeout: float) -> int:
    """Chromium prints its DevTools endpoint on stderr once it is ready.

    A thread reads stderr to the end (so Chromium never blocks on a full pipe) and hands
    lines over through a queue, which gives the wait its bound."""
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    stream = process.stderr

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line.strip())
        match = _LISTENING.search(line)
        if match:
            return int(match.group(1).split(":")[2].split("/")[0])
        if remaining <= 0:
            break
    raise BrowserError("Chromium did not start its DevTools endpoint within "
                       f"{timeout:g} s: " + " | ".join(seen[-5:]))


def _page_target(port: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                        timeout=timeout) as response:
                targets = json.loads(response.read())
            for target in targets:
                if target.get("type") == "page" and target.get("webSocketDebuggerUrl"):
                    return str(target["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise BrowserError("Chromium has no page to drive")
        time.sleep(0.1)


class _Session:
    """A minimal DevTools protocol client: numbered calls, events collected on the way."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.errors: list[str] = []
        self.events: list[str] = []
        self._next = 0

    def __enter__(self) -> _Session:
        try:
            from websockets.sync.client import connect
        except ImportError as exc:  # pragma: no cover - websockets is a dev dependency
            raise BrowserError("the websockets package is needed to drive Chromium "
                               "(pip install websockets)") from exc
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(
            connect(self.url, open_timeout=self.timeout, max_size=None))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluating {expression!r}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_event(self, name: str) -> None:
        deadline = time.monotonic() + self.timeout
        while name not in self.events:
            self._receive(deadline, name)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self._receive(deadline, "")
            except TimeoutError:
                return

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Chromium did not answer {waiting_for} in {self.timeout:g} s")
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=remaining))
        method = message.get("method")
        if method:
            self.events.append(method)
            self._note(method, message.get("params", {}))
        return message

    def _note(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.errors.append(f"uncaught exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", "")))
                            for a in params.get("args", []))
            self.errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.errors.append(f"{entry.get('source', 'log')}: {entry.get('text', '')}")
