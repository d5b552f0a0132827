"""ASGI glue shared by the protocols: the application adapter and the errors ``send()``
raises.

asgi.rst (Legacy Applications): servers "are encouraged to support both types" of app,
the single async callable (ASGI 3) and the legacy two-callable form (ASGI 2). We detect
the form the way users expect from uvicorn and report ``asgi.version`` accordingly.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClientDisconnected(OSError):
    """``send()`` on a connection the client has closed.

    www.rst (spec_version 2.4): "If send() is called on a closed connection the server
    should raise a server-specific subclass of OSError." The server catches it if the
    application lets it escape (asgi.rst, Error Handling), so it never logs as a crash.
    """


class InvalidMessage(ValueError):
    """``send()`` got an event that is not valid here (asgi.rst, Error Handling: the
    server "should raise an exception out of the send awaitable")."""


def event_type(message: Any) -> str:
    """``message["type"]``, or :class:`InvalidMessage` when ``message`` is no event."""
    try:
        kind = message["type"]
    except (KeyError, TypeError) as exc:
        raise InvalidMessage(f"an ASGI event must be a dict with a 'type', got "
                             f"{message!r:.80}") from exc
    return kind  # type: ignore[no-any-return]


def is_asgi3(app: Any) -> bool:
    """True for ``async def app(scope, receive, send)`` (or a class/instance whose call is
    a coroutine function); False for the legacy ``app(scope) -> instance`` form."""
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app) or inspect.ismethod(app):
        return inspect.iscoroutinefunction(app)
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the attribute itself
    return inspect.iscoroutinefunction(call)


def adapt(app: Any) -> tuple[ASGIApp, str]:
    """Return an ASGI 3 callable for ``app`` and the ``asgi.version`` to advertise."""
    if is_asgi3(app):
        return app, "3.0"

    async def legacy(scope: Scope, receive: Receive, send: Send) -> None:
        # asgi.rst: the first callable "is called when the connection is started, and
        # then the second callable is called and awaited immediately afterwards".
        instance = app(scope)
        await instance(receive, send)

    return legacy, "2.0"
