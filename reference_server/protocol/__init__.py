"""The asyncio shell: transports that carry bytes, and the ASGI mappings they feed.

Two layers, so that HTTP/1.1 today and HTTP/2 next serve applications through the same
ASGI code (hypercorn's ``protocol/`` is the model):

- **ASGI mappings**, independent of any wire format: :mod:`.http_cycle`
  (``RequestCycle``, one ``http`` scope) and :mod:`.ws_session` (``WebSocketSession``,
  one ``websocket`` scope); :mod:`.scope` builds both scopes.
- **Transports**, which turn bytes into events and render what the mappings emit:
  :mod:`.h11_connection` (an HTTP/1.1 connection) and :mod:`.h11_websocket` (the same
  socket after the WebSocket upgrade). They use the sans-I/O cores
  (``reference_server.http11``, ``reference_server.websocket``) for every byte.

:mod:`.transport` names and documents the two interfaces between the layers
(``HTTPTransport``, ``WebSocketTransport``); :mod:`.flow` holds the asyncio mechanics
every transport shares (backpressure both ways, draining, closing).
"""
