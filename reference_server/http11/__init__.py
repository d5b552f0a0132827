"""Sans-I/O HTTP/1.1 (RFC 9112): request parsing and response framing on bytes.

- :mod:`.grammar`: the ABNF (tokens, field values, lists, request-line forms), written
  once and shared with the WebSocket handshake;
- :mod:`.head` checks the parts of a request head, :mod:`.parser` runs a request's state
  machine (bytes in, :mod:`.events` out);
- :mod:`.response` frames responses (and renders the Date header from a given clock).

Nothing here imports asyncio, touches a socket or reads a clock;
``reference_server.protocol`` feeds it.
"""

from .errors import LocalProtocolError, ProtocolError
from .events import NEED_DATA, PAUSED, Data, EndOfMessage, Event, Request
from .limits import Limits
from .parser import RequestParser

__all__ = [
    "NEED_DATA", "PAUSED", "Data", "EndOfMessage", "Event", "Limits", "LocalProtocolError",
    "ProtocolError", "Request", "RequestParser",
]
