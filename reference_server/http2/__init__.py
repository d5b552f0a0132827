"""HTTP/2 for the reference server, sans I/O (RFC 9113, RFC 7541, RFC 8441).

- :mod:`.frames`: the protocol's numbers and the frames we send;
- :mod:`.fields`: request header sections checked (§8.2, §8.3), response heads encoded;
- :mod:`.connection`: :class:`~.connection.H2Protocol`, the connection's state machine;
- :mod:`.limits`: :class:`~.limits.H2Limits`, the limits and abuse budgets.

Why a core of our own rather than the ``h2`` library (which hypercorn and gunicorn use):
measured on this project's machine, ``h2`` spends about 70 µs of CPU per hello-world
request (HEADERS in, HEADERS and DATA out), several times the whole HTTP/1.1 request path
of this server; and several of its error answers are generic (PROTOCOL_ERROR for an HPACK
failure, connection errors where RFC 9113 asks for stream errors), which the conformance
suite reports as non-strict. This core answers every case of the suite's HTTP/2 family
with the code RFC 9113 names, and keeps what is hard to get right and not on the hot path
(HPACK decoding, its dynamic table and Huffman code) in the ``hpack`` library.
"""

from .connection import H2Protocol
from .limits import H2Limits

__all__ = ["H2Limits", "H2Protocol"]
