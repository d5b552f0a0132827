"""The benchmarks' shared driver, h2load's output and the WebSocket client's wire, without
running a benchmark.

What a run prints (its tables) and records (``--json``) is read by people and by later
``--from-json`` runs, so its shape is pinned here; the figures themselves come from real
runs only (no timing assertions). h2load's output and request log are read from captured
real runs (``tests/data/h2load``).
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from pathlib import Path

import pytest

from bench import http_bench
from bench.driver import Measurement, labels_for, percentile
from bench.h2_bench import SCENARIOS as H2_SCENARIOS
from bench.h2_bench import SERVERS as H2_SERVERS
from bench.h2_bench import (
    H2Bench,
    H2loadFailed,
    H2Result,
    curl_command,
    h2load_command,
    judge,
    parse_h2load,
    read_request_log,
)
from bench.http_bench import HttpBench, WrkResult
from bench.machine import MeasurementFailed, run_load
from bench.ws_bench import WsBench, WsResult, split_connections
from bench.ws_wire import client_frame, parse_frame, server_frame

H2LOAD = Path(__file__).parent / "data" / "h2load"


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


# --------------------------------------------------------------------------- h2load


def h2(rps: float, **changes: float) -> H2Result:
    figures = dict(rps=rps, p99_ms=5.0, requests=1000, succeeded=1000, failed=0, errored=0,
                   timeouts=0, status_2xx=1000, status_3xx=0, status_4xx=0, status_5xx=0,
                   min_ms=0.1, mean_ms=2.0, max_ms=9.0, sd_ms=1.0, h2load_cpu=0.3,
                   server_cpu=1.0, wall_s=10.0, answering_s=10.0, steal=0.0, foreign=0.0)
    return H2Result(**{**figures, **changes})  # type: ignore[arg-type]


def h2load_output(name: str) -> str:
    return (H2LOAD / f"{name}.txt").read_text()


def test_h2load_summary_of_a_good_run():
    f = parse_h2load(h2load_output("granian-hello"))  # granian, GET /, -c 10 -m 10 -D 1
    assert f.protocol == "h2c"
    assert f.rps == 45346.0
    assert (f.requests, f.succeeded, f.failed, f.errored, f.timeouts) == (45346, 45346, 0, 0, 0)
    assert f.status == (45346, 0, 0, 0)
    assert f.request_ms == pytest.approx((0.133, 7.85, 2.07, 1.00))  # min, max, mean, sd (µs, ms)
    judge(f)


def test_h2load_status_counts_include_the_warm_up():
    """gunicorn, POST /json: h2load counted 1642 2xx answers for 1605 requests done."""
    f = parse_h2load(h2load_output("gunicorn-post"))
    assert (f.rps, f.requests, f.succeeded) == (1605.0, 1605, 1605)
    assert f.status == (1642, 0, 0, 0)
    assert f.request_ms == pytest.approx((38.90, 87.92, 60.73, 8.92))
    judge(f)


def test_h2load_failures_are_counted():
    not_found = parse_h2load(h2load_output("granian-404"))  # GET /missing
    assert (not_found.succeeded, not_found.failed, not_found.errored) == (0, 8016, 0)
    assert not_found.status == (0, 0, 8016, 0)
    # The reference server before it spoke HTTP/2 (h2load -n 1 -c 1: "finished in 1.45ms").
    errored = parse_h2load(h2load_output("reference-n1"))
    assert (errored.rps, errored.requests, errored.failed, errored.errored) == (0.0, 0, 1, 1)
    with pytest.raises(H2loadFailed, match="no request successfully"):
        judge(not_found)


@pytest.mark.parametrize(("name", "detail"), [
    # An HTTP/1.1-only server: h2load says h2c, then nothing happens for the whole run.
    ("reference-hello", r"\(0 requests done, 0 succeeded, 0 failed \(0 errored\)\)$"),
    # Nothing listening: no connection, so no "Application protocol" line.
    ("refused", "; no connection reached HTTP/2$"),
])
def test_h2load_run_without_an_answer_is_a_failure(name: str, detail: str):
    f = parse_h2load(h2load_output(name))
    assert f.requests == 0
    with pytest.raises(H2loadFailed, match="completed no request successfully") as exc:
        judge(f)
    assert exc.match(detail)


def test_h2load_output_without_a_summary_is_a_failure():
    with pytest.raises(H2loadFailed, match="could not parse h2load output"):
        parse_h2load("h2load: unrecognized option '--nope'\nUsage: h2load [OPTIONS]... <URI>...")
    with pytest.raises(H2loadFailed, match=r"spoke 'http/1\.1', not h2c"):
        judge(parse_h2load(h2load_output("granian-hello").replace("h2c", "http/1.1")))


def test_p99_and_answering_time_from_the_request_log():
    """The first 200 rows of gunicorn's log (POST /json), 5 of them with status 0; by
    ``sort -n -k3``, the durations ranked 199 and 200 are 64507 and 64509 µs, and the
    responses ended over 101,185 µs (awk over start + duration)."""
    text = (H2LOAD / "gunicorn-post-head200.log").read_text()
    log = read_request_log(text)
    assert (log.p99_ms, log.requests) == (64.507, 200)
    assert log.answering_s == pytest.approx(0.101185)
    # A failed stream (status -1, as h2load documents it) and a torn line are left out.
    assert read_request_log(text + "1796290334999999\t-1\t999999\n17962903\t2") == log
    empty = read_request_log("")
    assert math.isnan(empty.p99_ms) and (empty.requests, empty.answering_s) == (0, 0.0)


def test_percentile_is_nearest_rank():
    assert percentile(list(range(100)), 0.99) == 99
    assert percentile(list(range(1000)), 0.99) == 990
    assert percentile([7], 0.5) == 7


def test_h2load_and_curl_commands(tmp_path: Path):
    log, body = tmp_path / "h2load.log", tmp_path / "post.json"
    assert h2load_command("http://127.0.0.1:8000/", H2_SCENARIOS["h2-hello"], 10, log, None) == [
        "h2load", "--threads=1", "--clients=10", "--max-concurrent-streams=10",
        "--duration=10", "--warm-up-time=2", f"--log-file={log}", "http://127.0.0.1:8000/"]
    post = h2load_command("http://127.0.0.1:8000/json", H2_SCENARIOS["h2-post"], 3, log, body)
    assert post[-4:] == [f"--log-file={log}", f"--data={body}",
                         "--header=content-type: application/json",
                         "http://127.0.0.1:8000/json"]
    assert curl_command(8000, "/", post=False) == [
        "curl", "--silent", "--show-error", "--http2-prior-knowledge", "--max-time", "5",
        "--write-out", "\\n%{http_code} %{http_version}", "http://127.0.0.1:8000/"]
    assert curl_command(8000, "/json", post=True)[-4:] == [
        "content-type: application/json", "--data-binary", "@-", "http://127.0.0.1:8000/json"]


def test_h2_servers_share_the_http_commands():
    assert list(H2_SERVERS) == ["reference", "granian", "hypercorn", "gunicorn",
                                "hypercorn-default"]
    assert H2_SERVERS["reference"] == http_bench.SERVERS["reference"]
    assert H2_SERVERS["hypercorn-default"] == http_bench.SERVERS["hypercorn"]
    # hypercorn, with its per-connection cap of 1000 requests lifted (h2load never reconnects)
    assert H2_SERVERS["hypercorn"] == [*http_bench.SERVERS["hypercorn"], "--config",
                                       "bench/hypercorn_h2.toml"]
    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "bench" / "hypercorn_h2.toml").read_text())
    assert config == {"keep_alive_max_requests": 1_000_000_000}
    gunicorn = H2_SERVERS["gunicorn"]
    assert gunicorn[:5] == [sys.executable, "-m", "gunicorn", "-k", "asgi"]
    for flag, value in (("--http-parser", "python"), ("--http-protocols", "h2,h1"),
                        ("--http2-cleartext", "both"), ("--bind", "127.0.0.1:{port}")):
        assert gunicorn[gunicorn.index(flag) + 1] == value
    granian = H2_SERVERS["granian"]
    assert granian[granian.index("--http") + 1] == "auto"
    assert all("bench.apps:app" in command for command in H2_SERVERS.values())


@pytest.mark.parametrize(("argv", "baselines"), [
    ([], ["gunicorn", "hypercorn"]),
    (["--servers", "granian,hypercorn,gunicorn"], ["gunicorn", "hypercorn"]),
    (["--servers", "reference,hypercorn"], ["hypercorn"]),
    (["--servers", "hypercorn,reference"], ["reference", "hypercorn"]),
    (["--baseline", "hypercorn"], ["hypercorn"]),
    (["--servers", "gunicorn,gunicorn", "--baseline", "gunicorn#2"], ["gunicorn#2"]),
])
def test_ratio_baselines(argv: list[str], baselines: list[str]):
    assert H2Bench.parse_args(argv).baseline_list == baselines


def test_other_benchmarks_compare_with_the_last_server_only():
    assert HttpBench.parse_args([]).baseline_list == ["uvicorn"]
    assert WsBench.parse_args(["--servers", "uvicorn,hypercorn"]).baseline_list == ["hypercorn"]


def test_unknown_baseline_is_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        H2Bench.parse_args(["--baseline", "uvicorn"])
    assert "--baseline 'uvicorn' is not a label of --servers" in capsys.readouterr().err


def test_h2_tables_have_ratios_against_each_baseline_and_warnings():
    measurements = [
        Measurement(1, "h2-hello", "reference", error="reference: h2c GET / failed"),
        Measurement(1, "h2-hello", "granian", h2(50000.0, h2load_cpu=0.95)),
        Measurement(1, "h2-hello", "hypercorn", h2(1000.0, server_cpu=0.5, p99_ms=40.0,
                                                   answering_s=1.5, wall_s=8.0)),
        Measurement(1, "h2-hello", "gunicorn", h2(2500.0, failed=3, errored=2, status_5xx=1,
                                                  p99_ms=50.0)),
    ]
    labels = ["reference", "granian", "hypercorn", "gunicorn"]
    summaries = H2Bench.summarize(measurements, ["h2-hello"], labels)
    lines = H2Bench.format_tables(summaries, labels, ["gunicorn", "hypercorn"]).splitlines()
    assert lines[0] == ("| scenario | server | runs | req/s (median) | req/s min–max "
                        "| p99 ms (median) | req per server CPU-s | h2load CPU | server CPU "
                        "| steal |")
    assert "| h2-hello | hypercorn | 1 | 1,000 | 1,000–1,000 | 40.00 | 2,000 | 30% | 50% | 0% |" \
        in lines
    ratios = [line for line in lines if line.count("|") == 7 and "/" in line.split("|")[2]]
    assert ratios == [
        "| h2-hello | reference/gunicorn | n/a | n/a | n/a | n/a |",
        "| h2-hello | granian/gunicorn | 20.00 | 0.10 | 20.00 | 20.00 |",
        "| h2-hello | hypercorn/gunicorn | 0.40 | 0.80 | 0.80 | 0.40 |",
        "| h2-hello | reference/hypercorn | n/a | n/a | n/a | n/a |",
        "| h2-hello | granian/hypercorn | 50.00 | 0.12 | 25.00 | 50.00 |",
        "| h2-hello | gunicorn/hypercorn | 2.50 | 1.25 | 1.25 | 2.50 |",
    ]
    assert ("! h2-hello/granian: h2load used up to 95% of its core: the load generator may be "
            "the bottleneck, req/s understates the server") in lines
    assert ("! h2-hello/hypercorn: answers came during only 1.5s of a 8.0s window (1 of 1 "
            "runs): the server closed or stalled connections and h2load does not reconnect, "
            "so req/s understates it") in lines
    assert ("! h2-hello/gunicorn: 3 failed requests (2 errored: reset streams, network "
            "failures): figures are not comparable") in lines
    assert "! h2-hello/gunicorn: 1 non-2xx responses: figures are not comparable" in lines
    assert lines[2] == "| h2-hello | reference | 0 | failed | | | | | | |"


def test_h2_json_summary_fields():
    s = H2Bench.summary("h2-post", "gunicorn", [Measurement(1, "h2-post", "gunicorn", h2(9.0))])
    assert list(s.as_json()) == [
        "scenario", "server", "runs", "rps_median", "rps_min", "rps_max", "p99_ms_median",
        "h2load_cpu_median", "h2load_cpu_max", "server_cpu_median", "steal_median",
        "foreign_median", "rps_per_cpu_median", "errors", "warnings"]


# --------------------------------------------------------------------------- run_load


def _a_cpu() -> str:
    return str(min(os.sched_getaffinity(0)))


def test_run_load_measures_between_the_markers():
    script = "echo warming; sleep 0.2; echo go; sleep 0.3; echo stop; echo summary"
    run = run_load(["sh", "-c", script], _a_cpu(), timeout=10, window=("go", "stop"))
    assert run.output == "warming\ngo\nstop\nsummary\n"
    assert 0 < run.wall < 10 and run.load_cpu >= 0
    whole = run_load(["sh", "-c", "echo done"], _a_cpu(), timeout=10)
    assert whole.output == "done\n" and whole.wall > 0


@pytest.mark.parametrize(("script", "window", "message"), [
    ("echo go; exit 3", None, "sh exited with 3: go"),
    ("echo go", ("go", "stop"), "sh never printed 'stop': go"),
    ("echo warming", ("go", "stop"), "sh never printed 'go': warming"),
    ("sleep 5", None, "sh did not finish within 1s"),
])
def test_run_load_failures(script: str, window: tuple[str, str] | None, message: str):
    with pytest.raises(MeasurementFailed) as exc:
        run_load(["sh", "-c", script], _a_cpu(), timeout=1, window=window)
    assert str(exc.value) == message
