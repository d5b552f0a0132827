"""Cases on optional keys say n/a when the key is absent and fail when it is wrong: they
never pass by default. Run end to end against uvicorn behind a wrapper that removes the
optional keys from every scope, or gives them wrong values (tests/scope_tamper_server.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")

TAMPER = str(Path(__file__).with_name("scope_tamper_server.py"))

OPTIONAL_KEY_CASES = {
    "http_scope::test_raw_path_is_exact": "raw_path",
    "http_scope::test_client_address": "client",
    "http_scope::test_server_address": "server",
    "websocket_asgi::test_scope_raw_path": "raw_path",
    "websocket_asgi::test_scope_client": "client",
    "websocket_asgi::test_scope_server": "server",
    "asgi_main::test_http_spec_version_format": "spec_version",
    "asgi_main::test_extensions_is_a_dict": "extensions",
    "asgi_main::test_extension_keys_are_str": "extensions",
    "lifespan::test_lifespan_state_starts_empty": "state",
    "lifespan::test_lifespan_spec_version_format": "spec_version",
}
"""Case -> the optional key it judges; each is n/a without it and fails with it wrong."""

DEFAULTED = ["http_scope::test_spec_version_is_published",
             "lifespan::test_lifespan_spec_version"]
"""Cases whose key has a default the spec names: absent, the default is judged (a pass),
a wrong value fails."""


def _run(pytester: pytest.Pytester, mode: str) -> dict[str, dict[str, Any]]:
    names = {case.split("::")[1] for case in [*OPTIONAL_KEY_CASES, *DEFAULTED]}
    names.add("test_early_hint_advertised_when_implemented")
    command = (f"{sys.executable} {TAMPER} {mode} {{app}} --host {{host}} "
               f"--port {{port}}")
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--server-cmd", command, "--server-name", mode,
        "-k", " or ".join(sorted(names)), timeout=300)
    report = json.loads((pytester.path / "reports" / f"{mode}.json").read_text())
    return {case["case_id"]: case for case in report["cases"]}


def test_absent_optional_keys_are_not_applicable(pytester: pytest.Pytester) -> None:
    cases = _run(pytester, "omit")
    for case_id, key in OPTIONAL_KEY_CASES.items():
        verdict = cases[case_id]["verdict"]
        assert verdict == "n/a", f"{case_id} without {key}: {verdict}"
        assert cases[case_id]["message"].startswith("n/a: "), case_id
    for case_id in DEFAULTED:
        assert cases[case_id]["verdict"] == "pass", cases[case_id]


def test_wrong_optional_keys_fail(pytester: pytest.Pytester) -> None:
    cases = _run(pytester, "wrong")
    wrong = [*OPTIONAL_KEY_CASES, *DEFAULTED]
    wrong.remove("asgi_main::test_extensions_is_a_dict")  # the dict is a dict: pass
    for case_id in wrong:
        requirement = cases[case_id]["requirement"]
        strict = requirement["level"] in ("MUST", "WILL") and not requirement["derived"]
        expected = "fail" if strict else "non-strict"  # a MAY item never fails
        assert cases[case_id]["verdict"] == expected, cases[case_id]
    assert cases["asgi_main::test_extensions_is_a_dict"]["verdict"] == "pass"
    # advertised, yet send() refuses the hint: EXT-020 can fail for an advertising server
    early = cases["extensions::test_early_hint_advertised_when_implemented"]
    assert early["verdict"] == "fail" and "advertised" in early["message"], early
