"""ASGI extensions (extensions.rst) and the TLS extension (tls.rst), gated on what the
server advertises in ``scope["extensions"]``: zero-copy send, path send, early hints,
response trailers (with the ``trailers`` key of www.rst), debug, and tls.

An extension the server does not advertise makes its cases n/a, never a fail, with one
exception per extension: the "servers that implement this extension will provide it"
items (EXT-011/016/020/024) check that advertisement and behaviour agree, so a server
that carries out an extension's events without advertising it fails there.

The tls cases start the server with a TLS listener of its own (a self-signed test
certificate, written out at run time) when the harness knows the server's TLS options.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import h11
import pytest

from conformance.probe import Probe
from conformance.rawhttp import MalformedResponse, Response
from conformance.suite._dedicated import (
    Dedicated,
    echoed_scope,
    option_args,
    option_hint,
    suite_spec,
)
from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.testcert import TEST_CERT, TEST_KEY
from conformance.verdicts import NoResponse, not_applicable
from fixtures import typedjson

req = pytest.mark.requirement

ZEROCOPY = "http.response.zerocopysend"
PATHSEND = "http.response.pathsend"
EARLY_HINT = "http.response.early_hint"
TRAILERS = "http.response.trailers"
DEBUG = "http.response.debug"

DATA = bytes(range(256))


def _length(n: int) -> tuple[bytes, bytes]:
    return (b"content-length", str(n).encode())


def _offered(advertised: dict[str, Any]) -> list[str]:
    return list(advertised.get("http.extensions") or [])


def _require(advertised: dict[str, Any], name: str) -> None:
    offered = _offered(advertised)
    if name not in offered:
        not_applicable(f"the server does not advertise {name} (advertised: {offered or 'none'})")


# An extension's cases are n/a at setup when the server does not advertise it.


@pytest.fixture
def needs_zerocopysend(advertised: dict[str, Any]) -> None:
    _require(advertised, ZEROCOPY)


@pytest.fixture
def needs_pathsend(advertised: dict[str, Any]) -> None:
    _require(advertised, PATHSEND)


@pytest.fixture
def needs_early_hint(advertised: dict[str, Any]) -> None:
    _require(advertised, EARLY_HINT)


@pytest.fixture
def needs_trailers(advertised: dict[str, Any]) -> None:
    _require(advertised, TRAILERS)


def _run(probe: Probe, steps: list[list[Any]], *, headers=(), then: bytes = b"",
         timeout: float = 2.0) -> Response:
    """One script request (plus ``then``, pipelined after it), its response read."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="script", args={"steps": steps},
                            headers=headers) + then)
    return probe.read(conn, timeout=timeout)


def _sends(probe: Probe, event_type: str, count: int = 1) -> list[dict[str, Any]]:
    """The recorded outcomes of the app's sends of ``event_type`` (at least ``count``)."""
    call = probe.wait_for(
        f"the app's send of {event_type} returned or raised",
        lambda c: sum(s["event"].get("type") == event_type for s in c.sends) >= count, 2.0)
    return [s for s in call.sends if s["event"].get("type") == event_type]


def _pipelined_echo(probe: Probe) -> tuple[bytes, str]:
    label = f"{probe.id}.next"
    return probe.request("GET", "/next", probe_id=label), label


def _next_response_is_echo(probe: Probe, label: str) -> None:
    """The pipelined request after the case's own was answered on the same connection."""
    conn = probe.connections[-1]
    response = probe.read(conn)
    scope = echoed_scope(response)
    ids = [v for k, v in scope.get("headers", []) if k == b"x-probe-id"]
    assert ids == [label.encode()], (
        f"the next request on the connection was not answered properly: {response.status}")


# --- advertisement agrees with behaviour (EXT-011, 016, 020, 024) ---------------------------


def _judge_advertisement(advertised: dict[str, Any], name: str, works: bool,
                         evidence: str) -> None:
    offered = _offered(advertised)
    if name in offered:
        assert works, f"{name} is advertised but not carried out: {evidence}"
    else:
        assert not works, f"{name} is carried out but not advertised: {evidence}"
        not_applicable(f"the server neither advertises nor implements {name} "
                       f"(advertised: {offered or 'none'})")


