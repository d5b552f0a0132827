"""The fuzz targets of ``bench/fuzz`` (python3 -m bench.fuzz): each runs, briefly and with a
fixed seed, in the test command, so the targets keep working and a regression in a parser
that a short run reaches fails here; the long runs are in bench/README.md ("Fuzzing").

Also checked: the checked-in seeds are what each target's ``seed_inputs()`` makes and
run clean, and each kind of invariant a target checks does fail when the parser breaks it
(an injected fault), so a green short run means something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fuzz import engine, h2, http11, websocket
from reference_server.http2.connection import H2Protocol
from reference_server.http11 import RequestParser
from reference_server.websocket import WebSocketConnection

ROOT = Path(__file__).resolve().parent.parent


def run_fuzz(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bench.fuzz", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("target", engine.TARGETS)
def test_checked_in_seeds_are_the_targets_and_run_clean(target):
    module = engine.load(target)
    seeds = module.seed_inputs()
    files = {p.name: p.read_bytes() for p in engine.seed_files(target)}
    assert files == seeds, "corpus out of date: python3 -m bench.fuzz TARGET --write-seeds"
    for data in seeds.values():
        module.one_input(data)


#: Inputs per target in the short run: a few seconds each on this project's machine.
SHORT_RUNS = {"http11": 3000, "websocket": 3000, "deflate": 6000, "handshake": 6000,
              "h2": 2000}


@pytest.mark.parametrize("target", engine.TARGETS)
def test_short_coverage_guided_run_finds_nothing(target, tmp_path):
    """A deterministic atheris run (fixed seed, fixed count of inputs)."""
    artifacts = tmp_path / "artifacts"
    result = run_fuzz(target, "--runs", str(SHORT_RUNS[target]), "--seed", "1",
                      "--seconds", "60", "--artifacts", str(artifacts),
                      "--work-corpus", str(tmp_path / "corpus"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"Done {SHORT_RUNS[target]} runs" in output, output[-2000:]
    assert not list(artifacts.iterdir()), "a finding was written"


def test_random_engine_is_deterministic_and_reports_findings(tmp_path):
    seeds = [b"GET / HTTP/1.1\r\n\r\n", b"\x81\x80abcd"]

    def inputs(seed: int) -> list[bytes]:
        seen: list[bytes] = []
        code = engine.random_engine(seen.append, seeds, seed=seed, seconds=60, runs=300,
                                    artifacts=tmp_path)
        assert code == 0
        return seen

    first = inputs(5)
    assert len(first) == 300 and first[:2] == seeds
    assert inputs(5) == first, "the same seed gave other inputs"
    assert inputs(6) != first

    def finds(data: bytes) -> None:
        if b"\r\n\r\n" not in data:
            raise ValueError("found")

    assert engine.random_engine(finds, seeds, seed=5, seconds=60, runs=300,
                                artifacts=tmp_path) == 1
    [crash] = tmp_path.glob("crash-*")
    assert b"\r\n\r\n" not in crash.read_bytes()
    # A reproducer is replayed by the command line; a missing file is a usage error.
    replay = run_fuzz("http11", "--replay", str(crash))
    assert replay.returncode == 0 and "ok" in replay.stdout, replay.stdout + replay.stderr
    missing = run_fuzz("http11", "--replay", str(tmp_path / "missing"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr, missing.stderr


@pytest.mark.parametrize("args", [["nope"], ["http11", "--seconds", "0"],
                                  ["http11", "--runs", "-1"], ["http11", "stray"],
                                  ["http11", "--engine", "random", "-max_len=10"],
                                  ["http11", "--engine", "random", "--artifacts",
                                   "/proc/no/such/dir"]])
def test_bad_command_lines_get_one_clear_line(args):
    result = run_fuzz(*args)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and "error:" in result.stderr, result.stderr


# -- the targets catch what they are for (faults injected into the parsers) --------------

GET = b"\x00\x03GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"


def test_http11_target_catches_an_undocumented_exception(monkeypatch):
    def broken(self):
        raise KeyError("bug")

    monkeypatch.setattr(RequestParser, "next_event", broken)
    with pytest.raises(KeyError):
        http11.one_input(GET)


def test_http11_target_catches_segmentation_dependence(monkeypatch):
    feed = RequestParser.feed

    def lossy(self, data):  # drops the last byte of every piece but the only one
        feed(self, data[:-1] if len(data) > 1 and len(data) < 40 else data)

    monkeypatch.setattr(RequestParser, "feed", lossy)
    with pytest.raises(AssertionError, match=r"cut at random places|one byte at a time"):
        http11.one_input(GET)


def test_http11_target_catches_unbounded_buffering(monkeypatch):
    from reference_server.http11.events import NEED_DATA

    monkeypatch.setattr(RequestParser, "_incomplete_head", lambda self: NEED_DATA)
    with pytest.raises(AssertionError, match="buffered waiting for data"):
        http11.one_input(b"\x02\x00GET /" + b"a" * 100)


def test_http11_target_catches_a_loop(monkeypatch):
    from reference_server.http11.events import Data

    monkeypatch.setattr(RequestParser, "_next_length_data", lambda self: Data(b"x"))
    with pytest.raises(AssertionError, match="the parser loops"):
        http11.one_input(b"\x00\x00POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")


def test_websocket_target_catches_an_escaped_exception_and_bad_buffering(monkeypatch):
    seed = (engine.CORPUS / "websocket" / "text").read_bytes()
    general = WebSocketConnection._next_general

    def keep(self):  # never consumes a control frame's bytes
        if len(self._buf) > 2 and self._buf[0] & 0x0F == 0x9:
            return None
        return general(self)

    monkeypatch.setattr(WebSocketConnection, "_next_general", keep)
    ping = b"\x89\x80abcd" * 40  # 40 empty pings
    with pytest.raises(AssertionError, match="bytes buffered"):
        websocket.one_input(seed[:2] + ping)
    monkeypatch.setattr(WebSocketConnection, "next_event", lambda self: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        websocket.one_input(seed)


def test_h2_target_catches_an_escaped_exception_and_segmentation_dependence(monkeypatch):
    seed = (engine.CORPUS / "h2" / "post").read_bytes()
    receive = H2Protocol.receive

    def by_size(self, data):  # reports a stream reset only for reads of one byte
        events = receive(self, data)
        return [*events, *([1] if len(data) == 1 and not self.terminated else [])]

    monkeypatch.setattr(H2Protocol, "receive", by_size)
    with pytest.raises((AssertionError, AttributeError)):
        h2.one_input(seed)
    def broken(self, data):
        raise KeyError("bug")

    monkeypatch.setattr(H2Protocol, "receive", broken)
    with pytest.raises(KeyError):
        h2.one_input(seed)
