"""Fuzz targets for the reference server's sans-I/O parsers (``python3 -m bench.fuzz``).

One module per parser: :mod:`.http11` (request parser and chunked decoder, RFC 9112),
:mod:`.websocket` (frames and the connection state machine, RFC 6455), :mod:`.deflate`
(permessage-deflate, RFC 7692), :mod:`.handshake` (the opening handshake, RFC 6455 §4),
:mod:`.h2` (the HTTP/2 connection and its header checks, RFC 9113/7541). Each checks the
same four things of its parser: only the documented errors escape; the same bytes split
anywhere give the same events; the buffered state stays under the configured limits; and
parsing terminates. :mod:`.engine` runs them (bench/README.md, "Fuzzing").
"""
