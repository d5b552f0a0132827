"""The probe app and its side channel, exercised in-process with a scripted server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.probe import Probe, ProbeLog
from fixtures import probe as probe_app
from fixtures import typedjson
from fixtures.probe import ENV_LOG
from fixtures.probe_call import Call


@pytest.fixture
def log(tmp_path, monkeypatch) -> ProbeLog:
    path = tmp_path / "probe.jsonl"
    monkeypatch.setenv(ENV_LOG, str(path))
    return ProbeLog(path)


def run_app(scope: dict[str, Any], incoming: list[dict[str, Any]],
            disconnect: dict[str, Any],
            refuse: Callable[[dict[str, Any], list[dict[str, Any]]], Exception | None]
            ) -> list[dict[str, Any]]:
    """Run the probe in-process as a scripted server would: ``incoming`` events, then
    ``disconnect`` forever; ``refuse(event, sent)`` gives an exception for send() to
    raise instead of accepting ``event``. Returns what the probe sent."""
    queue = list(incoming)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(0.01)
        return disconnect

    async def send(event: dict[str, Any]) -> None:
        error = refuse(event, sent)
        if error is not None:
            raise error
        sent.append(event)

    asyncio.run(probe_app.app(scope, receive, send))
    return sent


def run_http(headers: list[tuple[bytes, bytes]], incoming: list[dict[str, Any]],
             send_error: type[Exception] | None = None) -> list[dict[str, Any]]:
    """Run the probe for one HTTP request; return what it sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "path": "/", "query_string": b"", "headers": headers}

    def refuse(event: dict[str, Any], sent: list[dict[str, Any]]) -> Exception | None:
        if send_error is not None and event.get("type") == "http.bogus":
            return send_error("rejected")
        return None

    return run_app(scope, incoming, {"type": "http.disconnect"}, refuse)


def probe_headers(scenario: str = "echo", args: Any = None, pid: str = "t1"):
    handle = Probe("127.0.0.1", 1, ProbeLog(Path("unused")), id=pid)
    return handle.probe_headers(scenario, args)