@req("EXT-011")
def test_zerocopysend_advertised_when_implemented(probe, advertised):
    """zerocopysend is advertised exactly when the server sends a file given that way."""
    steps = [["receive_body"], ["send", _start(200, [_length(len(DATA))])],
             ["zerocopysend", {"data": DATA}], ["files_check"]]
    try:
        response = _run(probe, steps, timeout=1.0)
        works, evidence = response.body == DATA, f"body {response.body[:40]!r}..."
    except (NoResponse, MalformedResponse) as exc:
        works, evidence = False, str(exc)
    _judge_advertisement(advertised, ZEROCOPY, works, evidence)


@req("EXT-016")
def test_pathsend_advertised_when_implemented(probe, advertised):
    """pathsend is advertised exactly when the server sends a file given by its path."""
    steps = [["receive_body"], ["send", _start(200, [_length(len(DATA))])],
             ["pathsend", {"data": DATA}], ["files_check"]]
    try:
        response = _run(probe, steps, timeout=1.0)
        works, evidence = response.body == DATA, f"body {response.body[:40]!r}..."
    except (NoResponse, MalformedResponse) as exc:
        works, evidence = False, str(exc)
    _judge_advertisement(advertised, PATHSEND, works, evidence)


LINKS = [b"</style.css>; rel=preload; as=style", b"</script.js>; rel=preload; as=script"]


@req("EXT-020")
def test_early_hint_advertised_when_implemented(probe, advertised):
    """A server that advertises early_hint allows early hints: send() accepts one and the
    final response follows (whether a 103 goes out is EXT-021/022: ignoring a hint is
    allowed). A server that does not advertise it sends no 103 (n/a when it sends
    none)."""
    steps = [["receive_body"], ["send", _start(200, [_length(2)])],
             ["send", {"type": EARLY_HINT, "links": LINKS}], ["send", _body(b"ok")]]
    response: Response | None = None
    try:
        response = _run(probe, steps, timeout=1.0)
        hints = [i for i in response.informational if i.status == 103]
        works, evidence = bool(hints), f"informational responses {response.informational}"
    except (NoResponse, MalformedResponse) as exc:
        works, evidence = False, str(exc)
    if EARLY_HINT in _offered(advertised):
        outcome = _sends(probe, EARLY_HINT)[0]
        assert outcome["ok"], (
            f"{EARLY_HINT} is advertised, but send() raised on an early hint: "
            f"{outcome['error']}")
        assert response is not None and response.status == 200 and response.body == b"ok", (
            f"{EARLY_HINT} is advertised, but the response after an early hint broke: "
            f"{evidence}")
        return
    _judge_advertisement(advertised, EARLY_HINT, works, evidence)


def _trailer_steps(trailers: list[list[Any]], declared: bytes = b"x-checksum",
                   pause: float = 0.0, more: list[bool] | None = None) -> list[list[Any]]:
    steps = [["receive_body"], ["send", _start(200, [(b"trailer", declared)], trailers=True)],
             ["send", _body(b"data", more=True)], ["send", _body(b"")]]
    if pause:
        steps.append(["sleep", pause])
    for index, fields in enumerate(trailers):
        event: dict[str, Any] = {"type": TRAILERS, "headers": fields}
        if more is not None:
            event["more_trailers"] = more[index]
        steps.append(["send", event])
    return steps


TE_TRAILERS = [("TE", "trailers")]


@req("EXT-024")
def test_trailers_advertised_when_implemented(probe, advertised):
    """trailers is advertised exactly when the server sends the app's trailer fields to a
    client that said TE: trailers."""
    steps = _trailer_steps([[(b"x-checksum", b"abc")]])
    try:
        response = _run(probe, steps, headers=TE_TRAILERS, timeout=1.0)
        works = (b"x-checksum", b"abc") in response.trailers
        evidence = f"trailers {response.trailers}, raw {response.raw[-80:]!r}"
    except (NoResponse, MalformedResponse) as exc:
        works, evidence = False, str(exc)
    _judge_advertisement(advertised, TRAILERS, works, evidence)


