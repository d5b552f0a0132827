"""The WebSocket opening handshake, server side (RFC 6455 §4.2, §4.4, §9.1; RFC 7692 §7.1
for permessage-deflate): the 101 a good handshake gets, the refusal a bad one gets, and
subprotocol and extension negotiation. Each request carries the probe headers, so every
case also sees whether, and as what, the handshake reached the app: a refused handshake
must never reach it as a websocket connection.

What "refused" may look like. RFC 6455 §4.2.1 says a server that finds the handshake
malformed "MUST stop processing the client's handshake and return an HTTP response with an
appropriate error code (such as 400 Bad Request)". RFC 9110 §7.8 lets a server ignore an
Upgrade it does not want ("A server MAY ignore a received Upgrade header field") and
requires it for HTTP/1.0 ("A server MUST ignore an Upgrade header field that is received
in an HTTP/1.0 request"). So a server that serves a bad handshake as a plain HTTP request
through the app (an ``http`` scope, a 2xx) has completed nothing, but has not returned
the error §4.2.1 asks for either: that is non-strict, except where the request was never
a WebSocket upgrade to begin with (HTTP/1.0, no ``Upgrade: websocket``), where serving it
as HTTP is exactly right. A 101, or a ``websocket`` scope, always fails.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from conformance.autobahn.deflate import parse_extensions
from conformance.rawws import accept_key, new_key
from conformance.suite._ws import (
    WAIT,
    accepted,
    app_scope_types,
    expect_101,
    open_ws,
    send_handshake,
)
from conformance.verdicts import NoResponse, non_strict

req = pytest.mark.requirement


# --- the 101 ---------------------------------------------------------------------------------


@req("RFC6455-4.2.2-1")
def test_101_headers(probe):
    """The 101 has Upgrade: websocket, Connection: Upgrade and the right Accept."""
    key = new_key()
    _ws, handshake = open_ws(probe, key=key)
    expect_101(handshake)
    assert (handshake.header(b"upgrade") or b"").lower() == b"websocket", handshake.head
    tokens = [t.strip().lower() for t in (handshake.header(b"connection") or b"").split(b",")]
    assert b"upgrade" in tokens, handshake.head
    assert handshake.header(b"sec-websocket-accept") == accept_key(key), handshake.head


@req("RFC6455-4.2.1-2")
@pytest.mark.parametrize(("upgrade", "connection", "headers"), [
    (b"WebSocket", b"Upgrade", []),
    (b"websocket", b"keep-alive, Upgrade", []),
    (b"websocket", b"UPGRADE", []),
    (None, None, [(b"upgrade", b"WebSocket"), (b"connection", b"upgrade")]),
    (b"websocket", b"keep-alive", [(b"Connection", b"Upgrade")]),
], ids=["upgrade-case", "connection-list", "connection-case", "lowercase-names",
        "connection-two-lines"])
def test_tokens_case_insensitive_and_in_lists(probe, upgrade, connection, headers):
    """Upgrade/Connection tokens match case-insensitively and inside lists, header names
    case-insensitively, and a Connection list split over two lines counts as one list
    (RFC 9110 §5.3)."""
    _ws, handshake = open_ws(probe, upgrade=upgrade, connection=connection, headers=headers)
    expect_101(handshake)


# --- refusals --------------------------------------------------------------------------------

BAD_HANDSHAKES: dict[str, dict[str, Any]] = {
    "no-key": {"key": None},
    "short-key": {"key": base64.b64encode(b"12345678")},
    "long-key": {"key": base64.b64encode(b"0123456789abcdefXYZW")},
    "key-not-base64": {"key": b"not base64 at all!!!!!=="},
    # §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than once in an
    # HTTP request": which key would the accept hash answer?
    "two-keys": {"headers": [(b"Sec-WebSocket-Key", new_key())]},
    "no-version": {"version": None},
    "post": {"method": b"POST"},
    "http10": {"http_version": b"HTTP/1.0"},
    "no-host": {"host": None},
    "no-connection-upgrade": {"connection": b"keep-alive"},
    "no-upgrade": {"upgrade": None},
    "upgrade-not-websocket": {"upgrade": b"x-probe-protocol"},
}
NOT_AN_UPGRADE = {
    "http10": "RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request",
    "no-upgrade": "there is no Upgrade header, so nothing asks for a WebSocket",
    "upgrade-not-websocket": "Upgrade does not ask for websocket, and RFC 9110 §7.8 lets a "
                             "server ignore an Upgrade it does not support",
}


@req("RFC6455-4.2.1-1")
@pytest.mark.parametrize("fault", BAD_HANDSHAKES)
def test_bad_handshake_refused(probe, fault):
    """A malformed opening handshake gets no 101 and never reaches the app as a websocket
    connection; a 4xx passes, being served as plain HTTP is non-strict (see the module
    docstring) unless the request was no WebSocket upgrade at all."""
    options = dict(BAD_HANDSHAKES[fault])
    key = options.pop("key", new_key())
    _ws, handshake = send_handshake(probe, key=key, **options)
    assert handshake.status != 101, f"the {fault} handshake was completed"
    kinds = app_scope_types(probe)
    assert "websocket" not in kinds, f"the {fault} handshake reached the app as a websocket"
    if handshake.status < 400 and fault not in NOT_AN_UPGRADE:
        non_strict(f"the {fault} handshake was served as plain HTTP ({handshake.status}, app "
                   f"scope {kinds}) instead of refused with a 4xx: RFC 9110 §7.8 says \"A "
                   f"server MAY ignore a received Upgrade header field\", and ignoring it "
                   f"completed no handshake")


REGISTERED_DRAFT_VERSIONS = {b"8"}
"""Versions IANA registered for drafts of RFC 6455 whose framing is RFC 6455's (hybi-08):
a server may understand them besides 13."""


@req("RFC6455-4.2.2-2")
@pytest.mark.parametrize("version", [b"8", b"14"])
def test_wrong_version_names_13(probe, version):
    """A version other than 13: a 4xx with a Sec-WebSocket-Version header naming 13, and
    the app never sees a websocket connection. §4.2.2 suggests 426 ("such as 426 Upgrade
    Required") and §4.4's own example answers 400 Bad Request, so any 4xx passes. The MUST
    applies to a version the server does not understand: §4.4 lets a server support
    several, so accepting 8 (a registered draft version, framed as 13 is) is non-strict;
    no version 14 exists, so accepting it fails."""
    _ws, handshake = open_ws(probe, version=version)
    if handshake.status == 101 and version in REGISTERED_DRAFT_VERSIONS:
        non_strict(
            f"version {version.decode()} was accepted (101): RFC 6455 §4.2.2 requires the "
            f"refusal only \"if this version does not match a version understood by the "
            f"server\", and §4.4 has a server that supports the requested version accept "
            f"it; version 8 is a registered draft version")
    assert handshake.status != 101, f"version {version!r} was accepted"
    kinds = app_scope_types(probe)
    assert "websocket" not in kinds, f"version {version!r} reached the app as a websocket"
    assert 400 <= handshake.status < 500, f"version {version!r} got {handshake.status} " \
        f"(app scope {kinds})"
    assert handshake.response is not None
    supported = [v for n, v in handshake.response.headers if n.lower() == b"sec-websocket-version"]
    assert supported and b"13" in b",".join(supported), \
        f"no Sec-WebSocket-Version: 13 in the {handshake.status}: {handshake.response.raw[:300]!r}"


# --- subprotocols ----------------------------------------------------------------------------


@req("RFC6455-4.2.2-3")
def test_one_subprotocol_from_several_headers(probe):
    """With subprotocols offered over two header lines, the 101 names only the chosen one."""
    _ws, handshake = open_ws(probe, accepted({"subprotocol": "b"}), subprotocols=["a"],
                             headers=[(b"Sec-WebSocket-Protocol", b"b, c")])
    expect_101(handshake)
    values = handshake.header_values(b"sec-websocket-protocol")
    assert values == [b"b"], f"Sec-WebSocket-Protocol in the 101: {values!r}"


@req("RFC6455-4.2.2-4")
@pytest.mark.parametrize("offered", [["chat"], []], ids=["other-offered", "none-offered"])
def test_unoffered_subprotocol_not_sent(probe, offered):
    """The app accepts with a subprotocol the client did not offer. The 101 must not name
    it (§4.1: the client would have to fail the connection): the server may refuse the
    accept (send raises, no 101) or drop the subprotocol. Naming it is non-strict, since
    ASGI leaves the choice to the app and the server only passed it on."""
    try:
        _ws, handshake = open_ws(probe, accepted({"subprotocol": "rogue"}),
                                 subprotocols=offered, timeout=WAIT)
    except NoResponse:
        if probe.connections[-1].peer_closed is None:
            raise
        return  # refused by closing the connection: nothing was named
    values = handshake.header_values(b"sec-websocket-protocol") \
        if handshake.status == 101 else []
    assert b"rogue" not in b",".join(values), \
        f"the 101 names a subprotocol the client never offered (offered {offered}): " \
        f"{handshake.head!r}"


# --- extensions ------------------------------------------------------------------------------


@req("RFC6455-9.1-1")
@pytest.mark.parametrize("offer", [b"x-unknown-extension", b"permessage-deflate"])
def test_only_offered_extensions(probe, offer):
    """Extensions in the 101 are only ones the client offered."""
    _ws, handshake = open_ws(probe, extensions=offer)
    expect_101(handshake)
    answered = b",".join(handshake.header_values(b"sec-websocket-extensions"))
    names = {part.split(b";")[0].strip() for part in answered.split(b",") if part.strip()}
    assert names <= {offer} and b"x-unknown-extension" not in names, \
        f"offered {offer!r}, the 101 lists {answered!r}"


DEFLATE_OFFERS = {
    "bare": b"permessage-deflate",
    "client-bits": b"permessage-deflate; client_max_window_bits",
    "server-bits-10": b"permessage-deflate; server_max_window_bits=10",
    "server-no-context": b"permessage-deflate; server_no_context_takeover",
}
_PARAMS = {"server_no_context_takeover", "client_no_context_takeover",
           "server_max_window_bits", "client_max_window_bits"}


def deflate_answer_problems(offer: bytes, values: list[bytes]) -> list[str]:
    """What is wrong with a 101's Sec-WebSocket-Extensions answer to one
    permessage-deflate ``offer`` (RFC 7692 §7.1); [] for a valid acceptance or none."""
    answer = parse_extensions(values)
    if not answer:
        return []
    if len(answer) != 1 or answer[0][0] != "permessage-deflate":
        return [f"the answer is not one permessage-deflate element: {answer}"]
    offered = dict(parse_extensions([offer])[0][1])
    problems = []
    seen: set[str] = set()
    for name, value in answer[0][1]:
        if name in seen:
            problems.append(f"{name} twice (§7.1)")
        seen.add(name)
        if name not in _PARAMS:
            problems.append(f"unknown parameter {name} (§7.1)")
        elif name.endswith("context_takeover"):
            if value is not None:
                problems.append(f"{name}={value} takes no value (§7.1.1)")
        elif value is None or not value.isdigit() or not 8 <= int(value) <= 15:
            problems.append(f"{name}={value!r} is not a window of 8..15 bits (§7.1.2)")
        elif name == "server_max_window_bits" and "server_max_window_bits" in offered \
                and int(value) > int(offered["server_max_window_bits"] or 15):
            problems.append(f"{name}={value} is larger than offered (§7.1.2.1)")
    if "client_max_window_bits" in seen and "client_max_window_bits" not in offered:
        problems.append("client_max_window_bits without the client offering it (§7.1.2.2)")
    for requested in ("server_no_context_takeover", "server_max_window_bits"):
        if requested in offered and requested not in seen:
            problems.append(f"the offer's {requested} is not granted, yet the offer was "
                            "accepted (§7.1.1.1, §7.1.2.1: decline it instead)")
    return problems


@req("RFC7692-7.1-1")
@pytest.mark.parametrize("offer", DEFLATE_OFFERS)
def test_permessage_deflate_acceptance_fits_offer(probe, offer):
    """A permessage-deflate offer gets a valid acceptance or none: one element, known
    parameters once each, windows 8..15, client_max_window_bits only when offered, a
    requested server_no_context_takeover or server_max_window_bits granted."""
    _ws, handshake = open_ws(probe, extensions=DEFLATE_OFFERS[offer])
    expect_101(handshake)
    values = handshake.header_values(b"sec-websocket-extensions")
    problems = deflate_answer_problems(DEFLATE_OFFERS[offer], values)
    assert not problems, f"offered {DEFLATE_OFFERS[offer]!r}, the 101 answers {values!r}: " \
        + "; ".join(problems)
