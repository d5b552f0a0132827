"""What a worker notes about each finished request, only when someone asked for it.

Why a separate object: the plain request path (no access log, or the default line, no
request limit, no metrics) must not pay for features it does not use. ServerState
creates an :class:`Observer` only when ``--access-log-format`` differs from the default
(with the access log on), ``--limit-max-requests`` is set, or metrics are on; the
protocols then use their observed variants (``ObservedH11Connection``,
``ObservedH2Stream``), which stamp the start of each request and count its body bytes
and call :meth:`Observer.request_done` once the response is on the wire. Without an
Observer those subclasses are never instantiated and the hot path is unchanged.

Access-log fields (``--access-log-format``, %-style, e.g. ``%(status)d``):

- ``client``: ``host:port`` of the client, or ``-``;
- ``method``: the request method;
- ``path``: the request target as sent (path and query);
- ``http_version``: ``1.0``, ``1.1`` or ``2``;
- ``status``: the response status (int);
- ``duration``: seconds from the complete request head to the response on the wire
  (float, e.g. ``%(duration).3f``);
- ``bytes``: response body bytes the application sent (int).

WebSocket handshake lines keep their own shape (``"WebSocket /path" 101``): they are not
HTTP requests and have no duration or body.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

FIELDS: dict[str, Any] = {
    "client": "127.0.0.1:50000", "method": "GET", "path": "/", "http_version": "1.1",
    "status": 200, "duration": 0.001, "bytes": 13,
}


class AccessFormatError(ValueError):
    pass


def check_access_format(fmt: str) -> str:
    """Render ``fmt`` with sample values: an unknown field or a broken ``%`` is reported
    at the command line, not on the first request."""
    try:
        fmt % FIELDS
    except KeyError as exc:
        raise AccessFormatError(
            f"unknown field {exc.args[0]!r}; the fields are {', '.join(FIELDS)}") from None
    except (ValueError, TypeError) as exc:
        raise AccessFormatError(f"not a valid %-format: {exc}") from None
    return fmt


class Observer:
    """One worker's per-request bookkeeping: the formatted access line, the request
    budget of ``--limit-max-requests`` and the metrics (when enabled)."""

    def __init__(self, access_log: logging.Logger | None, fmt: str,
                 max_requests: int | None, jitter: int,
                 on_budget_spent: Callable[[], None], metrics: Any = None) -> None:
        self.access_log = access_log
        self.fmt = fmt
        #: Requests this worker still serves before it asks to be replaced (None: no limit).
        self.requests_left: int | None = None
        if max_requests is not None:
            self.requests_left = max_requests + (random.randint(0, jitter) if jitter else 0)
        self.on_budget_spent = on_budget_spent
        self.metrics = metrics

    def request_done(self, client: Any, method: str, path: str, http_version: str,
                     status: int, duration: float, nbytes: int) -> None:
        if self.access_log is not None and self.access_log.isEnabledFor(logging.INFO):
            self.access_log.info(self.fmt, {
                "client": f"{client[0]}:{client[1]}" if client else "-", "method": method,
                "path": path, "http_version": http_version, "status": status,
                "duration": duration, "bytes": nbytes})
        self.request_failed(status, duration)

    def request_failed(self, status: int, duration: float) -> None:
        """The application failed (500, or a reset after the head went out): counted,
        not logged (the access log never had a line for it; the error log has). Also the
        counting half of :meth:`request_done`."""
        if self.metrics is not None:
            self.metrics.request_done(status, duration)
        if self.requests_left is not None:
            self.requests_left -= 1
            if self.requests_left == 0:
                self.on_budget_spent()

    def protocol_error(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.protocol_error(kind)
