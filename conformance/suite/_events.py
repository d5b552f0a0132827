"""The ASGI response events the cases have the probe app send (www.rst "Response Start",
"Response Body"), built in one place so every case sends the same shape.

They return ``Any``, not ``dict[str, Any]``: cases put them in plain lists next to script
steps (``[["receive_body"], ["send", response_start()]]``), which mypy would otherwise
type as ``list[object]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def response_start(status: Any = 200, headers: Iterable[Any] | None = (),
                   **extra: Any) -> Any:
    """``http.response.start`` with ``status``, ``headers`` and ``extra`` keys (e.g.
    ``trailers``). ``headers=None`` leaves the key out, for the one case that checks its
    default (HTTP-033); no other case may depend on it."""
    event: dict[str, Any] = {"type": "http.response.start", "status": status}
    if headers is not None:
        event["headers"] = list(headers)
    event.update(extra)
    return event


def response_body(body: Any = b"", more: bool = False, **extra: Any) -> Any:
    """``http.response.body`` with ``body``, ``more_body`` and ``extra`` keys."""
    return {"type": "http.response.body", "body": body, "more_body": more, **extra}
