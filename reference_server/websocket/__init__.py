"""Sans-I/O WebSocket (RFC 6455) with permessage-deflate (RFC 7692), server side.

- :mod:`.handshake` validates the opening handshake and renders the 101 response;
- :mod:`.deflate` negotiates permessage-deflate and (de)compresses messages;
- :mod:`.frames` knows the frame format and masking;
- :mod:`.connection` is the state machine: bytes in, messages and control events out.

Nothing here imports asyncio or touches a socket; ``reference_server.protocol.ws_session``
is the asyncio shell that drives it.
"""

from .connection import (
    CLOSED,
    CLOSING,
    OPEN,
    CloseReceived,
    ConnectionClosedError,
    Event,
    Message,
    Ping,
    Pong,
    ProtocolFailure,
    WebSocketConnection,
)
from .deflate import (
    DeflateConfig,
    DeflateError,
    MessageTooBig,
    PerMessageDeflate,
    negotiate_deflate,
)
from .handshake import (
    HandshakeError,
    WebSocketOffer,
    accept_response,
    accept_value,
    is_websocket_upgrade,
    parse_offer,
)

__all__ = [
    "CLOSED", "CLOSING", "OPEN", "CloseReceived", "ConnectionClosedError", "DeflateConfig",
    "DeflateError", "Event", "HandshakeError", "Message", "MessageTooBig", "PerMessageDeflate",
    "Ping", "Pong", "ProtocolFailure", "WebSocketConnection", "WebSocketOffer",
    "accept_response", "accept_value", "is_websocket_upgrade", "negotiate_deflate",
    "parse_offer",
]
