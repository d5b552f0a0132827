"""Real frameworks on the server under test: does what a Starlette or FastAPI user relies
on work? (catalogue: conformance/catalogue/frameworks.py, ``FW-*``)

The server serves one of two sample apps, ``fixtures.starlette_app:app`` or
``fixtures.fastapi_app:app`` (the same routes, each written with its framework's idioms),
and a case drives it as a user's client would: httpx for HTTP, the websockets client for
WebSocket. Cases whose shape the two apps share are parametrized over them (ids
``starlette`` and ``fastapi``). What is judged is what the framework's user observes: the
path parameter the route saw, the JSON that came back, the upload's sha256, whether the
first server-sent event arrived before the app sent the next, the close code the client got.

Nothing here depends on wall-clock thresholds. Where timing is the point (server-sent
events, background tasks) the app waits, for at most 1.5 s, for a signal the client sends
once it has seen what it must see first (``POST /signals/{key}``): a server that holds the
first event, or the response, back until the app is done makes the app give up waiting,
and the app says so in what it sends or records. A conforming server never waits that out.

The apps need Starlette, FastAPI and python-multipart in the server's interpreter (the
suite's own, for the named servers), and the cases need httpx and websockets here: without
them the cases are n/a (``pip install 'asgi-conformance[frameworks]'``), never a broken run.
The evidence of a failure is in its message, since these cases talk to the server through
clients rather than the raw-socket transcript: what was expected and seen, then the case's
client log (HTTP request and response heads, WebSocket frames as the websockets client
logged them).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import importlib.util
import io
import json
import logging
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from conformance.launcher import ServerProcess
from conformance.plugin import serve_app
from conformance.session import PROBE_APP
from conformance.suite._dedicated import read_records
from conformance.verdicts import NoResponse, not_applicable

with contextlib.suppress(ImportError):  # without them every case is n/a (see `server`)
    import httpx
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.sync.client import ClientConnection
    from websockets.sync.client import connect as ws_connect

req = pytest.mark.requirement

APPS = {"starlette": "fixtures.starlette_app:app", "fastapi": "fixtures.fastapi_app:app"}
NEEDS = {"starlette": ("starlette", "python_multipart"),
         "fastapi": ("starlette", "fastapi", "python_multipart")}
CLIENT_NEEDS = ("httpx", "websockets")
INSTALL = "install asgi-conformance[frameworks]"

TIMEOUT = 2.0
"""Bound on every client operation (connect, each read, each write)."""
UPLOAD_TIMEOUT = 5.0
"""The upload's reads: the app parses 8 MiB of multipart before it answers."""
POLL = 2.0
"""Bound on polling the app for a side effect (a background job, a recorded disconnect)."""

# The apps' own constants (fixtures/_framework_common.py), repeated so that the suite does not
# import a framework.
FILE_SIZE = 1024 * 1024 + 123
FILE_SEED = 7
TEXT = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
GREETING = "hello from the lifespan"
ORIGIN = "https://app.example"
UPLOAD_SIZE = 8 * 1024 * 1024


# --- the server and the clients -------------------------------------------------------------


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _missing(framework: str) -> list[str]:
    missing = [m for m in (*NEEDS[framework], *CLIENT_NEEDS) if not _importable(m)]
    if "python_multipart" in missing and _importable("multipart"):
        missing.remove("python_multipart")  # its name before python-multipart 0.0.13
    return missing


@pytest.fixture(params=list(APPS))
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(request: pytest.FixtureRequest, framework: str) -> ServerProcess:
    """The server under test serving the framework's app (one process per app for the run,
    restarted after a crash; named ``server`` so the plugin treats these as conformance
    cases and turns a crash during one into an error verdict)."""
    missing = _missing(framework)
    if missing:
        not_applicable(f"{', '.join(missing)} cannot be imported by {sys.executable}: "
                       f"{INSTALL}")
    return serve_app(request, APPS[framework])


# --- the client log: the evidence of a failure ------------------------------------------------
#
# These cases talk through clients, so the plugin's raw-socket transcript is empty; instead
# each case keeps a log of what its clients did (HTTP request and response heads, WebSocket
# frames as the websockets client logs them), and a failure's message ends with it.

_log: list[str] = []
_MESSAGE_ROOM = 1400
_LOG_ROOM = 2400
"""The plugin keeps 4000 characters of a message: the assertion first, then the log's end."""


