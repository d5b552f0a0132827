"""The asyncio shell: transports that carry bytes, and the ASGI mappings they feed.

Two layers, so that HTTP/1.1 and HTTP/2 serve applications through the same ASGI code
(hypercorn's ``protocol/`` is the model):

- **ASGI mappings**, independent of any wire format: :mod:`.http_cycle`
  (``RequestCycle``, one ``http`` scope) and :mod:`.ws_session` (``WebSocketSession``,
  one ``websocket`` scope); :mod:`.scope` builds both scopes.
- **Transports**, which turn bytes into events and render what the mappings emit:
  :mod:`.h11_connection` (an HTTP/1.1 connection) and :mod:`.h11_websocket` (the same
  socket after the WebSocket upgrade); :mod:`.h2_connection` (an HTTP/2 connection) and
  :mod:`.h2_stream` (each of its streams, as the transport of one request cycle or one
  WebSocket session, RFC 8441). They use the sans-I/O cores (``reference_server.http11``,
  ``reference_server.http2``, ``reference_server.websocket``) for every byte.

:mod:`.transport` names and documents the two interfaces between the layers
(``HTTPTransport``, ``WebSocketTransport``); :mod:`.flow` holds the asyncio mechanics
every transport shares (backpressure both ways, draining, closing).
"""