# --- zero-copy send (EXT-012..015) ------------------------------------------------------------


@req("EXT-012")
def test_zerocopysend_mixed_with_body(probe, needs_zerocopysend):
    """Body, zerocopysend, zerocopysend, body: the client gets exactly those bytes in that
    order under the app's Content-Length."""
    first, second = b"A" * 100, b"B" * 50
    total = len(b"head") + len(first) + len(second) + len(b"tail")
    steps = [["receive_body"], ["send", _start(200, [_length(total)])],
             ["send", _body(b"head", more=True)],
             ["zerocopysend", {"data": first, "more_body": True}],
             ["zerocopysend", {"data": second, "more_body": True}],
             ["send", _body(b"tail")], ["files_check"]]
    response = _run(probe, steps)
    assert response.body == b"head" + first + second + b"tail", f"body {response.body!r}"


@req("EXT-013")
@pytest.mark.parametrize(("spec", "expected"), [
    ({"offset": 10, "count": 20}, DATA[10:30]),
    ({"seek": 100}, DATA[100:]),
], ids=["offset-count", "from-position"])
def test_zerocopysend_offset_and_count(probe, needs_zerocopysend, spec, expected):
    """offset and count select the bytes sent; without them the file is sent from its
    current position to its end."""
    steps = [["receive_body"], ["send", _start(200, [_length(len(expected))])],
             ["zerocopysend", {"data": DATA, **spec}], ["files_check"]]
    response = _run(probe, steps)
    assert response.body == expected, f"body {response.body!r}, expected {expected!r}"


@req("EXT-014")
def test_zerocopysend_leaves_file_open(probe, needs_zerocopysend):
    """After the response, the file the app passed is still open: closing it is the app's
    business."""
    steps = [["receive_body"], ["send", _start(200, [_length(len(DATA))])],
             ["zerocopysend", {"data": DATA}], ["files_check"]]
    _run(probe, steps)
    call = probe.wait_for("the app checked its file", lambda c: c.has("files"), 2.0)
    files = next(r.data["files"] for r in call.records if r.kind == "files")
    assert files and all(f["open"] for f in files), f"the app's files after the send: {files}"


@req("EXT-015")
@pytest.mark.parametrize("more_body", ["false", "missing"])
def test_zerocopysend_completes_response(probe, needs_zerocopysend, more_body):
    """A zerocopysend with more_body False (or without the key) completes the response,
    whose framing the server chose, and the connection serves the next request."""
    spec: dict[str, Any] = {"data": DATA}
    if more_body == "false":
        spec["more_body"] = False
    steps = [["receive_body"], ["send", _start(200)], ["zerocopysend", spec], ["files_check"]]
    following, label = _pipelined_echo(probe)
    response = _run(probe, steps, then=following)
    assert response.body == DATA, f"body {response.body!r}"
    _next_response_is_echo(probe, label)


# --- path send (EXT-017..019) -----------------------------------------------------------------


@req("EXT-017")
def test_pathsend_sends_the_file(probe, needs_pathsend):
    """pathsend of a file: exactly its bytes, a complete response, and the connection
    serves the next request."""
    steps = [["receive_body"],
             ["send", _start(200, [(b"content-type", b"application/octet-stream"),
                                   _length(len(DATA))])],
             ["pathsend", {"data": DATA}], ["files_check"]]
    following, label = _pipelined_echo(probe)
    response = _run(probe, steps, then=following)
    assert response.body == DATA, f"body {response.body!r}"
    _next_response_is_echo(probe, label)


@req("EXT-018")
def test_pathsend_after_body_raises(probe, needs_pathsend):
    """pathsend cannot be mixed with body events: after a body chunk, send() raises and the
    response carries only the body bytes."""
    steps = [["receive_body"], ["send", _start(200)], ["send", _body(b"abc", more=True)],
             ["pathsend", {"data": DATA}], ["send", _body(b"")], ["files_check"]]
    try:
        response: Response | None = _run(probe, steps, timeout=1.0)
    except (NoResponse, MalformedResponse):
        response = None  # a broken-off response leaks nothing either
    assert response is None or DATA not in response.body, "the file went out after a body"
    outcome = _sends(probe, PATHSEND)[0]
    assert not outcome["ok"], "send() accepted pathsend after a body chunk"


