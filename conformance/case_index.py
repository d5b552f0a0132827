"""Which cases judge which requirement, found by pytest's own collection of the suite.

A case names its requirement with ``@pytest.mark.requirement("ID")``, on the function or
on one ``pytest.param`` of it (the h2spec and Autobahn ports give every parameter its own
requirement, built at collection time by ``pytest_generate_tests``). Reading the source
would miss those, so the only faithful answer is pytest's: collect the installed suite
(``--collect-only``, no server is started, no case runs) and ask each item what the
plugin itself asks it, :func:`conformance.session.requirement_of`.

Collection runs in a subprocess, so that the caller's own pytest session (a test, the
``catalogue`` command) is not disturbed, with a bounded wait. ``--autobahn-performance``
is given so the index also holds the cases only that option runs (Autobahn category 9).
The subprocess loads this module as a plugin (``-p conformance.case_index``); its hook
writes the index to the file named by :data:`INDEX_ENV` and does nothing otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

INDEX_ENV = "ASGI_CONFORMANCE_CASE_INDEX"
SUITE_DIR = Path(__file__).resolve().parent / "suite"
COLLECT_TIMEOUT = 180.0
"""Seconds the collection may take (about 4 s on the development VM)."""


class CaseIndexError(RuntimeError):
    """The suite could not be collected; the message says why in one line."""


def pytest_collection_finish(session: pytest.Session) -> None:
    target = os.environ.get(INDEX_ENV)
    if not target:
        return
    from conformance.session import case_id, is_case, requirement_of

    pairs = sorted((case_id(item), requirement_of(item).id)
                   for item in session.items if is_case(item))
    Path(target).write_text(json.dumps(pairs), encoding="utf-8")


def collect_cases(timeout: float = COLLECT_TIMEOUT) -> dict[str, list[str]]:
    """Requirement id → the sorted ids of the cases judging it (as reports name them).

    Raises :class:`CaseIndexError` when the collection fails or outlasts ``timeout``.
    """
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    # The subprocess must collect this very suite, whatever an installed copy says.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory(prefix="asgi-conformance-index-") as tmp:
        out = Path(tmp) / "index.json"
        env[INDEX_ENV] = str(out)
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q",
                   "-p", "no:cacheprovider", "-p", "conformance.case_index",
                   "--autobahn-performance", "--rootdir", tmp, str(SUITE_DIR)]
        try:
            done = subprocess.run(command, env=env, cwd=tmp, capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CaseIndexError(
                f"collecting the suite took longer than {timeout:g} s") from None
        if done.returncode != 0 or not out.is_file():
            tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
            raise CaseIndexError(
                f"collecting the suite failed (pytest exit status {done.returncode}): "
                f"{tail[0]}")
        pairs = json.loads(out.read_text(encoding="utf-8"))
    index: dict[str, list[str]] = {}
    for case, requirement in pairs:
        index.setdefault(requirement, []).append(case)
    return {req: sorted(cases) for req, cases in sorted(index.items())}