@pytest.fixture(autouse=True)
def _client_log() -> Iterator[None]:
    _log.clear()
    yield
    _log.clear()


def _heads(headers: httpx.Headers) -> str:
    return ", ".join(f"{k.decode('latin-1')}: {v.decode('latin-1')[:80]}"
                     for k, v in headers.raw)


def _log_request(request: httpx.Request) -> None:
    _log.append(f"> {request.method} {request.url.raw_path.decode('ascii')} "
                f"[{_heads(request.headers)}]")


def _log_response(response: httpx.Response) -> None:
    _log.append(f"< {response.http_version} {response.status_code} "
                f"[{_heads(response.headers)}]")


class _LogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _log.append(f"ws {record.getMessage()[:160]}")


_ws_logger = logging.getLogger("conformance.frameworks.websocket")
_ws_logger.setLevel(logging.DEBUG)
_ws_logger.propagate = False
if not _ws_logger.handlers:
    _ws_logger.addHandler(_LogHandler())


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """One httpx client per case, every operation bounded; identity encoding unless a case
    asks for gzip, so bodies are compared as sent."""
    with httpx.Client(base_url=f"http://{server.host}:{server.port}", timeout=TIMEOUT,
                      headers={"accept-encoding": "identity"}, trust_env=False,
                      event_hooks={"request": [_log_request],
                                   "response": [_log_response]}) as c:
        yield c


def _ws_url(server: ServerProcess, path: str) -> str:
    return f"ws://{server.host}:{server.port}{path}"


@contextlib.contextmanager
def _websocket(server: ServerProcess, path: str) -> Iterator[ClientConnection]:
    _log.append(f"ws connect {path}")
    with ws_connect(_ws_url(server, path), open_timeout=TIMEOUT, close_timeout=1.0,
                    logger=_ws_logger) as ws:
        yield ws


def judged(case: Callable[..., None]) -> Callable[..., None]:
    """Client-side transport failures are verdicts on the server (it did not answer, it
    dropped the connection, it refused the handshake), not harness errors; every failure's
    message ends with the case's client log."""

    @functools.wraps(case)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            _judge(case, *args, **kwargs)
        except AssertionError as exc:
            exc.args = (_with_log(str(exc.args[0]) if exc.args else ""),)
            raise

    return run


def _with_log(message: str) -> str:
    """The failure's message and the end of the client log, within the report's 4000
    characters per message."""
    if len(message) > _MESSAGE_ROOM:
        message = message[:_MESSAGE_ROOM] + " [...]"
    lines: list[str] = []
    room = _LOG_ROOM
    for line in reversed(_log):
        room -= len(line) + 1
        if room < 0:
            lines.append(f"[{len(_log) - len(lines)} earlier lines]")
            break
        lines.append(line)
    return f"{message}\nclient log:\n" + "\n".join(reversed(lines))


def _judge(case: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    try:
        case(*args, **kwargs)
    except httpx.TimeoutException as exc:
        raise NoResponse(f"no answer within {TIMEOUT:g} s: {_describe(exc)}") from None
    except httpx.TransportError as exc:
        raise AssertionError(f"the HTTP exchange failed: {_describe(exc)}") from None
    except TimeoutError as exc:
        raise NoResponse(f"the WebSocket server did not answer within the bound: "
                         f"{exc or 'timeout'}") from None
    except InvalidHandshake as exc:
        raise AssertionError(f"the WebSocket handshake failed: {_describe(exc)}") from None
    except ConnectionClosed as exc:
        raise AssertionError(f"the WebSocket connection closed unexpectedly: {exc} "
                             f"(close frame received: {exc.rcvd})") from None


def _describe(exc: BaseException) -> str:
    try:
        request = exc.request  # type: ignore[attr-defined]  # httpx's RequestError
    except (AttributeError, RuntimeError):
        request = None
    where = f" ({request.method} {request.url})" if request is not None else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _show(response: httpx.Response, limit: int = 300) -> str:
    """A response as evidence: request line, status, headers, the start of the body."""
    request = response.request
    headers = "; ".join(f"{k.decode('latin-1')}: {v.decode('latin-1')}"
                        for k, v in response.headers.raw)
    body = response.content
    more = f"... [{len(body)} bytes]" if len(body) > limit else ""
    return (f"{request.method} {request.url.raw_path.decode('ascii')} -> "
            f"{response.status_code}\n  headers: {headers}\n  body: {body[:limit]!r}{more}")


def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"expected {status}:\n{_show(response)}"
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"the body is not the app's JSON:\n{_show(response)}") from None