@req("EXT-018")
def test_second_pathsend_leaves_wire_intact(probe, needs_pathsend):
    """pathsend can be called once per response: a second one does not reach the wire and
    the next request on the connection is served intact. Raising or ignoring it are both
    accepted: the first pathsend completed the response, after which further messages
    "will be ignored" (www.rst 236-238)."""
    steps = [["receive_body"], ["send", _start(200, [_length(len(DATA))])],
             ["pathsend", {"data": DATA}], ["pathsend", {"data": b"SECOND"}], ["files_check"]]
    following, label = _pipelined_echo(probe)
    response = _run(probe, steps, then=following)
    assert response.body == DATA, f"body {response.body!r}"
    outcomes = _sends(probe, PATHSEND, 2)
    _next_response_is_echo(probe, label)
    assert b"SECOND" not in probe.connections[-1].received_bytes(), "the second file went out"
    probe.notes.append(f"second pathsend: {'accepted' if outcomes[1]['ok'] else 'raised'}")


@req("EXT-019")
def test_pathsend_keeps_app_headers(probe, needs_pathsend):
    """The app's headers for a pathsend go out as given, with exactly one Content-Length."""
    headers = [(b"content-type", b"application/x-probe"), _length(len(DATA)),
               (b"x-app", b"kept")]
    steps = [["receive_body"], ["send", _start(200, headers)], ["pathsend", {"data": DATA}],
             ["files_check"]]
    response = _run(probe, steps)
    assert response.header_values(b"content-length") == [str(len(DATA)).encode()], (
        f"Content-Length on the wire: {response.header_values(b'content-length')}")
    assert response.header_values(b"content-type") == [b"application/x-probe"]
    assert response.header_values(b"x-app") == [b"kept"]


# --- early hints (EXT-021..023) ---------------------------------------------------------------


@req("EXT-021")
def test_early_hint_sent_as_103(probe, needs_early_hint):
    """An early hint goes out as a 103 carrying each link as a Link header, before the
    final response. (Ignoring it is allowed, EXT-022, so a missing 103 is non-strict.)"""
    steps = [["receive_body"], ["send", _start(200, [_length(2)])],
             ["send", {"type": EARLY_HINT, "links": LINKS}], ["send", _body(b"ok")]]
    response = _run(probe, steps)
    hints = [i for i in response.informational if i.status == 103]
    assert hints, f"no 103 before the final response; received {response.raw[:300]!r}"
    links = [v for k, v in hints[0].headers if k == b"link"]
    joined = b", ".join(links)
    assert all(link in joined for link in LINKS), f"103 Link headers: {links}"
    assert response.status == 200 and response.body == b"ok"


@req("EXT-022")
def test_early_hint_accepted(probe, needs_early_hint):
    """An advertised early hint never makes send() raise, whether the server sends the
    103 or ignores it."""
    steps = [["receive_body"], ["send", _start(200, [_length(2)])],
             ["send", {"type": EARLY_HINT, "links": LINKS[:1]}], ["send", _body(b"ok")]]
    _run(probe, steps)
    outcome = _sends(probe, EARLY_HINT)[0]
    assert outcome["ok"], f"send() raised on an advertised early hint: {outcome['error']}"


@req("EXT-023")
def test_two_early_hints_after_start(probe, needs_early_hint):
    """Early hints may come after the response start, several times: both sends succeed
    and the final response follows. (Whether a hint before the start is accepted is
    recorded only: the text and HTTP disagree, checklist I-6.)"""
    steps = [["receive_body"], ["send", _start(200, [_length(2)])],
             ["send", {"type": EARLY_HINT, "links": LINKS[:1]}],
             ["send", {"type": EARLY_HINT, "links": LINKS[1:]}], ["send", _body(b"ok")]]
    response = _run(probe, steps)
    outcomes = _sends(probe, EARLY_HINT, 2)
    raised = [o["error"] for o in outcomes if not o["ok"]]
    assert not raised, f"send() raised on an early hint after the start: {raised}"
    assert response.status == 200 and response.body == b"ok"


