"""One ASGI ``http`` scope: ``receive()``, ``send()`` and the application task
(www.rst, "HTTP"; asgi.rst, "Error Handling"), independent of the transport.

A :class:`RequestCycle` gets the request body as events from its transport
(:meth:`~RequestCycle.feed_body`, :meth:`~RequestCycle.end_body`,
:meth:`~RequestCycle.on_disconnect`) and hands the application's response events to it
through the :class:`~.transport.HTTPTransport` interface. What it owns is the ASGI side:

- ``receive()`` returns the body as ``http.request`` events, then ``http.disconnect``
  once the response is sent or the client is gone;
- ``send()`` checks the event type and order, raises ``InvalidMessage`` for an invalid
  event and ``ClientDisconnected`` (an ``OSError``, spec_version 2.4) once the client is
  gone, ignores response events after the response completed ("any further messages on
  the channel will be ignored"), and waits on the transport's write buffer, so a client
  that does not read cannot make the application fill our memory;
- read-side backpressure: reading pauses while ``flow_high_water`` bytes of body wait
  for the application;
- the extensions that are made of body events: pathsend and zerocopysend
  (extensions.rst);
- the application's end (:mod:`.instance`): an exception, a return without a complete
  response, or a returned value is logged, and the response is aborted (500 when
  nothing was sent).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..asgi import ClientDisconnected, InvalidMessage, Message, event_type
from ..http11 import LocalProtocolError
from .instance import AppInstance
from .scope import HAS_SENDFILE

if TYPE_CHECKING:
    from ..state import ServerState
    from .transport import HTTPTransport

_DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
#: Bytes read from a file per body event for pathsend and zerocopysend.
_FILE_CHUNK = 256 * 1024


class RequestCycle(AppInstance):
    """One request: the ASGI scope, receive() and send(), and the application task."""

    __slots__ = (
        "body", "body_done", "body_size", "disconnected", "high_water", "response_done",
        "transport",
    )

    def __init__(self, state: ServerState, transport: HTTPTransport,
                 scope: dict[str, Any]) -> None:
        AppInstance.__init__(self, state, scope)
        self.transport = transport
        self.high_water = state.config.flow_high_water
        self.body: list[bytes] = []
        self.body_size = 0
        #: The whole request body has arrived (its end was seen).
        self.body_done = False
        self.disconnected = False
        self.response_done = False

    # -- events from the transport ----------------------------------------------------------

    def feed_body(self, data: bytes) -> None:
        """A piece of request body arrived."""
        self.body.append(data)
        self.body_size += len(data)
        if self.body_size > self.high_water:
            self.transport.pause_reading()
        self._wake()

    def end_body(self) -> None:
        """The request body is complete."""
        self.body_done = True
        if self.waiter is not None:
            self._wake()

    def on_disconnect(self) -> None:
        """The client is gone (or the request could not be read to its end)."""
        self.disconnected = True
        self._wake()

    # -- the ASGI callables -------------------------------------------------------------------

    async def receive(self) -> Message:
        """www.rst, Request/Disconnect: body chunks as ``http.request`` events, then
        ``http.disconnect`` once the response is sent or the client is gone."""
        while True:
            if self.body or (self.body_done and self.body_size >= 0):
                if self.response_done or (self.disconnected and not self.body_done):
                    return dict(_DISCONNECT)
                body = self.body
                data = body[0] if len(body) == 1 else b"".join(body)
                self.body = []
                if self.body_done:
                    self.body_size = -1  # the final http.request has been handed out
                else:
                    self.body_size = 0
                    self.transport.resume_reading()
                return {"type": "http.request", "body": data, "more_body": not self.body_done}
            if self.response_done or self.disconnected:
                return dict(_DISCONNECT)
            if not self.body_done:
                self.transport.want_body()
            waiter = self.transport.loop.create_future()
            self.waiter = waiter
            await waiter

    async def send(self, message: Message) -> None:
        try:
            kind = message["type"]
        except (KeyError, TypeError):
            kind = event_type(message)  # raises the InvalidMessage that says why
        transport = self.transport
        if self.disconnected or transport.closed:
            if self.response_done:
                return
            raise ClientDisconnected("the client closed the connection")
        if self.response_done and kind.startswith("http.response."):
            # www.rst: after the final body "any further messages on the channel will be
            # ignored".
            return
        try:
            if kind == "http.response.body":
                complete = transport.send_body(message.get("body", b""),
                                               message.get("more_body", False))
            elif kind == "http.response.start":
                transport.send_start(message["status"], message.get("headers", ()),
                                     message.get("trailers", False))
                return
            elif kind == "http.response.trailers":
                complete = transport.send_trailers(message.get("headers", ()),
                                                   message.get("more_trailers", False))
            elif kind == "http.response.pathsend":
                await self._pathsend(message)
                return
            elif kind == "http.response.zerocopysend" and HAS_SENDFILE:
                await self._zerocopysend(message)
                return
            elif kind == "http.response.early_hint":
                transport.send_early_hint(message.get("links", ()))
                complete = False
            elif kind == "http.response.push":
                transport.send_push(message["path"], message.get("headers", ()))
                complete = False
            else:
                raise InvalidMessage(f"unexpected ASGI event {kind!r} on an http connection")
        except KeyError as exc:
            raise InvalidMessage(f"{kind} event is missing the {exc} key") from None
        except LocalProtocolError as exc:
            raise InvalidMessage(str(exc)) from None
        if complete:
            self.response_done = True
            if self.waiter is not None:
                self._wake()
            transport.finish_response()
        elif transport.writing_paused:
            await transport.drain()
            if self._gone():
                raise ClientDisconnected("the client closed the connection")

    def _gone(self) -> bool:
        """The connection closed under a response still in progress (re-read after an
        await: the state changes while the app waits)."""
        return self.transport.closed and not self.response_done

    # -- extensions made of body events ----------------------------------------------------------

    async def _write_body(self, data: bytes, more_body: bool) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more_body})

    async def _pathsend(self, message: Message) -> None:
        """extensions.rst, Path Send: the file's bytes as the (whole) body."""
        path = message.get("path")
        if type(path) is not str or not os.path.isabs(path):
            raise InvalidMessage("http.response.pathsend needs an absolute 'path' str")
        if self.transport.head_sent:
            raise InvalidMessage("http.response.pathsend cannot be mixed with body events")
        loop = self.transport.loop
        with open(path, "rb") as handle:
            while True:
                chunk = await loop.run_in_executor(None, handle.read, _FILE_CHUNK)
                if not chunk:
                    break
                await self._write_body(chunk, True)
                if self.disconnected:
                    return
        await self._write_body(b"", False)

    async def _zerocopysend(self, message: Message) -> None:
        """extensions.rst, Zero Copy Send: ``file`` from ``offset`` for ``count`` bytes.

        The bytes go through the transport (which may use the kernel's sendfile); the
        framing stays ours, so a zero-copy body is counted like any other."""
        handle = message.get("file")
        try:
            fd = handle.fileno()  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError) as exc:
            raise InvalidMessage("http.response.zerocopysend needs a real file") from exc
        offset = message.get("offset")
        count = message.get("count")
        more_body = bool(message.get("more_body", False))
        position = os.lseek(fd, 0, os.SEEK_CUR) if offset is None else int(offset)
        remaining = None if count is None else int(count)
        loop = self.transport.loop
        while remaining is None or remaining > 0:
            size = _FILE_CHUNK if remaining is None else min(_FILE_CHUNK, remaining)
            chunk = await loop.run_in_executor(None, os.pread, fd, size, position)
            if not chunk:
                break
            position += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            await self._write_body(chunk, True)
            if self.disconnected:
                return
        if offset is None:
            os.lseek(fd, position, os.SEEK_SET)
        if not more_body:
            await self._write_body(b"", False)

    # -- running the application ---------------------------------------------------------------

    def _app_returned(self) -> None:
        if not self.response_done and not self.disconnected:
            if self.transport.head_sent:
                self.state.error_log.error(
                    "ASGI callable returned without completing the response")
            else:
                self.state.error_log.error("ASGI callable returned without sending a response")
            self._abort()

    def _abort(self) -> None:
        if self.response_done or self.transport.closed:
            return
        self.response_done = True
        self.transport.abort_response()
