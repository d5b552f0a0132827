"""Running HTTP/2 cases against the deliberately broken h2 server (``broken_h2_server.py``),
as a server author's run would: a separate pytest process with ``--server-cmd``, reading
the verdicts back from the JSON report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BROKEN_H2 = str(Path(__file__).with_name("broken_h2_server.py"))


def broken_h2_cmd(faults: str, server: str = BROKEN_H2) -> str:
    return (f"{sys.executable} {server} {faults} --host {{host}} --port {{port}} "
            f"--app {{app}}")


def h2_verdicts(pytester: pytest.Pytester, module: str, faults: str, *args: str,
                server: str = BROKEN_H2) -> dict[str, str]:
    """Run the suite module ``module`` (e.g. ``test_h2_connect``) against the broken server
    with ``faults``; every case id mapped to its verdict."""
    import conformance.suite

    path = Path(conformance.suite.__file__).with_name(f"{module}.py")
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", str(path), "--server-cmd", broken_h2_cmd(faults, server),
        "--server-name", "broken", "--server-option", "h2c=", *args, timeout=300)
    report = json.loads((pytester.path / "reports" / "broken.json").read_text())
    return {case["case_id"]: case["verdict"] for case in report["cases"]}
