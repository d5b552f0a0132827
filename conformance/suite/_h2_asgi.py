"""Helpers of the ASGI-over-HTTP/2 cases (``test_h2_asgi*.py``, ``test_h2_websocket.py``):
script requests to the probe app over h2, responses of several streams read together,
what the server advertises in its *h2* scopes (extensions are gated on those, not on the
HTTP/1.1 profile: a server may offer push or trailers on one protocol only), and an h2
connection to a server process of a case's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.h2probe import H2Probe
from conformance.probe import CallView, Probe, new_probe_id
from conformance.rawh2 import H2Connection, H2Response
from conformance.suite._h2 import probe_request
from conformance.verdicts import not_applicable
from fixtures import typedjson

Steps = list[list[Any]]
Fields = Iterable[tuple[bytes | str, bytes | str]]

DELIVERY_BOUND = 1.0
"""Seconds the server gets to deliver an event the client caused (the checklist's 1 s)."""


def script(probe: Probe, conn: H2Connection, steps: Steps, *, method: str = "GET",
           path: str = "/", headers: Fields = (), body: bytes = b"",
           end_stream: bool = True) -> int:
    """Open a stream whose app runs ``steps`` (the probe's ``script`` scenario):
    :func:`~conformance.suite._h2.probe_request`."""
    return probe_request(probe, conn, method, path, scenario="script",
                         args={"steps": steps}, headers=headers, body=body,
                         end_stream=end_stream)


def run(h2probe: H2Probe, steps: Steps, *, settings: dict[int, int] | None = None,
        timeout: float = 2.0, **request: Any) -> tuple[H2Connection, int, H2Response]:
    """One script request on a new connection, and its whole response."""
    conn = h2probe.connect_h2(settings=settings)
    sid = script(h2probe, conn, steps, **request)
    return conn, sid, conn.read_stream(sid, timeout=timeout)


@dataclass
class Streams:
    """Several streams' responses read together, with the order in which they ended."""

    responses: dict[int, H2Response] = field(default_factory=dict)
    ended: list[int] = field(default_factory=list)
    """Stream ids in the order their END_STREAM (or RST_STREAM) arrived."""


def read_streams(conn: H2Connection, stream_ids: Iterable[int],
                 timeout: float = 3.0) -> Streams:
    """Every stream in ``stream_ids`` read to its end (:meth:`H2Connection.read_streams`),
    with the order in which they ended."""
    wanted = list(stream_ids)
    responses = conn.read_streams(wanted, timeout)
    return Streams(responses, [sid for sid in conn.ended_streams if sid in responses])


def authority(h2probe: H2Probe) -> bytes:
    """The :authority our requests carry: the address the h2 connection went to (a TLS
    listener of its own has its own port)."""
    assert h2probe.h2 is not None
    return f"{h2probe.host}:{h2probe.h2.tls_port or h2probe.port}".encode()


def received(call: CallView, kind: str) -> list[dict[str, Any]]:
    return [e for e in call.received if isinstance(e, dict) and e.get("type") == kind]


def got_disconnect(call: CallView) -> bool:
    return bool(received(call, "http.disconnect"))


def read_whole_request(call: CallView) -> bool:
    return any(not e.get("more_body", False) for e in received(call, "http.request"))


def header_values(scope: dict[str, Any], name: bytes) -> list[bytes]:
    return [bytes(v) for k, v in scope.get("headers", []) if bytes(k).lower() == name]


# --- what the server advertises over h2 -------------------------------------------------------

_H2_SCOPES: dict[tuple[str, int, int], dict[str, Any]] = {}


def h2_scope(h2probe: H2Probe) -> dict[str, Any]:
    """The scope of a plain h2 GET (asked once per server process, under a probe id of
    its own so the case's records stay the case's)."""
    generation = getattr(h2probe.process, "generation", 0)
    key = (h2probe.host, h2probe.port, int(generation))
    if key not in _H2_SCOPES:
        conn = h2probe.connect_h2()
        sid = conn.request("GET", "/", headers=h2probe.probe_headers(
            "echo", probe_id=new_probe_id("h2profile-")))
        response = conn.read_stream(sid, timeout=3.0)
        try:
            scope = typedjson.loads(response.body)["scope"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"the h2 echo request was not answered by the probe app: "
                                 f"{response.status} {response.body[:200]!r}") from None
        _H2_SCOPES[key] = scope if isinstance(scope, dict) else {}
    return _H2_SCOPES[key]


def h2_extensions(h2probe: H2Probe) -> list[str]:
    extensions = h2_scope(h2probe).get("extensions") or {}
    return sorted(str(k) for k in extensions) if isinstance(extensions, dict) else []


def require_h2_extension(h2probe: H2Probe, name: str) -> None:
    """n/a unless the server advertises ``name`` in its h2 scopes."""
    offered = h2_extensions(h2probe)
    if name not in offered:
        not_applicable(f"the server does not advertise {name} in its h2 scopes "
                       f"(advertised: {offered or 'none'})")


def h2_spec_version(h2probe: H2Probe) -> str:
    asgi = h2_scope(h2probe).get("asgi") or {}
    version = asgi.get("spec_version") if isinstance(asgi, dict) else None
    return str(version) if version else "2.0"
