"""Flow control and closing: the asyncio mechanics every socket protocol of the server shares.

Both the HTTP/1.1 connection and the upgraded WebSocket connection need the same four
things from asyncio, and they used to write them twice under different names:

- **write-side backpressure**: the transport calls ``pause_writing()`` when its buffer is
  above the high-water mark; ``send()`` then awaits :meth:`FlowControl.drain`, so a
  client that does not read cannot make the application fill our memory;
- **read-side backpressure**: :meth:`~FlowControl.pause_reading` /
  :meth:`~FlowControl.resume_reading` stop and restart ``data_received`` while the
  application has not consumed what was read (design notes: "Memory per connection is
  bounded");
- **closing** once (:meth:`~FlowControl.close`, :meth:`~FlowControl.abort`), after which
  nothing more is written;
- **losing the connection**: every waiter of :meth:`~FlowControl.drain` is released, so
  no ``send()`` hangs on a dead socket (it re-checks :attr:`closed` and raises).

The HTTP/2 connection is the third user; its streams build their own flow control on
top (the peer's windows, :mod:`.h2_stream`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..state import ServerState


class FlowControl(asyncio.Protocol):
    """An ``asyncio.Protocol`` with the shared flow-control and close mechanics."""

    def __init__(self, state: ServerState,
                 transport: asyncio.BaseTransport | None = None) -> None:
        self.state = state
        self.loop = asyncio.get_running_loop()
        #: Set here or in ``connection_made``, before anything reads it. (uvloop's
        #: transports are not asyncio.Transport subclasses, only look-alikes.)
        self.transport = cast(asyncio.Transport, transport)
        #: The connection is closed (or closing): nothing more is written to it.
        self.closed = False
        self.reading_paused = False
        self.writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []

    # -- writing ------------------------------------------------------------------------

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._release_waiters()

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark (returns
        at once when it is not, or when the connection is gone: callers re-check
        :attr:`closed`)."""
        if self.writing_paused and not self.closed:
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def _release_waiters(self) -> None:
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()

    # -- reading ------------------------------------------------------------------------

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close after what was written has been sent (once)."""
        if not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection now, unsent data included (a peer that stopped answering,
        or a shutdown whose grace period ran out)."""
        self.closed = True
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.connections.discard(self)
        self._release_waiters()

