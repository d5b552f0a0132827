"""The fuzzing client's opening handshake (RFC 6455 §4.1, the client's side).

Autobahn's client opens each case's connection itself and fails the case when the 101
is not what a client must accept: the status, ``Sec-WebSocket-Accept`` for the key sent,
``Upgrade: websocket``, ``Connection: Upgrade``, no subprotocol (none was offered) and no
extension it did not offer. For categories 12 and 13 it offers permessage-deflate and
checks the server's answer to the offer (:mod:`conformance.autobahn.deflate`).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass

from conformance.autobahn.deflate import (
    Agreement,
    NegotiationError,
    accept_response,
    offer_header,
)
from conformance.autobahn.model import Case
from conformance.rawws import MalformedFrame, RawWebSocket, accept_key
from conformance.verdicts import NoResponse

__all__ = ["HandshakeFailed", "Opened", "open_handshake"]


class HandshakeFailed(Exception):
    """The opening handshake did not complete as a client must accept; says why."""


@dataclass(frozen=True)
class Opened:
    """A completed opening handshake."""

    agent: str
    """The server's ``Server`` header (Autobahn reports it as the agent)."""
    agreement: Agreement | None
    """The permessage-deflate agreement, None when none was offered or accepted."""


def open_handshake(conn: RawWebSocket, case: Case, timeout: float,
                   log: Callable[[str], None]) -> Opened:
    """Send the opening handshake for ``case`` on ``conn`` and check the 101 answer.

    Raises :class:`HandshakeFailed` when the server does not answer in ``timeout`` s or
    answers with anything a client must refuse (every problem found is named)."""
    key = base64.b64encode(os.urandom(16))
    extensions = offer_header(case.deflate) if case.deflate else None
    if extensions:
        log(f"TX handshake offering Sec-WebSocket-Extensions: {extensions.decode()}")
    try:
        shake = conn.open("/", key=key, extensions=extensions, timeout=timeout)
    except (NoResponse, MalformedFrame) as exc:
        raise HandshakeFailed(str(exc)) from exc
    agent = (shake.header(b"server") or b"").decode("latin-1")
    if shake.status != 101:
        raise HandshakeFailed(f"status {shake.status} instead of 101")
    problems = []
    if shake.header(b"sec-websocket-accept") != accept_key(key):
        problems.append("Sec-WebSocket-Accept does not match the key (§4.2.2)")
    if b"websocket" not in (shake.header(b"upgrade") or b"").lower():
        problems.append("no Upgrade: websocket")
    if b"upgrade" not in (shake.header(b"connection") or b"").lower():
        problems.append("no Connection: Upgrade")
    if shake.header(b"sec-websocket-protocol") is not None:
        problems.append("a subprotocol was selected though none was offered (§4.1)")
    try:
        agreement = accept_response(case.deflate,
                                    shake.header_values(b"sec-websocket-extensions"))
    except NegotiationError as exc:
        problems.append(str(exc))
        agreement = None
    if problems:
        raise HandshakeFailed("; ".join(problems))
    return Opened(agent, agreement)
