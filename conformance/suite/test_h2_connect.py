"""Starting HTTP/2 (RFC 9113 §3): TLS with ALPN ``h2``, prior knowledge on cleartext, and
``Upgrade: h2c`` (RFC 7540 §3.2, deprecated by RFC 9113 §3.1), each judged once. See
``catalogue.rfc9113_connect`` for why a server that ignores ``Upgrade: h2c`` is n/a, not
a failure.

The ALPN case needs a TLS listener: it reuses the h2 process when the server speaks h2
only over TLS (daphne), and otherwise starts one of its own with the server's ``h2_tls``
option.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hyperframe.frame import SettingsFrame

from conformance.h2probe import H2Plan, H2Probe, h2_probe, plan, wait_listening
from conformance.probe import ProbeLog
from conformance.rawh2 import H2Connection, NotH2, describe
from conformance.suite._dedicated import Dedicated, adopt_evidence, suite_spec
from conformance.suite._h2 import expect_response, probe_request
from conformance.verdicts import not_applicable

req = pytest.mark.requirement


def _first_frame_is_settings(conn: H2Connection, how: str) -> None:
    frame = conn.next_frame()
    if not (isinstance(frame, SettingsFrame) and "ACK" not in frame.flags):
        what = describe(frame) if frame is not None else "none (the connection closed)"
        raise AssertionError(f"{how}, the server's first frame is {what}, not its SETTINGS "
                             "preface")


def _answered_over_h2(h2probe: H2Probe, conn: H2Connection, how: str) -> dict[str, object]:
    """A GET to the probe app on a new stream is answered 200; the scope the app saw."""
    sid = probe_request(h2probe, conn)
    response = expect_response(conn, sid, what=f"a GET {how}")
    assert response.status == 200, f"a GET {how} got {response.status}: {response.body[:200]!r}"
    return h2probe.call().scope


@pytest.fixture(scope="module")
def alpn_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[tuple[Dedicated, H2Plan] | str]:
    """A process of the server with its h2 TLS listener, or why there is none."""
    spec = suite_spec(request.config)
    workdir = tmp_path_factory.mktemp("h2-alpn")
    tls_plan = plan(spec, workdir, tls_only=True)
    if isinstance(tls_plan, str):
        yield tls_plan
        return
    dedicated = Dedicated(spec, "fixtures.probe:app", workdir, args=tls_plan.args)
    if not dedicated.start():
        yield f"the server did not start with {tls_plan.describe()}: {dedicated.start_error}"
        return
    yield dedicated, tls_plan
    dedicated.stop()


@req("RFC9113-3.2-1")
def test_tls_alpn_h2(request, server, alpn_server):
    """ALPN ``h2`` is selected, the server's first frame is SETTINGS, and a request is
    answered over h2 with the app seeing an h2 request on a TLS connection."""
    if isinstance(alpn_server, str):
        not_applicable(alpn_server)
    dedicated, tls_plan = alpn_server
    if tls_plan.tls_port and not wait_listening(dedicated.host, tls_plan.tls_port):
        raise AssertionError(f"the TLS endpoint never listened on port {tls_plan.tls_port}")
    h2probe = h2_probe(dedicated.process, ProbeLog(dedicated.process.probe_log_path), tls_plan)
    adopt_evidence(request, h2probe)
    conn = h2probe.connect_h2(handshake=False)  # n/a when ALPN does not select h2
    conn.send_preface()
    _first_frame_is_settings(conn, "after ALPN h2")
    conn.wait_settings_ack()
    scope = _answered_over_h2(h2probe, conn, "over TLS with ALPN h2")
    assert scope.get("http_version") == "2", (
        f"the app saw http_version {scope.get('http_version')!r} over ALPN h2")
    assert scope.get("scheme") == "https", f"the app saw scheme {scope.get('scheme')!r} over TLS"


@req("RFC9113-3.3-1")
def test_prior_knowledge(h2probe):
    """The preface on a cleartext connection gets SETTINGS first, then answers."""
    assert h2probe.h2 is not None
    if h2probe.h2.mode != "prior":
        not_applicable("the server offers HTTP/2 only over TLS (RFC 9113 §3.3 prior knowledge "
                       "is for cleartext)")
    conn = h2probe.connect_h2(handshake=False)
    conn.send_preface()
    _first_frame_is_settings(conn, "after the client preface")
    conn.wait_settings_ack()
    _answered_over_h2(h2probe, conn, "with prior knowledge")


@req("RFC7540-3.2-1")
def test_h2c_upgrade(h2probe):
    """Upgrade: h2c on a GET: when the server switches (101), its first h2 frame is
    SETTINGS, the upgraded request is answered on stream 1, and the connection then
    serves a new stream."""
    assert h2probe.h2 is not None
    if h2probe.h2.mode != "prior":
        not_applicable("the server offers HTTP/2 only over TLS, where Upgrade: h2c does not "
                       "apply (RFC 7540 §3.2 is for cleartext)")
    conn = H2Connection(h2probe.host, h2probe.port, timeout=2.0)
    h2probe.connections.append(conn)
    try:
        first = conn.upgrade("/", headers=h2probe.probe_headers())
    except NotH2 as exc:
        not_applicable(f"{exc}: the server does not switch to h2c through Upgrade, which RFC "
                       "9113 §3.1 deprecates and RFC 9110 §7.8 lets a server ignore")
    if not (conn.received and isinstance(conn.received[0], SettingsFrame)):
        first_frame = describe(conn.received[0]) if conn.received else "none"
        raise AssertionError(f"after the 101, the server's first frame is {first_frame}, "
                             "not its SETTINGS preface")
    assert first.status == 200, (
        f"the upgraded request got {first.status} on stream 1: {first.body[:200]!r}")
    h2probe.call()
    _answered_over_h2(h2probe, conn, "on the upgraded connection")
