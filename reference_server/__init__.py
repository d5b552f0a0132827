"""The reference ASGI server: strict HTTP/1.1, WebSocket and lifespan on asyncio.

Layout (hypercorn's protocol/ split, h11's sans-I/O discipline):

- ``http11/`` — the sans-I/O HTTP/1.1 core: request parsing and response framing on
  bytes, no asyncio, no sockets. It can be tested (and fuzzed) without a network.
- ``protocol/`` — asyncio protocols that feed the core with socket bytes and run the ASGI
  application for each request.
- ``lifespan.py``, ``server.py``, ``cli.py`` — the lifespan protocol, serving (sockets,
  workers, signals) and the command line.
"""

__version__ = "0.1.0"