# --- trailers (HTTP-037, EXT-025..028) --------------------------------------------------------


def _final_body_sent(probe: Probe) -> float:
    """When the app's final body send() returned (the trailers follow 0.5 s later)."""
    call = probe.wait_for("the app sent its trailers",
                          lambda c: any(s["event"].get("type") == TRAILERS for s in c.sends),
                          1.0)
    return [r.t for r in call.records if r.kind == "send"
            and r.data["event"].get("type") == "http.response.body"][-1]


def _arrival_of_end(conn) -> float | None:
    """When the last received bytes (the end of the chunked body) arrived."""
    times = [t for kind, t, _ in conn.transcript if kind == "recv"]
    return times[-1] if times else None


@req("HTTP-037")
def test_response_ends_at_final_body_without_trailers(probe, needs_trailers):
    """With trailers False in the start, the response is complete at the final body,
    though the app keeps running for 2 s."""
    steps = [["receive_body"], ["send", _start(200, trailers=False)],
             ["send", _body(b"done", more=True)], ["send", _body(b"")], ["sleep", 2.0]]
    response = _run(probe, steps, timeout=1.0)
    assert response.body == b"done" and not response.trailers


@req("HTTP-037")
def test_response_waits_for_trailers_message(probe, needs_trailers):
    """With trailers True (and a client that said TE: trailers), the server waits for the
    http.response.trailers message, sent 0.5 s after the final body, before it ends the
    response."""
    steps = _trailer_steps([[(b"x-checksum", b"abc")]], pause=0.5)
    response = _run(probe, steps, headers=TE_TRAILERS)
    body_end = _final_body_sent(probe)
    ended = _arrival_of_end(probe.connections[-1])
    assert ended is not None and ended >= body_end + 0.4, (
        f"the response ended {0 if ended is None else ended - body_end:.3f} s after the "
        f"final body, before the trailers message (sent 0.5 s after it); raw end "
        f"{response.raw[-60:]!r}")


@req("EXT-025")
def test_trailers_sent_after_trailers_message(probe, needs_trailers):
    """With TE: trailers, the app's trailer fields end the chunked body after the data."""
    steps = _trailer_steps([[(b"x-checksum", b"abc")]])
    response = _run(probe, steps, headers=TE_TRAILERS)
    assert response.framing == "chunked", f"framing {response.framing}"
    assert response.body == b"data", f"body {response.body!r}"
    assert (b"x-checksum", b"abc") in response.trailers, f"trailers {response.trailers}"


@req("EXT-026")
def test_no_trailers_without_te(probe, needs_trailers):
    """Without TE: trailers in the request, no trailer fields are sent, and the app's
    trailers message is still accepted. (Whether the server ends the response at the
    final body or at the trailers message is not judged here: it sends no trailers.)"""
    response = _run(probe, _trailer_steps([[(b"x-checksum", b"abc")]]))
    assert not response.trailers, f"trailers sent without TE: trailers: {response.trailers}"
    assert response.body == b"data"
    outcome = _sends(probe, TRAILERS)[0]
    assert outcome["ok"], f"send() raised on the trailers message: {outcome['error']}"


@req("EXT-027")
def test_trailers_in_two_messages(probe, needs_trailers):
    """Trailers sent as two messages (more_trailers True, then False) all go out."""
    steps = _trailer_steps([[(b"x-a", b"1")], [(b"x-b", b"2")]], declared=b"x-a, x-b",
                           more=[True, False])
    response = _run(probe, steps, headers=TE_TRAILERS)
    assert (b"x-a", b"1") in response.trailers and (b"x-b", b"2") in response.trailers, (
        f"trailers {response.trailers}")


