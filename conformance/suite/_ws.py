"""Shared helpers of the WebSocket cases (``test_websocket_asgi.py``,
``test_ws_handshake.py``): opening a raw WebSocket to the probe app with a script of
steps, the spec_version gate, and "the app never saw a websocket connection".

Every socket is registered on the probe (``probe.connections``), so its transcript (the
handshake bytes and every frame both ways) is the case's evidence in the report.
"""

from __future__ import annotations

from typing import Any

from conformance.checks import version_tuple
from conformance.probe import CallView, Probe
from conformance.rawws import Handshake, RawWebSocket, handshake_request, new_key
from conformance.suite._wire import CLOSE_BOUND, LATE_CALL_GRACE
from conformance.verdicts import not_applicable

WAIT = 1.0
"""Bound on anything a conforming server does at once."""

Steps = list[list[Any]]


def _connect(probe: Probe, steps: Steps | None, probe_id: str | None,
             options: dict[str, Any]) -> tuple[RawWebSocket, list[tuple[bytes, bytes]]]:
    """A raw socket registered on the probe (so it is evidence), the probe headers that
    run ``steps`` (the echo scenario without), and the Host default in ``options``."""
    ws = RawWebSocket(probe.host, probe.port, timeout=2.0)
    probe.connections.append(ws)
    scenario = probe.probe_headers("script", {"steps": steps}, probe_id=probe_id) \
        if steps is not None else probe.probe_headers(probe_id=probe_id)
    options.setdefault("host", f"{probe.host}:{probe.port}".encode())
    return ws, scenario


def open_ws(probe: Probe, steps: Steps | None = None, *, path: str = "/",
            headers: list[tuple[bytes, bytes]] | None = None, probe_id: str | None = None,
            **options: Any) -> tuple[RawWebSocket, Handshake]:
    """Open a WebSocket to the probe app running ``steps`` (the echo scenario without);
    ``options`` are :func:`~conformance.rawws.handshake_request`'s."""
    ws, scenario = _connect(probe, steps, probe_id, options)
    handshake = ws.open(path, headers=[*scenario, *(headers or [])], **options)
    return ws, handshake


def send_handshake(probe: Probe, steps: Steps | None = None, *,
                   key: bytes | None = None, **options: Any) -> tuple[RawWebSocket, Handshake]:
    """Like :func:`open_ws`, but the request is exactly what ``options`` say: ``key``
    None leaves the Sec-WebSocket-Key out (``open_ws`` always sends one)."""
    ws, scenario = _connect(probe, steps, None, options)
    extra = options.pop("headers", [])
    ws.send(handshake_request("/", key=key, headers=[*scenario, *extra], **options))
    return ws, ws.read_handshake(2.0)


def accepted(event: dict[str, Any] | None = None) -> Steps:
    """Steps: receive the connect, then accept (with ``event``'s extra keys)."""
    return [["receive", 2.0], ["send", {"type": "websocket.accept", **(event or {})}]]


def expect_101(handshake: Handshake) -> None:
    if handshake.status != 101:
        body = handshake.response.raw[:300] if handshake.response else b""
        raise AssertionError(f"the handshake got {handshake.status}, not 101: {body!r}")


def spec_version(view: CallView) -> tuple[int, int]:
    """The websocket scope's spec_version; absent or unreadable counts as "2.0"."""
    value = (view.scope.get("asgi") or {}).get("spec_version") or "2.0"
    try:
        return version_tuple(".".join(str(value).split(".")[:2]))
    except ValueError:
        return (2, 0)


def require_version(view: CallView, needed: tuple[int, int]) -> None:
    """n/a when the websocket scope advertises a spec_version below ``needed`` (an absent
    one means "2.0", www.rst 304-306)."""
    if spec_version(view) < needed:
        advertised = (view.scope.get("asgi") or {}).get("spec_version")
        not_applicable(f"needs spec_version {needed[0]}.{needed[1]}; the websocket scope "
                       f"advertises {advertised!r}")


def events_of(view: CallView, kind: str) -> list[dict[str, Any]]:
    return [e for e in view.received if isinstance(e, dict) and e.get("type") == kind]


def app_scope_types(probe: Probe, probe_id: str | None = None) -> list[str | None]:
    """The scope types of every call the app recorded for this case (``probe_id``), after
    a short grace: used once the server has answered, to show a refused handshake never
    reached the app (``"websocket"``) or was served as plain HTTP (``"http"``)."""
    _ok, records = probe.log.wait(probe_id or probe.id,
                                  lambda rs: any(r.kind == "call" for r in rs), LATE_CALL_GRACE)
    return [r.data["scope"].get("type") for r in records if r.kind == "call"]


__all__ = ["CLOSE_BOUND", "LATE_CALL_GRACE", "WAIT", "Steps", "accepted", "app_scope_types",
           "events_of", "expect_101", "new_key", "open_ws", "require_version",
           "send_handshake", "spec_version"]
