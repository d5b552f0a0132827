"""The composite GitHub Action (``action.yml``), run on this machine as GitHub would run it.

What runs here: every ``run:`` step of the action, with bash as GitHub invokes it
(``bash --noprofile --norc -eo pipefail``), after substituting ``${{ inputs.* }}`` (the
action's defaults plus the test's inputs), ``${{ github.action_path }}`` (this checkout)
and ``${{ steps.*.outputs.* }}``, with ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY`` and
``RUNNER_TEMP`` in a temporary directory and the step conditions the action uses
(``always()``, ``inputs.X == '...'``, ``!=``) evaluated. ``python`` is this interpreter,
through a stub that records ``python -m pip ...`` instead of installing (no network here;
the suite is importable through PYTHONPATH). What does not run: the ``uses:`` steps
(actions/setup-python, actions/upload-artifact), which are only checked to be the
expected actions with the expected inputs.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml  # PyYAML: the dev extra

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
_COMPARE = re.compile(r"inputs\.([\w-]+) (==|!=) '([^']*)'")


@dataclass
class ActionRun:
    status: int
    """The action's result: the first failing step's exit status, else 0."""
    summary: str
    outputs: dict[str, dict[str, str]]
    uses: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    """The ``uses:`` steps reached: (action, its substituted ``with:``, its ``if:``)."""
    ran: list[str] = field(default_factory=list)
    pip_calls: list[list[str]] = field(default_factory=list)


def _inputs(given: dict[str, str]) -> dict[str, str]:
    declared = ACTION["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    return {name: str(spec.get("default", "")) for name, spec in declared.items()} | given


def _value(expr: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    if expr.startswith("inputs."):
        return inputs[expr.removeprefix("inputs.")]
    if expr == "github.action_path":
        return str(ROOT)
    match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
    if match:
        return outputs.get(match[1], {}).get(match[2], "")
    raise AssertionError(f"action.yml uses an expression this test does not model: {expr}")


def _substitute(text: str, inputs: dict[str, str],
                outputs: dict[str, dict[str, str]]) -> str:
    return _EXPR.sub(lambda m: _value(m[1], inputs, outputs), text)


def _runs(condition: str | None, inputs: dict[str, str], failed: bool) -> bool:
    if condition is None:
        return not failed  # success(), GitHub's default
    if condition == "always()":
        return True
    match = _COMPARE.fullmatch(condition)
    assert match, f"action.yml has a condition this test does not model: {condition}"
    equal = inputs[match[1]] == match[3]
    return not failed and (equal if match[2] == "==" else not equal)


def _python_stub(bindir: Path, pip_log: Path) -> None:
    """``python`` on PATH: this interpreter, except that ``python -m pip`` is recorded."""
    bindir.mkdir()
    stub = bindir / "python"
    stub.write_text(
        "#!/bin/bash\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        f"  printf '%s\\0' \"$@\" >> '{pip_log}'; printf '\\n' >> '{pip_log}'; exit 0\n"
        "fi\n"
        f'exec "{sys.executable}" "$@"\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)


def run_action(tmp_path: Path, given: dict[str, str], timeout: float = 1200) -> ActionRun:
    inputs = _inputs(given)
    workspace, runner = tmp_path / "workspace", tmp_path / "runner"
    workspace.mkdir()
    runner.mkdir()
    pip_log = runner / "pip.log"
    _python_stub(runner / "bin", pip_log)
    summary = runner / "summary.md"
    summary.touch()
    base_env = {**os.environ, "PATH": f"{runner / 'bin'}{os.pathsep}{os.environ['PATH']}",
                "PYTHONPATH": str(ROOT), "GITHUB_STEP_SUMMARY": str(summary),
                "RUNNER_TEMP": str(runner)}
    result = ActionRun(status=0, summary="", outputs={})
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if not _runs(step.get("if"), inputs, result.status != 0):
            continue
        if "uses" in step:
            with_ = {k: _substitute(str(v), inputs, result.outputs)
                     for k, v in step.get("with", {}).items()}
            result.uses.append((step["uses"], with_, step.get("if", "")))
            continue
        assert step.get("shell") == "bash", step["name"]
        output = runner / f"output-{index}"
        output.touch()
        env = base_env | {"GITHUB_OUTPUT": str(output)} | {
            k: _substitute(str(v), inputs, result.outputs) for k, v in step.get("env", {}).items()}
        script = runner / f"step-{index}.sh"
        script.write_text(_substitute(step["run"], inputs, result.outputs))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=workspace, env=env, timeout=timeout, check=False)
        result.ran.append(step["name"])
        if "id" in step:
            result.outputs[step["id"]] = dict(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        if done.returncode != 0 and result.status == 0:
            result.status = done.returncode
    result.summary = summary.read_text(encoding="utf-8")
    if pip_log.exists():
        result.pip_calls = [line.split("\0")[:-1]
                            for line in pip_log.read_text().splitlines() if line]
    return result


def _check_uses(run: ActionRun, report_dir: str) -> None:
    actions = [uses for uses, _, _ in run.uses]
    assert actions == ["actions/setup-python@v5", "actions/upload-artifact@v4"]
    setup = run.uses[0][1]
    assert setup == {"python-version": "3.12"}
    upload, condition = run.uses[1][1], run.uses[1][2]
    assert upload["path"] == report_dir and condition == "always()"


def test_no_input_is_spliced_into_a_script() -> None:
    """Inputs reach scripts as environment variables only (no shell injection)."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_install_step_installs_the_action_checkout_and_extra_pip(tmp_path: Path) -> None:
    run = run_action(tmp_path, {"server": "nosuchserver", "extra-pip": '-e . "my server==1.2"',
                                "suite-extras": "frameworks"})
    assert run.ran[0] == "Install the suite"
    assert run.pip_calls == [["-m", "pip", "install", f"{ROOT}[frameworks]", "-e", ".",
                              "my server==1.2"]]
    # and the unknown server: a usage error, the summary says there is no report
    assert run.status == pytest.ExitCode.USAGE_ERROR
    assert run.outputs["suite"]["exit-code"] == "4"
    assert "asgi-conformance wrote no Markdown report (reports/nosuchserver.md)" in run.summary
    _check_uses(run, "reports")


