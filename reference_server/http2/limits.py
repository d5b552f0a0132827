"""What an HTTP/2 connection allows, and the budgets that end an abusive one.

Every number here is a command-line option (``--h2-*``, see ``reference_server --help``)
with the default below. The limits are advertised in our SETTINGS (RFC 9113 §6.5.2); the
budgets are token buckets (a capacity of frames, refilled per second) for the frames a
peer can send without asking for any work, which the h2 denial-of-service family abuses
(CVE-2019-9512 ping flood, -9515 settings flood, -9513 priority, -9518 empty frames,
CVE-2023-44487 rapid reset, CVE-2024-27316 CONTINUATION flood). A connection that empties
a bucket gets GOAWAY with ENHANCE_YOUR_CALM (RFC 9113 §10.5) and is closed; a well-behaved
client never comes near: the capacities are far above what browsers and HTTP libraries
send, and the refill rates far above what a client needs per second.

Defaults and the peers' equivalents (hypercorn: ``h2_max_concurrent_streams`` 100,
``h2_max_header_list_size`` 65536, ``h2_max_inbound_frame_size`` 16 KiB; gunicorn:
``--http2-max-concurrent-streams`` 100, ``--http2-initial-window-size`` 65535,
``--http2-max-frame-size`` 16384, ``--http2-max-header-list-size`` 65536; nginx:
``http2_max_concurrent_streams`` 128).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class H2Limits:
    #: SETTINGS_MAX_CONCURRENT_STREAMS: streams a client may have open at once; more are
    #: refused (REFUSED_STREAM) and cost nothing.
    max_concurrent_streams: int = 100
    #: SETTINGS_INITIAL_WINDOW_SIZE: request body bytes a stream may send ahead of the
    #: application reading them. With the stream limit it bounds what one connection can
    #: make us hold: 100 × 64 KiB.
    initial_window: int = 65535
    #: The connection's receive window, raised from 64 KiB at the start (a WINDOW_UPDATE
    #: on stream 0): request bodies of many streams flow at once.
    connection_window: int = 1024 * 1024
    #: SETTINGS_MAX_FRAME_SIZE: the largest frame payload we accept (RFC 9113's minimum).
    max_frame_size: int = 16384
    #: SETTINGS_MAX_HEADER_LIST_SIZE: decoded header bytes per request (names + values +
    #: 32 each, RFC 9113 §6.5.2); beyond it, and for an encoded block (HEADERS with its
    #: CONTINUATION frames) larger than this, the connection ends (the HPACK state cannot
    #: be kept without decoding the whole block).
    max_header_list_size: int = 65536
    #: Frames a peer may send in a burst without asking for work, per kind (PING,
    #: SETTINGS, PRIORITY, empty DATA/CONTINUATION, WINDOW_UPDATE, RST_STREAM).
    flood_burst: int = 1000
    #: ... and per second after the burst.
    flood_rate: int = 100
    #: Streams the client may reset before they are answered (rapid reset, CVE-2023-44487):
    #: a burst of this many, then this many per second.
    reset_burst: int = 200
    reset_rate: int = 100
