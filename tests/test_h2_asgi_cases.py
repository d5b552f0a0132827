"""The ASGI-over-HTTP/2 cases against a deliberately broken ASGI server over h2c
(``tests/broken_h2_asgi_server.py``): without faults it passes them, and with each fault
switched on, no case that fault targets passes (MUST/WILL cases fail, SHOULD, MAY and
derived ones are at best non-strict), so none of them can pass vacuously.

Faults whose targets do not overlap share one server run, to keep this under ~90 s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
BROKEN = str(Path(__file__).with_name("broken_h2_asgi_server.py"))

# fault -> the cases (test names, parametrized ids included) it must keep from passing
TARGETS: dict[str, list[str]] = {
    "pseudo": ["test_h2_pseudo_headers_removed_host_from_authority",
               "test_h2_websocket_pseudo_headers_removed"],
    "http11": ["test_h2_http_version", "test_h2_websocket_http_version"],
    "bad-scheme": ["test_h2_scheme"],
    "no-host": ["test_h2_pseudo_headers_removed_host_from_authority",
                "test_h2_websocket_pseudo_headers_removed"],
    "join-cookies": ["test_h2_cookie_fields_stay_separate"],
    "shared-scope": ["test_h2_one_call_per_stream", "test_h2_streams_get_their_own_scope"],
    "cl-mismatch": ["test_h2_content_length_matches_data"],
    "empty-ends": ["test_h2_body_chunks_concatenate",
                   "test_h2_body_chunks_counted_against_content_length"],
    "length-per-event": ["test_h2_body_chunks_counted_against_content_length"],
    "conn-headers": ["test_h2_connection_specific_header_dropped"],
    "head-body": ["test_h2_head_response_has_no_body", "test_h2_no_content_for_204_304"],
    "no-continue": ["test_h2_expect_100_continue"],
    "serial": ["test_h2_slow_stream_does_not_hold_fast"],
    "trailers-always": ["test_h2_no_trailers_without_te"],
    "no-early-hints": ["test_h2_early_hint_as_103"],
    "bad-files": ["test_h2_pathsend", "test_h2_zerocopysend_mixed_with_body"],
    "no-push": ["test_h2_push_promise_sent", "test_h2_pushed_path_served_by_the_app",
                "test_h2_push_promise_authority"],
    "no-disconnect": ["test_h2_rst_stream_gives_disconnect", "test_h2_rst_stream_mid_body"],
    "silent-send": ["test_h2_send_after_reset_raises_oserror"],
    "buffer": ["test_h2_send_waits_for_flow_control"],
    "lose-data": ["test_h2_body_over_data_frames"],
    "whole-body": ["test_h2_body_streamed_as_data_arrives"],
    "rst-kills": ["test_h2_rst_stream_spares_the_connection"],
    "no-trailers": ["test_h2_trailers_with_te"],
    "push-anyway": ["test_h2_no_push_promise_when_disabled"],
    "no-goaway": ["test_h2_goaway_on_graceful_shutdown",
                  "test_h2_inflight_stream_completed_on_shutdown"],
    "ws-broken": ["test_h2_websocket_echo", "test_h2_websocket_close_before_accept_is_403",
                  "test_h2_websocket_denial_response"],
}

# faults that share a run: no fault of a group touches what another one's targets judge
GROUPS = [
    ("pseudo", "http11", "bad-scheme"),
    ("no-host", "join-cookies"),
    ("shared-scope", "cl-mismatch", "conn-headers", "head-body", "no-continue"),
    ("serial", "trailers-always", "no-early-hints", "bad-files", "no-push"),
    ("no-disconnect", "silent-send", "buffer", "lose-data"),
    ("whole-body", "rst-kills", "no-trailers", "push-anyway"),
    ("no-goaway", "ws-broken"),
    ("empty-ends",),
    ("length-per-event",),
]

SUITE = ["conformance/suite/test_h2_asgi.py", "conformance/suite/test_h2_asgi_response.py",
         "conformance/suite/test_h2_websocket.py"]


def run_broken(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, faults: str,
               names: list[str]) -> list[dict[str, Any]]:
    """Run the cases ``names`` (all of the h2 ASGI cases when empty) against the broken
    server with ``faults``; the cases of the JSON report."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    cmd = f"{sys.executable} {BROKEN} {faults} --host {{host}} --port {{port}} --app {{app}}"
    select = ["-k", " or ".join(sorted(set(names)))] if names else []
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--server-cmd", cmd, "--server-name", "broken",
        "--server-option", "h2c=", *(str(REPO / s) for s in SUITE), *select, timeout=120)
    report = json.loads((pytester.path / "reports" / "broken.json").read_text())
    cases: list[dict[str, Any]] = report["cases"]
    return cases


def _name(case: dict[str, Any]) -> str:
    return str(case["case_id"]).split("::", 1)[1].split("[", 1)[0]


def test_no_fault_passes_the_cases(pytester, monkeypatch):
    """Without faults the server passes every case it can be judged on (the fixture is
    right where the faults are not)."""
    cases = run_broken(pytester, monkeypatch, "none", [])
    assert {_name(c) for c in cases} >= {n for names in TARGETS.values() for n in names}
    wrong = [(c["case_id"], c["verdict"], c["message"][:200]) for c in cases
             if c["verdict"] != "pass"]
    assert not wrong, wrong


@pytest.mark.parametrize("group", GROUPS, ids=["+".join(g) for g in GROUPS])
def test_no_targeted_case_passes(pytester, monkeypatch, group):
    """Each fault keeps every case it targets from passing: a strict (MUST/WILL) case
    fails, a SHOULD, MAY or derived one fails or is non-strict; none is an error or n/a."""
    targets = {fault: TARGETS[fault] for fault in group}
    cases = run_broken(pytester, monkeypatch, ",".join(group),
                       [n for names in targets.values() for n in names])
    for fault, names in targets.items():
        judged = [c for c in cases if _name(c) in names]
        assert {_name(c) for c in judged} == set(names), (fault, [c["case_id"] for c in cases])
        for case in judged:
            requirement = case["requirement"]
            strict = requirement["level"] in ("MUST", "WILL") and not requirement["derived"]
            allowed = ("fail",) if strict else ("fail", "non-strict")
            assert case["verdict"] in allowed, (fault, case["case_id"], case["verdict"],
                                                case["message"][:300])
