"""Sans-I/O HTTP/1.1 (RFC 9112): request parsing and response framing on bytes.

Nothing here imports asyncio or touches a socket; ``reference_server.protocol`` feeds it.
"""

from .errors import LocalProtocolError, ProtocolError
from .events import NEED_DATA, PAUSED, Data, EndOfMessage, Event, Request
from .limits import Limits
from .parser import RequestParser

__all__ = [
    "NEED_DATA", "PAUSED", "Data", "EndOfMessage", "Event", "Limits", "LocalProtocolError",
    "ProtocolError", "Request", "RequestParser",
]