def test_uvicorn_with_its_baseline_is_green(tmp_path: Path) -> None:
    """The whole suite against uvicorn, gated on baselines/uvicorn.json (one full run)."""
    run = run_action(tmp_path, {"server": "uvicorn", "install": "false",
                                "baseline": str(ROOT / "baselines" / "uvicorn.json")})
    assert run.pip_calls == [], "install: false skips the install step"
    assert "Install the suite" not in run.ran
    assert run.status == 0, run.summary[:2000]
    assert run.outputs["suite"] == {"markdown-report": "reports/uvicorn.md", "exit-code": "0"}
    reports = tmp_path / "workspace" / "reports"
    for name in ("uvicorn.json", "uvicorn.xml", "uvicorn.md", "uvicorn.html",
                 "uvicorn-baseline.md"):
        assert (reports / name).is_file(), name
    markdown = (reports / "uvicorn.md").read_text(encoding="utf-8")
    assert markdown.startswith("# ASGI conformance: uvicorn ")
    assert run.summary.startswith("# Baseline comparison: uvicorn")
    assert run.summary.endswith(markdown), "the step summary holds the Markdown report"
    # each failure links to its requirement on the catalogue page of this checkout
    link = re.search(r"\*\*Catalogue:\*\* \[([^]]+)\]\(([^)#]+)#([^)]+)\)", markdown)
    assert link, "a failed case links to the catalogue page"
    page = (reports / link[2]).resolve()
    assert page == ROOT / "docs" / "requirements.html"
    assert f'id="{link[3]}"' in page.read_text(encoding="utf-8")
    _check_uses(run, "reports")


def test_a_baseline_regression_fails_the_action(tmp_path: Path) -> None:
    """A baseline that says a case uvicorn fails passed: the run step fails with pytest's
    status 1, and the summary and the upload still happen. Only that requirement's cases
    run (pytest-args), to keep it short."""
    baseline = json.loads((ROOT / "baselines" / "uvicorn.json").read_text())
    case = "asgi_http::test_app_transfer_encoding_ignored[gzip-no-length]"
    assert baseline["cases"][case] == "fail"
    baseline["cases"][case] = "pass"
    edited = tmp_path / "edited-baseline.json"
    edited.write_text(json.dumps(baseline))
    run = run_action(tmp_path, {"server": "uvicorn", "install": "false",
                                "baseline": str(edited), "report-dir": "out/conformance",
                                "pytest-args": "--requirement HTTP-024", "python-version": ""})
    assert run.status == 1
    assert run.outputs["suite"]["exit-code"] == "1"
    assert run.ran == ["Run the conformance suite", "Summarise the report"]
    assert [uses for uses, _, _ in run.uses] == ["actions/upload-artifact@v4"], \
        "no setup-python without a python-version; the upload runs after the failure"
    assert run.uses[0][1]["path"] == "out/conformance"
    assert case in run.summary and "# ASGI conformance: uvicorn" in run.summary
    assert (tmp_path / "workspace" / "out" / "conformance" / "uvicorn.html").is_file()


def test_a_report_too_long_for_the_job_summary_is_cut(tmp_path: Path) -> None:
    """GitHub takes at most 1 MiB of summary per step: the summary step cuts the report
    and says where the whole one is."""
    (step,) = [s for s in ACTION["runs"]["steps"] if s["name"] == "Summarise the report"]
    report = tmp_path / "big.md"
    report.write_text("# ASGI conformance: big\n" + "x" * 2_000_000 + "\nTHE-END\n")
    summary = tmp_path / "summary.md"
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=tmp_path,
        env={**os.environ, "MARKDOWN_REPORT": str(report), "GITHUB_STEP_SUMMARY": str(summary),
             "RUNNER_TEMP": str(tmp_path)}, timeout=60, check=False)
    assert done.returncode == 0
    text = summary.read_text()
    assert text.startswith("# ASGI conformance: big") and "THE-END" not in text
    assert len(text.encode()) < 1024 * 1024
    assert text.endswith("(cut here: the whole report is in the uploaded artifact)\n")
