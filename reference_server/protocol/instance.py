"""What both ASGI mappings do around the application instance they run.

asgi.rst, "Error Handling", is the same for an ``http`` and a ``websocket`` scope, so it
is written once here: an exception escaping the application is logged and the instance
terminated (each mapping says how: a 500, a 1011 close); our own
:class:`~reference_server.asgi.ClientDisconnected` let through by the application is
not a crash ("an error class that the server catches and ignores"); a returned value is
a mistake worth a warning. The one ``receive()`` an application may have pending, and
waking it when something arrives, is the other shared piece.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..asgi import ClientDisconnected

if TYPE_CHECKING:
    from ..state import ServerState


class AppInstance:
    """The base of :class:`~.http_cycle.RequestCycle` and
    :class:`~.ws_session.WebSocketSession`."""

    __slots__ = ("scope", "state", "task", "waiter")

    def __init__(self, state: ServerState, scope: dict[str, Any]) -> None:
        self.state = state
        self.scope = scope
        #: The application's task, tracked in ``state.tasks`` until it ends.
        self.task: asyncio.Task[None] | None = None
        #: The future a pending ``receive()`` waits on.
        self.waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def start(self) -> None:
        """Run the application in its own task (tracked for shutdown; :meth:`run` takes
        it out when it ends, cheaper than a done-callback per request)."""
        task = self.task = asyncio.get_running_loop().create_task(self.run())
        self.state.tasks.add(task)

    async def run(self) -> None:
        state = self.state
        try:
            app: Any = state.app
            result = await app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            self._app_left()
            return
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            if not cancelled:
                state.error_log.error("Exception in ASGI application", exc_info=exc)
            self._abort()
            if cancelled:
                raise
            return
        finally:
            if self.task is not None:
                state.tasks.discard(self.task)
        if result is not None:
            state.error_log.warning("ASGI callable returned a value instead of None: %r",
                                    result)
        self._app_returned()

    # -- what each mapping says ------------------------------------------------------------

    async def receive(self) -> Any:
        raise NotImplementedError

    async def send(self, message: Any) -> None:
        raise NotImplementedError

    def _app_returned(self) -> None:
        """The application returned: check it finished what the protocol needs."""
        raise NotImplementedError

    def _app_left(self) -> None:
        """The application let ``ClientDisconnected`` (raised by our ``send()``) out."""

    def _abort(self) -> None:
        """asgi.rst: "terminate the application instance and its associated
        connection"."""
        raise NotImplementedError