@req("EXT-028")
def test_undeclared_trailer_accepted(probe, needs_trailers):
    """A trailer field the Trailer header did not declare: the server need not validate,
    so send() does not raise (sending the field or dropping it are both fine)."""
    steps = _trailer_steps([[(b"x-checksum", b"abc"), (b"x-undeclared", b"1")]])
    response = _run(probe, steps, headers=TE_TRAILERS)
    outcome = _sends(probe, TRAILERS)[0]
    assert outcome["ok"], f"send() raised on an undeclared trailer: {outcome['error']}"
    probe.notes.append(f"trailers on the wire: {response.trailers}")


# --- debug (EXT-037) and tls on plain connections (EXT-029) -------------------------------------


@req("EXT-037")
def test_debug_extension_not_advertised(server, advertised):
    """http.response.debug, meant for test clients, is not advertised by a server."""
    assert DEBUG not in _offered(advertised), f"advertised: {_offered(advertised)}"


@req("EXT-029")
def test_no_tls_extension_on_plain_http(probe):
    """A plain-HTTP request's scope does not carry the tls extension."""
    _, call = probe.get("/")
    extensions = call.scope.get("extensions") or {}
    assert "tls" not in extensions, f"tls advertised on plain HTTP: {extensions.get('tls')!r}"


# --- tls over a TLS listener (EXT-030..035, HTTP-006) -------------------------------------------

# IANA numbers of the suites the TLS cases can negotiate (RFC 8446 B.4, RFC 8422, 7905).
CIPHER_SUITES = {
    "TLS_AES_128_GCM_SHA256": 0x1301,
    "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "ECDHE-ECDSA-AES128-GCM-SHA256": 0xC02B,
    "ECDHE-ECDSA-AES256-GCM-SHA384": 0xC02C,
    "ECDHE-ECDSA-CHACHA20-POLY1305": 0xCCA9,
}
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


@pytest.fixture(scope="module")
def tls_server(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dedicated | str]:
    """The server under test with a TLS listener, or why there is none."""
    spec = suite_spec(request.config)
    workdir = tmp_path_factory.mktemp("tls")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    cert.write_text(TEST_CERT)
    key.write_text(TEST_KEY)
    args = option_args(spec, "tls", cert=str(cert), key=str(key))
    if args is None:
        yield (f"needs a TLS listener, and the harness knows no TLS options for server "
               f"{spec.name!r}{option_hint('tls')}")
        return
    dedicated = Dedicated(spec, "fixtures.probe:app", workdir, args=args)
    if not dedicated.start():
        yield f"the server did not start with a TLS listener: {dedicated.start_error}"
        return
    yield dedicated
    dedicated.stop()