def _key(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def _poll(client: httpx.Client, path: str, done: Callable[[httpx.Response], bool]
          ) -> httpx.Response:
    """GET ``path`` until ``done`` says so, for at most ``POLL`` seconds: the side effect
    of a task that runs after a response, or of a disconnect, shows up a moment later."""
    deadline = time.monotonic() + POLL
    while True:
        response = client.get(path)
        if done(response) or time.monotonic() >= deadline:
            return response
        time.sleep(0.01)


# --- routing: path and query ----------------------------------------------------------------


@req("FW-PATH-PARAMS")
@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("/items/caf%C3%A9%20x", "café x", id="utf8-space"),
    pytest.param("/items/a%2Fb", "a/b", id="encoded-slash"),
])
@judged
def test_path_params(client, path, expected):
    """A route's path parameter is the percent- and UTF-8-decoded text. ASGI's ``path`` is
    fully decoded, so an encoded slash is a slash by the time the router sees it: the
    ``{name:path}`` route gets 'a/b' (``raw_path``, when the server gives it, keeps the
    ``%2F``; it is shown, not judged: HTTP-008)."""
    seen = _json(client.get(path))
    assert seen.get("name") == expected, (
        f"the route saw {seen.get('name')!r}, expected {expected!r} "
        f"(raw_path {seen.get('raw_path')!r})")


@req("FW-QUERY-PARAMS")
@judged
def test_query_params(client):
    """Repeated keys arrive in order, values decoded once: an encoded '&' or '=' stays
    inside its value, '+' is a space and %2B a plus. A server that decoded the query string
    before the framework parsed it would split 'b%26c' into two parameters."""
    response = client.get("/search?tag=a&tag=b%26c&tag=k%3Dv&q=caf%C3%A9+x%2By")
    seen = _json(response)
    expected = {"tags": ["a", "b&c", "k=v"], "q": "café x+y"}
    assert seen == expected, f"the route saw {seen}, expected {expected}\n{_show(response)}"


# --- request bodies -----------------------------------------------------------------------


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in ``size``-byte pieces: httpx sends an iterator with chunked framing."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


FRAMING = [pytest.param("content-length", id="content-length"),
           pytest.param("chunked", id="chunked")]

ITEM = {"name": "café ☕", "tags": ["a", "ü", "𝄞"], "price": 12.5,
        "notes": "naïve ✓ 𝄞 " * 20000}


@req("FW-JSON-BODY")
@pytest.mark.parametrize("framing", FRAMING)
@judged
def test_json_body_round_trip(client, framing):
    """A JSON body of 320 KB, multi-byte UTF-8 throughout, comes back identical: the
    server hands it to the app in several ``http.request`` events (and de-chunks it when
    it is sent chunked, in 7919-byte pieces that split characters)."""
    body = json.dumps(ITEM, ensure_ascii=False).encode()
    content: bytes | Iterator[bytes] = body if framing == "content-length" \
        else _pieces(body, 7919)
    response = client.post("/echo", content=content,
                           headers={"content-type": "application/json"})
    echoed = _json(response)
    assert echoed == ITEM, (
        f"the JSON came back different ({len(body)} bytes sent, {framing}): "
        f"{_diff(ITEM, echoed)}\n{_show(response)}")


def _diff(sent: dict[str, Any], got: Any) -> str:
    if not isinstance(got, dict):
        return f"got {type(got).__name__}"
    keys = [k for k in sent if sent.get(k) != got.get(k)]
    return "; ".join(f"{k}: sent {str(sent[k])[:60]!r}, got {str(got.get(k))[:60]!r}"
                     for k in keys) or f"extra keys {sorted(set(got) - set(sent))}"


@req("FW-JSON-INVALID")
@judged
def test_invalid_json_answered_by_the_framework(client, framework):
    """Invalid JSON gets the framework's own error response, intact: FastAPI's 422 with a
    ``json_invalid`` detail; the Starlette app's 400 (plain Starlette leaves invalid JSON
    to the app, which answers 400 with its detail)."""
    response = client.post("/echo", content=b'{"name": "x", "tags": [',
                           headers={"content-type": "application/json"})
    if framework == "fastapi":
        detail = _json(response, 422).get("detail")
        kinds = [d.get("type") for d in detail] if isinstance(detail, list) else detail
        assert kinds == ["json_invalid"], f"FastAPI's detail is {detail!r}\n{_show(response)}"
    else:
        detail = _json(response, 400).get("detail")
        assert isinstance(detail, str) and detail.startswith("invalid JSON"), (
            f"the app's detail is {detail!r}\n{_show(response)}")


