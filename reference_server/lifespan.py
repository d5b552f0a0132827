"""The lifespan protocol (lifespan.rst, version 2.0, with Lifespan State).

One lifespan per event loop, so one per worker process (lifespan.rst: "Lifespans should
be executed once per event loop that will be processing requests").

``--lifespan`` decides what an application that does not speak lifespan means:

- ``auto`` — lifespan.rst: "If an exception is raised when calling the application
  callable with a lifespan.startup message or a scope with type lifespan, the server
  must continue but not send any lifespan events." We log it at info and serve.
- ``on`` — the operator asked for lifespan; an app that raises instead is a startup
  failure and the server exits.
- ``off`` — never call the app with a lifespan scope.

``lifespan.startup.failed`` always stops the server ("log the message and exit"), and so
does ``lifespan.shutdown.failed`` with a logged message (the exit code says it failed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .asgi import ASGIApp, InvalidMessage, Message, event_type

logger = logging.getLogger("reference_server.error")

#: lifespan.rst: the events an application may send, each only in its phase, and the
#: phase it leads to.
_TRANSITIONS = {
    ("lifespan.startup.complete", "starting"): "started",
    ("lifespan.startup.failed", "starting"): "started",
    ("lifespan.shutdown.complete", "stopping"): "stopped",
    ("lifespan.shutdown.failed", "stopping"): "stopped",
}
_STARTUP = {"type": "lifespan.startup"}
_SHUTDOWN = {"type": "lifespan.shutdown"}


class Lifespan:
    def __init__(self, app: ASGIApp, mode: str, state: dict[str, Any],
                 asgi_version: str = "3.0") -> None:
        self.app = app
        self.mode = mode
        self.state = state
        self.asgi_version = asgi_version
        self._events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._startup_done = asyncio.Event()
        self._shutdown_done = asyncio.Event()
        self._phase = "init"  # init → starting → started → stopping → stopped
        self.startup_failed = False
        self.shutdown_failed = False
        self.unsupported = False
        self.error: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> bool:
        """Run startup; True when the server may serve."""
        if self.mode == "off":
            return True
        self._phase = "starting"
        self._task = asyncio.get_running_loop().create_task(self._main())
        await self._events.put(dict(_STARTUP))
        await self._startup_done.wait()
        if self.startup_failed:
            logger.error("Application startup failed%s. Exiting.",
                         f": {self.error}" if self.error else "")
            return False
        if self.unsupported:
            if self.mode == "on":
                logger.error("Lifespan is required (--lifespan on) but the application "
                             "does not support it: %s", self.error)
                return False
            logger.info("ASGI 'lifespan' protocol appears unsupported (%s); serving "
                        "without it.", self.error)
            return True
        logger.info("Application startup complete.")
        return True

    async def shutdown(self, timeout: float | None = None) -> bool:
        """Run shutdown; True when it completed cleanly."""
        if self.mode == "off" or self.unsupported or self.startup_failed \
                or self._task is None:
            return True
        if self._task.done():
            self._shutdown_done.set()
        else:
            self._phase = "stopping"
            await self._events.put(dict(_SHUTDOWN))
        try:
            await asyncio.wait_for(self._shutdown_done.wait(), timeout)
        except TimeoutError:
            logger.error("Application shutdown did not complete within %s s.", timeout)
            self._task.cancel()
            return False
        if self.shutdown_failed:
            logger.error("Application shutdown failed%s.",
                         f": {self.error}" if self.error else "")
            return False
        logger.info("Application shutdown complete.")
        return True

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": self.asgi_version, "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self.receive, self.send)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.error = f"{type(exc).__name__}: {exc}"
            if self._phase == "starting":
                self.unsupported = True
            elif self._phase == "stopping":
                self.shutdown_failed = True
                logger.error("Exception in 'lifespan' protocol", exc_info=exc)
            else:
                logger.error("Exception in 'lifespan' protocol", exc_info=exc)
        finally:
            if self._phase == "starting" and not self.unsupported and \
                    not self.startup_failed:
                # The app returned without answering startup: it ignores lifespan.
                self.unsupported = True
                self.error = self.error or "the application returned during startup"
            self._startup_done.set()
            self._shutdown_done.set()

    async def receive(self) -> Message:
        return await self._events.get()

    async def send(self, message: Message) -> None:
        """Validate the order of lifespan events (an out-of-order or unknown event is an
        invalid event: asgi.rst, Error Handling)."""
        kind = event_type(message)
        phase = self._phase
        after = _TRANSITIONS.get((kind, phase))
        if after is None:
            raise InvalidMessage(f"unexpected lifespan event {kind!r} (phase: {phase})")
        self._phase = after
        if kind.endswith(".failed"):
            if phase == "starting":
                self.startup_failed = True
            else:
                self.shutdown_failed = True
            self.error = _message_of(message)
        (self._startup_done if phase == "starting" else self._shutdown_done).set()


def _message_of(message: Message) -> str | None:
    text = message.get("message", "")
    return str(text) if text else None
