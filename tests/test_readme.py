"""README's two commands are what users and CI run: keep them true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _first_section_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    first = text.split("\n## ", 2)[1]
    return re.findall(r"```bash\n(.*?)\n```", first, re.S)


def test_readme_opens_with_exactly_two_commands():
    commands = _first_section_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in c for c in commands), "each command is one copy-paste line"


def test_ci_runs_the_readme_test_command_word_for_word():
    test_command = _first_section_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_test_command_runs_own_tests_and_two_peers():
    test_command = _first_section_commands()[1]
    assert "pytest tests" in test_command
    assert "--server=uvicorn" in test_command and "--server=hypercorn" in test_command


def test_main_job_and_ci_judge_the_reference_server_strictly():
    """The reference server must pass every case: no --fail-on=error leniency for it."""
    main, test_command = _first_section_commands()
    for command in (main, test_command):
        assert "pytest --server=reference" in command
        reference_run = command.split("pytest --server=reference", 1)[1].split("&&")[0]
        assert "--fail-on=error" not in reference_run


def test_peers_are_gated_on_committed_baselines():
    """CI fails when a harness change flips a peer's verdict: the peers run against the
    baselines in baselines/, installed at the versions those were written with."""
    test_command = _first_section_commands()[1]
    assert "-c baselines/constraints.txt" in test_command
    for peer in ("uvicorn", "hypercorn"):
        run = test_command.split(f"pytest --server={peer}", 1)[1].split("&&")[0]
        assert f"--baseline baselines/{peer}.json" in run
        assert (ROOT / "baselines" / f"{peer}.json").is_file()