def test_echo_records_scope_and_answers_with_it(log):
    sent = run_http(probe_headers(), [{"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 200
    echoed = typedjson.loads(sent[1]["body"])["scope"]
    assert echoed["query_string"] == b"" and echoed["path"] == "/"
    records = log.records("t1")
    assert [r.kind for r in records] == ["call", "receive", "send", "send", "exit"]
    assert records[0].data["scope"]["headers"][0][0] == b"x-probe-id"
    assert records[0].data["scope_is_dict"] is True


def test_body_chunks_are_recorded_and_summarised(log):
    chunks = [{"type": "http.request", "body": b"ab", "more_body": True},
              {"type": "http.request", "body": b"cd", "more_body": False}]
    sent = run_http(probe_headers("read_body"), chunks)
    summary = typedjson.loads(sent[1]["body"])
    assert summary["length"] == 4 and summary["events"] == 2 and summary["complete"]
    received = [r.data["event"] for r in log.records("t1") if r.kind == "receive"]
    assert received == chunks


def test_send_errors_are_recorded_with_their_class(log):
    run_http(probe_headers("invalid_event", {"event": {"type": "http.bogus"}}),
             [{"type": "http.request"}], send_error=ConnectionResetError)
    failed = [r.data for r in log.records("t1") if r.kind == "send" and not r.data["ok"]]
    assert failed[0]["error"]["is_oserror"] is True
    assert "builtins.OSError" in failed[0]["error"]["mro"]


def test_wait_disconnect_counts_extra_receives(log):
    run_http(probe_headers("wait_disconnect", {"respond": False, "extra_receives": 2}),
             [{"type": "http.request"}])
    kinds = [r.data["event"]["type"] for r in log.records("t1") if r.kind == "receive"]
    assert kinds == ["http.request", "http.disconnect", "http.disconnect", "http.disconnect"]


def test_exceptions_escape_and_are_recorded(log):
    with pytest.raises(RuntimeError, match="raise before"):
        run_http(probe_headers("raise_before"), [{"type": "http.request"}])
    exit_record = next(r for r in log.records("t1") if r.kind == "exit")
    assert exit_record.data["raised"]["type"] == "builtins.RuntimeError"


def test_bad_probe_request_is_a_probe_error_not_a_crash(log):
    sent = run_http(probe_headers("no-such-scenario"), [{"type": "http.request"}])
    assert sent[0]["status"] == 599
    assert any(r.kind == "probe_error" for r in log.records("t1"))


def test_probe_log_reads_incrementally_and_keeps_partial_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    line = '{"id":"a","call":"1:1","seq":0,"pid":1,"t":0.5,"kind":"note","data":{"x":1}}\n'
    path.write_text(line[:20])
    log = ProbeLog(path)
    assert log.records("a") == []
    with path.open("a") as handle:
        handle.write(line[20:])
    assert [r.data for r in log.records("a")] == [{"x": 1}]


def test_wait_is_bounded(tmp_path):
    log = ProbeLog(tmp_path / "missing.jsonl")
    ok, records = log.wait("x", lambda recs: bool(recs), timeout=0.05)
    assert not ok and records == []


def test_request_builder_is_exact():
    handle = Probe("127.0.0.1", 8000, ProbeLog(Path("unused")), id="p-1")
    wire = handle.request("POST", "/a%20b?q", args={"x": b"\x00"}, headers=[("X-A", "1")],
                          body=b"hi")
    head, body = wire.split(b"\r\n\r\n")
    assert body == b"hi"
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /a%20b?q HTTP/1.1"
    assert lines[1] == b"Host: 127.0.0.1:8000"
    assert b"x-probe-id: p-1" in lines and b"X-A: 1" in lines and b"Content-Length: 2" in lines
    args_line = next(line for line in lines if line.startswith(b"x-probe-args: "))
    assert typedjson.loads(args_line.split(b": ", 1)[1]) == {"x": b"\x00"}


def run_ws(headers: list[tuple[bytes, bytes]], incoming: list[dict[str, Any]],
           fail_sends_after: int | None = None) -> list[dict[str, Any]]:
    """Run the probe for one WebSocket connection; return what it sent."""
    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "path": "/", "headers": headers}

    def refuse(event: dict[str, Any], sent: list[dict[str, Any]]) -> Exception | None:
        if fail_sends_after is not None and len(sent) >= fail_sends_after:
            return ConnectionResetError("closed")
        return None

    return run_app(scope, incoming, {"type": "websocket.disconnect", "code": 1000}, refuse)


def test_websocket_echo_is_the_default(log):
    sent = run_ws(probe_headers(), [{"type": "websocket.connect"},
                                    {"type": "websocket.receive", "text": "hi"},
                                    {"type": "websocket.receive", "bytes": b""}])
    assert sent == [{"type": "websocket.accept"}, {"type": "websocket.send", "text": "hi"},
                    {"type": "websocket.send", "bytes": b""}]
    assert [r.kind for r in log.records("t1")][-1] == "exit"


def test_websocket_script_runs_steps_and_reraises_the_send_error(log):
    steps = [["receive", 1.0], ["send", {"type": "websocket.accept"}],
             ["send", {"type": "websocket.send", "text": "late"}], ["raise_send_error"]]
    with pytest.raises(ConnectionResetError):
        run_ws(probe_headers("script", {"steps": steps}), [{"type": "websocket.connect"}],
               fail_sends_after=1)
    records = log.records("t1")
    sends = [r.data for r in records if r.kind == "send"]
    assert [s["ok"] for s in sends] == [True, False]
    assert sends[1]["error"]["is_oserror"] is True
    assert records[-1].kind == "exit" and records[-1].data["raised"]["is_oserror"]


def test_websocket_bad_scenario_is_a_probe_error(log):
    sent = run_ws(probe_headers("nonsense"), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 4599}]
    assert any(r.kind == "probe_error" for r in log.records("t1"))


def test_the_module_docstring_lists_every_scenario_and_step():
    """The docstring of fixtures.probe is where a case author looks a scenario or step up."""
    steps = [name.removeprefix("step_") for name in dir(Call) if name.startswith("step_")]
    names = [*probe_app.SCENARIOS, *probe_app.WS_SCENARIOS, *steps]
    assert [name for name in names if f"``{name}``" not in (probe_app.__doc__ or "")] == []
