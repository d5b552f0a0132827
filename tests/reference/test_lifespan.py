"""The lifespan protocol driver (lifespan.rst 2.0), without sockets."""

from __future__ import annotations

import asyncio

import pytest

from reference_server.asgi import InvalidMessage
from reference_server.lifespan import Lifespan


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 5))


async def good_app(scope, receive, send):
    assert scope["type"] == "lifespan"
    assert scope["asgi"]["spec_version"] == "2.0"
    msg = await receive()
    assert msg["type"] == "lifespan.startup"
    scope["state"]["db"] = "pool"
    await send({"type": "lifespan.startup.complete"})
    msg = await receive()
    assert msg["type"] == "lifespan.shutdown"
    await send({"type": "lifespan.shutdown.complete"})


def test_startup_and_shutdown_share_state():
    async def main():
        state: dict[str, object] = {}
        lifespan = Lifespan(good_app, "auto", state)
        assert await lifespan.startup()
        assert state == {"db": "pool"}
        assert await lifespan.shutdown(1)

    run(main())


@pytest.mark.parametrize("mode,expected", [("auto", True), ("on", False)])
def test_app_without_lifespan(mode, expected, caplog):
    """lifespan.rst: an exception on the lifespan scope means "the server must continue";
    --lifespan on turns it into a startup failure. Under auto that exception is how an
    app says it has no lifespan, so it is logged as such (info, with the exception's
    text), never as an error with a traceback; mutation testing found it loggable as
    one unnoticed."""

    async def http_only(scope, receive, send):
        raise RuntimeError("only http")

    async def main():
        lifespan = Lifespan(http_only, mode, {})
        assert await lifespan.startup() is expected
        assert await lifespan.shutdown(1)

    with caplog.at_level("INFO"):
        run(main())
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    # Shutdown has nothing to run for an app without lifespan, so it says nothing.
    assert not [r for r in caplog.records if "shutdown" in r.getMessage()], caplog.text
    if mode == "auto":
        assert not errors, [r.getMessage() for r in errors]
        assert any("appears unsupported (RuntimeError: only http)" in r.getMessage()
                   for r in caplog.records), caplog.text
    else:
        assert [r.getMessage() for r in errors] == [
            "Lifespan is required (--lifespan on) but the application does not support "
            "it: RuntimeError: only http"]


def test_app_returning_during_startup_is_unsupported():
    async def returns(scope, receive, send):
        return None

    async def main():
        lifespan = Lifespan(returns, "auto", {})
        assert await lifespan.startup()
        assert lifespan.unsupported

    run(main())


def test_startup_failed_stops_the_server():
    async def fails(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    async def main():
        lifespan = Lifespan(fails, "auto", {})
        assert not await lifespan.startup()
        assert lifespan.error == "no database"

    run(main())


@pytest.mark.parametrize("late", ["failed", "hangs"])
def test_a_failed_or_hung_shutdown_is_reported_within_its_bound(late):
    """lifespan.shutdown.failed, or no answer within the timeout, is a failed shutdown."""
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        if late == "failed":
            await send({"type": "lifespan.shutdown.failed", "message": "stuck"})
        else:
            await asyncio.sleep(60)

    async def main():
        lifespan = Lifespan(app, "on", {})
        assert await lifespan.startup()
        assert not await lifespan.shutdown(0.2)
        assert lifespan.error == ("stuck" if late == "failed" else None)

    run(main())


@pytest.mark.parametrize("bad", [
    {"type": "lifespan.bogus"},
    {"type": "lifespan.shutdown.complete"},
    {"no": "type"},
])
def test_invalid_events_raise(bad):
    raised: list[BaseException] = []

    async def sends_bad(scope, receive, send):
        await receive()
        try:
            await send(bad)
        except InvalidMessage as exc:
            raised.append(exc)
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async def main():
        lifespan = Lifespan(sends_bad, "on", {})
        assert await lifespan.startup()
        assert await lifespan.shutdown(1)

    run(main())
    assert len(raised) == 1


def test_off_never_calls_the_app():
    async def never(scope, receive, send):
        raise AssertionError("called")

    async def main():
        lifespan = Lifespan(never, "off", {})
        assert await lifespan.startup()
        assert await lifespan.shutdown(1)

    run(main())