def _tls_exchange(server: Dedicated, version: str = "TLSv1.3",
                  ciphers: str | None = None) -> tuple[dict[str, Any], str | None]:
    """A GET over TLS pinned to ``version``: the scope the probe echoed, and the name of
    the cipher suite the client negotiated."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=TEST_CERT)
    context.minimum_version = context.maximum_version = getattr(
        ssl.TLSVersion, version.replace(".", "_"))
    if ciphers:
        context.set_ciphers(ciphers)
    probe = server.probe(f"tls-{time.monotonic_ns()}")
    request = probe.request("GET", "/", headers=[("Connection", "close")])
    raw = socket.create_connection((server.host, server.port), timeout=3.0)
    try:
        sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        not_applicable(f"the server's TLS listener refused a {version} handshake ({exc}); "
                       "that is its TLS configuration, not the ASGI extension")
    with sock:
        negotiated = sock.cipher()
        sock.sendall(request)
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        body = b""
        status = None
        deadline = time.monotonic() + 3.0
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                if time.monotonic() > deadline:
                    raise NoResponse("no complete response over TLS in 3 s")
                client.receive_data(sock.recv(65536))
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        assert status == 200, f"GET over TLS got {status}: {body[:200]!r}"
        return typedjson.loads(body)["scope"], negotiated[0] if negotiated else None


def _tls_scope(server: Dedicated | str, **kwargs: Any) -> tuple[dict[str, Any], str | None]:
    if isinstance(server, str):
        not_applicable(server)
    return _tls_exchange(server, **kwargs)


def _tls_extension(scope: dict[str, Any]) -> dict[str, Any]:
    tls = (scope.get("extensions") or {}).get("tls")
    if tls is None:
        not_applicable("the server does not advertise the tls extension on its TLS listener "
                       f"(extensions: {sorted(scope.get('extensions') or {})})")
    assert isinstance(tls, dict), f"extensions['tls'] is {tls!r}"
    return tls


@req("HTTP-006")
def test_scheme_is_https_over_tls(server, tls_server):
    """Over a TLS connection, scheme is "https"."""
    scope, _ = _tls_scope(tls_server)
    assert scope.get("scheme") == "https", f"scheme is {scope.get('scheme')!r}"


@req("EXT-030")
def test_tls_server_cert(server, tls_server):
    """server_cert is the PEM of the certificate the server presented; n/a when None (a
    server unable to provide it)."""
    scope, _ = _tls_scope(tls_server)
    tls = _tls_extension(scope)
    assert "server_cert" in tls, f"server_cert missing: {sorted(tls)}"
    value = tls["server_cert"]
    if value is None:
        not_applicable("server_cert is None: the server is unable to provide it (tls.rst: "
                       "\"in that case this shall be None\")")
    assert isinstance(value, str), f"server_cert is {type(value).__name__}"
    assert ssl.PEM_cert_to_DER_cert(value.strip() + "\n") == ssl.PEM_cert_to_DER_cert(
        TEST_CERT), f"server_cert is not the configured certificate: {value[:120]!r}..."


@req("EXT-031")
@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_tls_version(server, tls_server, version):
    """tls_version is the negotiated version as an int: 0x0304 for TLS 1.3, 0x0303 for
    TLS 1.2 (a listener that refuses TLS 1.2 makes that variant n/a)."""
    tls = _tls_extension(_tls_scope(tls_server, version=version)[0])
    assert "tls_version" in tls, f"tls_version missing: {sorted(tls)}"
    assert type(tls["tls_version"]) is int and tls["tls_version"] == TLS_VERSIONS[version], (
        f"tls_version {tls['tls_version']!r} over {version}")


@req("EXT-032")
@pytest.mark.parametrize(("version", "ciphers"), [
    ("TLSv1.3", None), ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")])
def test_tls_cipher_suite(server, tls_server, version, ciphers):
    """cipher_suite is the negotiated suite's 16-bit IANA number as an int."""
    scope, name = _tls_scope(tls_server, version=version, ciphers=ciphers)
    tls = _tls_extension(scope)
    if name not in CIPHER_SUITES:
        not_applicable(f"the harness does not know the number of suite {name!r}")
    assert "cipher_suite" in tls, f"cipher_suite missing: {sorted(tls)}"
    assert type(tls["cipher_suite"]) is int and tls["cipher_suite"] == CIPHER_SUITES[name], (
        f"cipher_suite {tls['cipher_suite']!r}, negotiated {name} "
        f"({CIPHER_SUITES[name]:#06x})")


@req("EXT-033")
def test_tls_no_client_cert_chain(server, tls_server):
    """Without a client certificate, client_cert_chain is empty (or absent)."""
    tls = _tls_extension(_tls_scope(tls_server)[0])
    chain = tls.get("client_cert_chain", [])
    assert isinstance(chain, list | tuple) and len(chain) == 0, f"client_cert_chain {chain!r}"


@req("EXT-034")
def test_tls_no_client_cert_name(server, tls_server):
    """Without a client certificate, client_cert_name is None (or absent)."""
    tls = _tls_extension(_tls_scope(tls_server)[0])
    assert tls.get("client_cert_name") is None, f"client_cert_name {tls['client_cert_name']!r}"


@req("EXT-035")
def test_tls_no_client_cert_error(server, tls_server):
    """Without a client certificate, client_cert_error is None (or absent)."""
    tls = _tls_extension(_tls_scope(tls_server)[0])
    assert tls.get("client_cert_error") is None, (
        f"client_cert_error {tls['client_cert_error']!r}")
