"""h2spec's cases, ported (generic and http2 §3 to §5): placeholder with the first case."""

from __future__ import annotations

import pytest
from hyperframe.frame import SettingsFrame

req = pytest.mark.requirement


@req("RFC9113-3.4-1")
@pytest.mark.parametrize("case", ["http2/3.5/1"])
def test_server_preface(h2probe, case):
    """The server's first frame is SETTINGS."""
    conn = h2probe.connect_h2(handshake=False)
    conn.send_preface()
    frame = conn.next_frame()
    assert isinstance(frame, SettingsFrame) and "ACK" not in frame.flags, (
        f"the server's first frame is {frame!r}, not SETTINGS")