def _multipart(boundary: str, note: str, data: bytes) -> Iterator[bytes]:
    """A multipart/form-data body built by hand, so that it can be streamed chunked."""
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
           f"{note}\r\n").encode()
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
           f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
    yield from _pieces(data, 256 * 1024)
    yield f"\r\n--{boundary}--\r\n".encode()


@functools.cache
def _upload_data() -> bytes:
    return random.Random(11).randbytes(UPLOAD_SIZE)


@req("FW-MULTIPART")
@pytest.mark.parametrize("framing", FRAMING)
@judged
def test_multipart_upload(client, framing):
    """An 8 MiB file uploaded as multipart/form-data, streamed by the client, reaches the
    app's UploadFile whole: the size and sha256 the app computes as it reads the spooled
    file in 64 KiB pieces match the client's, and the text field beside it is intact."""
    data, note = _upload_data(), "café ✓"
    timeout = httpx.Timeout(TIMEOUT, read=UPLOAD_TIMEOUT)
    if framing == "content-length":
        response = client.post(
            "/upload", data={"note": note}, timeout=timeout,
            files={"file": ("big.bin", io.BytesIO(data), "application/octet-stream")})
    else:
        boundary = uuid.uuid4().hex
        response = client.post(
            "/upload", content=_multipart(boundary, note, data), timeout=timeout,
            headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    seen = _json(response)
    expected = {"filename": "big.bin", "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "note": note}
    assert seen == expected, (
        f"the app's view of the upload ({framing}) differs: got {seen}, expected {expected}")


# --- streaming, files, background tasks ----------------------------------------------------


def _sse_events(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """Events of a text/event-stream, as the fields of each (comments skipped)."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")
    if event:
        yield event


@req("FW-SSE")
@judged
def test_server_sent_events_arrive_one_by_one(client):
    """The first server-sent event reaches the client while the stream goes on. The app
    sends event 0, then waits (at most 1.5 s) for the client's ``POST /signals/{key}``,
    which the client sends only once it has event 0; events 1-3 say whether the signal
    came. A server that holds the stream's data back until the app finishes makes the
    app wait in vain: its events then say ``"signalled": false``."""
    key = _key("sse")
    received: list[dict[str, Any]] = []
    signal_answer = None
    with client.stream("GET", f"/events/{key}",
                       headers={"accept": "text/event-stream"}) as response:
        assert response.status_code == 200, f"status {response.status_code}"
        media = response.headers.get("content-type", "")
        assert media.startswith("text/event-stream"), f"content-type {media!r}"
        for event in _sse_events(response.iter_lines()):
            try:
                received.append(json.loads(event.get("data", "")))
            except ValueError:
                raise AssertionError(f"an event that is not the app's: {event}") from None
            if len(received) == 1:
                signal_answer = _json(client.post(f"/signals/{key}"))
    numbers = [e.get("n") for e in received]
    assert numbers == [0, 1, 2, 3], f"events in order 0-3 expected, got {received}"
    late = [e for e in received[1:] if e.get("signalled") is not True]
    assert not late, (
        "the app sent event 0 and waited 1.5 s for the client to confirm it had it, in "
        "vain: the server held event 0 back until the app had moved on (the client's "
        f"signal, sent as soon as event 0 arrived, got {signal_answer}); events: {received}")


def _file_bytes() -> bytes:
    return random.Random(FILE_SEED).randbytes(FILE_SIZE)


@req("FW-FILE-RESPONSE")
@judged
def test_file_response(client):
    """A FileResponse of 1 MiB + 123 bytes arrives byte-exact with its Content-Length,
    whether Starlette streamed it as ``http.response.body`` chunks or handed the server
    the path (``http.response.pathsend``), which it does when the server offers it; the
    app's ``x-file-send`` header says which (see FW-FILE-PATHSEND)."""
    response = client.get("/files/data.bin")
    sent_with = response.headers.get("x-file-send")
    assert response.status_code == 200, f"sent with {sent_with}:\n{_show(response)}"
    assert response.headers.get("content-length") == str(FILE_SIZE), (
        f"Content-Length {response.headers.get('content-length')!r} for a {FILE_SIZE}-byte "
        f"file (sent with {sent_with})")
    assert response.content == _file_bytes(), (
        f"the file's bytes differ (sent with {sent_with}): {len(response.content)} bytes "
        f"received, first difference at {_first_difference(response.content, _file_bytes())}")


def _first_difference(got: bytes, expected: bytes) -> int:
    return next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                min(len(got), len(expected)))


@req("FW-FILE-RANGE")
@judged
def test_file_range(client):
    """``Range: bytes=65000-200000`` (across Starlette's 64 KiB read chunks) gets 206 with
    ``Content-Range: bytes 65000-200000/<size>``, Content-Length 135001 and exactly those
    bytes."""
    response = client.get("/files/data.bin", headers={"range": "bytes=65000-200000"})
    assert response.status_code == 206, f"expected 206:\n{_show(response)}"
    assert response.headers.get("content-range") == f"bytes 65000-200000/{FILE_SIZE}", (
        _show(response))
    assert response.headers.get("content-length") == "135001", _show(response)
    assert response.content == _file_bytes()[65000:200001], (
        f"the range's bytes differ: {len(response.content)} received, first difference at "
        f"{_first_difference(response.content, _file_bytes()[65000:200001])}")


@req("FW-FILE-PATHSEND")
@judged
def test_file_pathsend(client):
    """Where the server advertises ``http.response.pathsend``, Starlette's FileResponse
    sends the file's path instead of its bytes, and the response is the same as with
    ``http.response.body``: status, Content-Length, exact bytes. n/a where the server does
    not offer the extension (Starlette then streams the file itself)."""
    response = client.get("/files/data.bin")
    sent_with = response.headers.get("x-file-send")
    if sent_with == "http.response.body":
        not_applicable("the server does not advertise http.response.pathsend; Starlette "
                       "sent the file as http.response.body")
    assert sent_with == "http.response.pathsend", f"x-file-send missing:\n{_show(response)}"
    assert response.status_code == 200, _show(response)
    assert response.headers.get("content-length") == str(FILE_SIZE), _show(response)
    assert response.content == _file_bytes(), (
        f"the file sent with pathsend differs: {len(response.content)} bytes received, first "
        f"difference at {_first_difference(response.content, _file_bytes())}")


@req("FW-BACKGROUND")
@judged
def test_background_task_runs_after_the_response(client):
    """The response of a route with a background task arrives while the task is still
    waiting for the client's signal (at most 1.5 s), and the task's effect then shows in a
    later request. A server that completes the response only when the app returns (after
    the task) makes the task give up waiting: its state is then 'done-unsignalled'."""
    key = _key("job")
    started = _json(client.post(f"/jobs/{key}"))
    assert started.get("state") == "scheduled", f"the route answered {started}"
    state = _json(client.get(f"/jobs/{key}")).get("state")
    assert state in ("scheduled", "running"), (
        f"the task had already ended when the response arrived (state {state!r}): the "
        "server held the response until the background task was done")
    _json(client.post(f"/signals/{key}"))
    response = _poll(client, f"/jobs/{key}", lambda r: r.status_code != 200 or not any(
        f'"{s}"'.encode() in r.content for s in ("scheduled", "running")))
    state = _json(response).get("state")
    assert state == "done", (
        f"the task's effect did not show within {POLL:g} s of the signal: state {state!r}")


# --- lifespan, middleware -------------------------------------------------------------------


@req("FW-LIFESPAN-STATE")
@judged
def test_lifespan_state_in_requests(request, framework, client):
    """What the app's lifespan yields is in ``request.state``, and what a request adds
    there stays in that request: the second request must not see the ``scratch`` key the
    first one set (each request gets a shallow copy). Lifespan state is optional ("if
    missing the server does not support this feature"): when the greeting is missing and
    the same server gives the probe app's lifespan scope no state (daphne runs no lifespan
    at all), the case is n/a; a server that offers state and loses it fails."""
    first = _json(client.get("/lifespan"))
    if first.get("greeting") is None:
        probe_server = serve_app(request, PROBE_APP)
        serve_app(request, APPS[framework])  # this case's crash watch stays on its app
        scopes = [r.data["scope"] for r in read_records(probe_server.probe_log_path)
                  if r.kind == "call" and isinstance(r.data.get("scope"), dict)
                  and r.data["scope"].get("type") == "lifespan"]
        if not scopes:
            not_applicable("the server never called the probe app with a lifespan scope "
                           "(it does not implement lifespan, so it has no lifespan state)")
        if "state" not in scopes[0]:
            not_applicable("the server's lifespan scope carries no state (lifespan.rst: "
                           "\"if missing the server does not support this feature\")")
    assert first.get("greeting") == GREETING, (
        f"request.state has no lifespan greeting ({first}): the server did not run the "
        "app's lifespan, or did not pass its state into the request")
    second = _json(client.get("/lifespan"))
    assert second.get("greeting") == GREETING, f"the second request saw {second}"
    assert second.get("scratch") is None, (
        f"a key one request set in request.state leaked into the next ({second}): the "
        "server passed the lifespan namespace itself, not a shallow copy")


def _text(size: int) -> bytes:
    return (TEXT * (size // len(TEXT) + 1))[:size].encode()


@req("FW-GZIP")
@pytest.mark.parametrize(("accept", "size", "compressed"), [
    pytest.param("gzip", 2000, True, id="gzip-large"),
    pytest.param("gzip", 100, False, id="gzip-small"),
    pytest.param("identity", 2000, False, id="identity"),
])
@judged
def test_gzip_negotiation(client, accept, size, compressed):
    """GZipMiddleware compresses a body of 500 bytes or more when the request accepts gzip
    and leaves it alone otherwise; the server passes the request's Accept-Encoding to the
    app and the app's Content-Encoding and bytes to the client untouched."""
    with client.stream("GET", f"/text/{size}", headers={"accept-encoding": accept}) as r:
        raw = b"".join(r.iter_raw())
        encoding = r.headers.get("content-encoding")
        length = r.headers.get("content-length")
        shown = f"status {r.status_code}, headers {dict(r.headers)}, {len(raw)} bytes"
    assert r.status_code == 200, shown
    if length is not None:
        assert length == str(len(raw)), f"Content-Length {length} for {len(raw)} bytes: {shown}"
    if compressed:
        assert encoding == "gzip", f"Accept-Encoding gzip, {size} bytes: not gzip: {shown}"
        try:
            body = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise AssertionError(f"not a valid gzip body ({exc}): {shown}") from None
    else:
        assert encoding is None, f"Accept-Encoding {accept}, {size} bytes: {shown}"
        body = raw
    assert body == _text(size), f"the text differs: {body[:80]!r}...: {shown}"


@req("FW-CORS")
@pytest.mark.parametrize("kind", ["preflight", "simple"])
@judged
def test_cors(client, kind):
    """A preflight (OPTIONS with Origin and Access-Control-Request-Method/-Headers) is
    answered by CORSMiddleware with 200 and the Access-Control-Allow-* headers; a simple
    cross-origin GET gets the route's answer with Access-Control-Allow-Origin. The server
    must pass the OPTIONS request and its headers to the app, and the app's headers back."""
    if kind == "preflight":
        response = client.options("/items/x", headers={
            "origin": ORIGIN, "access-control-request-method": "POST",
            "access-control-request-headers": "x-token"})
        assert response.status_code == 200, _show(response)
        methods = response.headers.get("access-control-allow-methods", "")
        allowed = response.headers.get("access-control-allow-headers", "").lower()
        assert "POST" in methods and "x-token" in allowed, _show(response)
    else:
        response = client.get("/items/x", headers={"origin": ORIGIN})
        assert _json(response).get("name") == "x", _show(response)
    assert response.headers.get("access-control-allow-origin") == ORIGIN, _show(response)


# --- WebSocket ------------------------------------------------------------------------------


@req("FW-WS-MESSAGES")
@judged
def test_websocket_messages(server):
    """Text comes back as text and bytes as bytes (including a 64 KiB binary message and
    non-ASCII text) from an echo route, and a JSON message round-trips through
    receive_json/send_json."""
    blob = random.Random(3).randbytes(64 * 1024)
    with _websocket(server, "/ws/echo") as ws:
        for message in ("héllo ✓ 𝄞", b"\x00\x01\xfe\xff", blob, "x" * 5000):
            ws.send(message)
            echoed = ws.recv(timeout=TIMEOUT)
            assert type(echoed) is type(message) and echoed == message, (
                f"sent {type(message).__name__} {message[:40]!r} ({len(message)}), got "
                f"{type(echoed).__name__} {echoed[:40]!r} ({len(echoed)})")
    payload = {"op": "add", "items": [1, 2.5, "três"], "nested": {"ok": True, "none": None}}
    with _websocket(server, "/ws/json") as ws:
        ws.send(json.dumps(payload))
        reply = ws.recv(timeout=TIMEOUT)
    assert isinstance(reply, str) and json.loads(reply) == {"echo": payload}, (
        f"the JSON route answered {reply!r}")


def _spec_version(asgi: Any) -> tuple[int, ...]:
    """The scope's ``asgi["spec_version"]`` as numbers ("2.0" when missing, www.rst)."""
    value = asgi.get("spec_version") if isinstance(asgi, dict) else None
    try:
        return tuple(int(p) for p in str(value or "2.0").split("."))
    except ValueError:
        return (2, 0)


def _app_close(server: ServerProcess) -> tuple[Any, Any]:
    """The client's view of the app closing with 4001 'bye' (the close frame received, or
    an AssertionError when none came), and the WebSocket scope's ``asgi`` dict, which the
    app sends just before it closes."""
    with _websocket(server, "/ws/bye") as ws:
        ws.send("please close")
        first = ws.recv(timeout=TIMEOUT)
        try:
            asgi = json.loads(first)["asgi"]
        except (ValueError, TypeError, KeyError):
            raise AssertionError(f"the route's first message is not its own: {first!r}") from None
        try:
            message = ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, (
                f"the connection ended without a close frame from the server ({exc})")
            return exc.rcvd, asgi
    raise AssertionError(f"a message instead of the close: {message!r}")


@req("FW-WS-CLOSE-CODE")
@judged
def test_websocket_app_close_code(server):
    """``websocket.close(code=4001, reason="bye")`` reaches the client as code 4001."""
    close, _ = _app_close(server)
    assert close.code == 4001, f"the client got close code {close.code} ({close})"


@req("FW-WS-CLOSE-REASON")
@judged
def test_websocket_app_close_reason(server):
    """The app's close reason "bye" reaches the client with the code. The ``reason`` key
    of ``websocket.close`` came with spec_version 2.3: n/a where the server's WebSocket
    scope says an earlier one (the message says what the client got)."""
    close, asgi = _app_close(server)
    if close.reason != "bye" and _spec_version(asgi) < (2, 3):
        not_applicable(f"the client got close reason {close.reason!r}; the server's WebSocket "
                       f"scope has asgi {asgi} (the close reason came with spec_version 2.3)")
    assert close.reason == "bye", f"the client got close reason {close.reason!r} ({close})"


def _client_close(server: ServerProcess, client: httpx.Client) -> dict[str, Any]:
    """Close with 4002 'done' after an echo, then ask the app what its route saw."""
    key = _key("ws")
    with _websocket(server, f"/ws/watch/{key}") as ws:
        ws.send("ping")
        assert ws.recv(timeout=TIMEOUT) == "ping", "the watch route did not echo"
        ws.close(code=4002, reason="done")
    response = _poll(client, f"/ws/closes/{key}", lambda r: r.status_code != 404)
    assert response.status_code == 200, (
        f"the route saw no disconnect within {POLL:g} s of the client's close:\n"
        f"{_show(response)}")
    record = _json(response)
    assert isinstance(record, dict), _show(response)
    return record


@req("FW-WS-DISCONNECT-CODE")
@judged
def test_websocket_client_close_code(server, client):
    """A client closing with code 4002 shows as WebSocketDisconnect.code 4002 in the
    route, which records it for a follow-up HTTP request."""
    record = _client_close(server, client)
    assert record.get("code") == 4002, f"the route saw {record}"


@req("FW-WS-DISCONNECT-REASON")
@judged
def test_websocket_client_close_reason(server, client):
    """The client's close reason "done" shows as WebSocketDisconnect.reason. The ``reason``
    key of ``websocket.disconnect`` came with spec_version 2.5: n/a where the server's
    WebSocket scope says an earlier one (the message says what the route saw)."""
    record = _client_close(server, client)
    asgi = record.get("asgi")
    if record.get("reason") != "done" and _spec_version(asgi) < (2, 5):
        not_applicable(f"the route saw reason {record.get('reason')!r}; the server's WebSocket "
                       f"scope has asgi {asgi} (the disconnect reason came with spec_version 2.5)")
    assert record.get("reason") == "done", f"the route saw {record}"
