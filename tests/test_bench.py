"""The benchmarks' shared driver and the WebSocket client's wire, without running a benchmark.

What a run prints (its tables) and records (``--json``) is read by people and by later
``--from-json`` runs, so its shape is pinned here; the figures themselves come from real
runs only (no timing assertions).
"""

from __future__ import annotations

import math

import pytest

from bench.driver import Measurement, labels_for
from bench.http_bench import HttpBench, WrkResult
from bench.ws_bench import WsBench, WsResult, split_connections
from bench.ws_wire import client_frame, parse_frame, server_frame


def wrk(rps: float, **changes: float) -> WrkResult:
    figures = dict(rps=rps, p99_ms=2.0, requests=1000, non_2xx=0, socket_errors=0,
                   wrk_cpu=0.3, server_cpu=0.5, wall_s=10.0, steal=0.0, foreign=0.0)
    return WrkResult(**{**figures, **changes})  # type: ignore[arg-type]


def ws(mps: float, **changes: float) -> WsResult:
    figures = dict(mps=mps, p50_ms=1.0, p99_ms=4.0, messages=100, errors=0, client_cpu=0.4,
                   client_core=0.4, server_cpu=1.0, wall_s=10.0)
    return WsResult(**{**figures, **changes})  # type: ignore[arg-type]


def test_http_tables_rows_ratios_and_warnings():
    measurements = [
        Measurement(1, "hello-c50", "reference", wrk(3000.0)),
        Measurement(2, "hello-c50", "reference", wrk(1000.0, non_2xx=2)),
        Measurement(1, "hello-c50", "uvicorn", wrk(1000.0, steal=0.2)),
        Measurement(1, "hello-c1", "reference", error="reference: exited"),
        Measurement(1, "hello-c1", "uvicorn", wrk(500.0)),
    ]
    labels = ["reference", "uvicorn"]
    summaries = HttpBench.summarize(measurements, ["hello-c50", "hello-c1"], labels)
    lines = HttpBench.format_tables(summaries, labels).splitlines()
    assert lines[0] == ("| scenario | server | runs | req/s (median) | req/s min–max "
                        "| p99 ms (median) | req per server CPU-s | wrk CPU | server CPU | steal |")
    assert lines[1] == "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert lines[2] == ("| hello-c50 | reference | 2 | 2,000 | 1,000–3,000 | 2.00 | 4,000 | 30% "
                        "| 50% | 0% |")
    assert lines[4] == "| hello-c1 | reference | 0 | failed | | | | | | |"
    assert "| hello-c50 | reference/uvicorn | 2.00 | 1.00 | 2.00 | 3.00 |" in lines
    assert "| hello-c1 | reference/uvicorn | n/a | n/a | n/a | n/a |" in lines
    assert "! hello-c50/reference: 2 non-2xx responses: figures are not comparable" in lines
    assert ("! hello-c50/uvicorn: noisy machine: median steal 20%, other work on the server "
            "core 0%") in lines


def test_json_summary_keeps_the_fields_and_their_order():
    ok = HttpBench.summary("hello-c50", "reference", [Measurement(1, "hello-c50", "x", wrk(9.0))])
    assert list(ok.as_json()) == [
        "scenario", "server", "runs", "rps_median", "rps_min", "rps_max", "p99_ms_median",
        "wrk_cpu_median", "server_cpu_median", "steal_median", "foreign_median",
        "rps_per_cpu_median", "errors", "warnings"]
    failed = WsBench.summary("echo-c1", "reference", [Measurement(1, "echo-c1", "x", error="e")])
    data = failed.as_json()
    assert list(data)[3:8] == ["mps_median", "mps_min", "mps_max", "p99_ms_median",
                               "client_cpu_median"]
    assert data["client_cpu_max"] != data["client_cpu_max"]  # nan
    assert data["runs"] == 0 and data["errors"] == 1
    # A server that never produced a figure: the failures are counted as errors (the HTTP
    # driver used to write them into steal_median).
    errors: list[Measurement[WrkResult]] = [
        Measurement(n, "hello-c1", "x", error="e") for n in (1, 2)]
    data = HttpBench.summary("hello-c1", "reference", errors).as_json()
    assert data["errors"] == 2 and data["steal_median"] != data["steal_median"]  # nan


def test_ws_warnings_name_a_saturated_client_and_failed_rounds():
    group = [Measurement(1, "echo-c50", "uvicorn", ws(100.0, client_cpu=0.95, client_core=1.0)),
             Measurement(2, "echo-c50", "uvicorn", error="client did not get ready")]
    s = WsBench.summary("echo-c50", "uvicorn", group)
    assert s.warnings == [
        "CLIENT SATURATED: the client used up to 95% of its core; msg/s measures the client, "
        "not the server",
        "1 of 2 measurements failed",
    ]
    assert math.isclose(s.figures["mps_per_cpu_median"], 100.0)


def test_repeated_servers_get_distinct_labels():
    assert labels_for(["uvicorn", "reference", "uvicorn"]) == ["uvicorn", "reference",
                                                               "uvicorn#2"]


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536])
def test_frames_parse_back(size: int):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    masked = parse_frame(client_frame(0x2, payload))
    assert masked is not None and masked.masked and masked.payload == payload
    plain = parse_frame(server_frame(0x1, payload))
    assert plain is not None and not plain.masked and (plain.fin, plain.opcode) == (True, 0x1)
    assert parse_frame(server_frame(0x1, payload)[:-1] if size else b"\x81") is None


def test_connections_are_spread_evenly_over_client_processes():
    assert split_connections(50, 3) == [17, 17, 16]
    assert split_connections(1, 4) == [1]
