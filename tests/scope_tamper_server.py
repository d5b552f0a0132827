"""A deliberately non-conforming ASGI server for the tests of the suite's n/a verdicts:
uvicorn serving the app behind a wrapper that changes what the app sees. Every scope
loses its optional keys ("omit") or gets wrong values in them ("wrong"), so a case that
judges an optional key must say n/a when the key is absent, and still fail when it is
wrong: it never passes by default.

    python tests/scope_tamper_server.py MODE APP --host H --port P

omit   no raw_path, client, server, extensions, asgi spec_version; a lifespan scope
       without state
wrong  raw_path b"/wrong", ports as str, a non-str extensions key, spec_version "x", a
       lifespan state that is not empty; http.response.early_hint advertised, and
       send() raising on it
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import uvicorn


def _omit(scope: dict[str, Any]) -> None:
    for key in ("raw_path", "client", "server", "extensions"):
        scope.pop(key, None)
    scope["asgi"].pop("spec_version", None)
    if scope["type"] == "lifespan":
        scope.pop("state", None)


def _wrong(scope: dict[str, Any]) -> None:
    scope["asgi"]["spec_version"] = "x"
    if scope["type"] == "lifespan":
        scope["state"] = {"put there by the server": True}
        return
    scope["raw_path"] = b"/wrong"
    for key in ("client", "server"):
        if scope.get(key):
            host, port = scope[key]
            scope[key] = (host, str(port))
    scope["extensions"] = {1: {}, "http.response.early_hint": {}}


def wrap(app: Any, mode: str) -> Any:
    tamper = _omit if mode == "omit" else _wrong

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope = dict(scope)
        scope["asgi"] = dict(scope.get("asgi") or {})
        tamper(scope)

        async def checked_send(event: dict[str, Any]) -> None:
            if mode == "wrong" and event.get("type") == "http.response.early_hint":
                raise RuntimeError("early hints are advertised but refused")
            await send(event)

        await app(scope, receive, checked_send)

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["omit", "wrong"])
    parser.add_argument("app")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    uvicorn.run(wrap(app, args.mode), host=args.host, port=args.port, lifespan="on",
                log_level="warning")


if __name__ == "__main__":
    main()
