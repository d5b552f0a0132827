"""The mutation runner's bookkeeping (bench/mutation.py), without running a mutant.

What people read from it are the two scores and the survivor list, and what makes a run
trustworthy is which mutants are left out (artifacts, equivalents), when a stage re-runs,
and that a sample can grow without changing the mutants already judged: those are pinned
here. Running real mutants needs cosmic-ray and minutes per mutant (bench/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import mutation
from bench.mutation import Mutant, Run, artifact, needs_run, scores, shuffled, stage_command

SOURCE = '''from __future__ import annotations

def f(x: bytes | None, *, y: int = 1) -> int | None:
    total: int | None = y + 1
    return total
'''


def test_annotation_only_mutants_are_artifacts_but_code_mutants_are_not() -> None:
    assert artifact(SOURCE, SOURCE.replace("bytes | None", "bytes * None")) == "annotation"
    assert artifact(SOURCE, SOURCE.replace("-> int | None", "-> int ** None")) == "annotation"
    assert artifact(SOURCE, SOURCE.replace("total: int | None", "total: int - None")) \
        == "annotation"
    assert artifact(SOURCE, SOURCE.replace("y + 1", "y - 1")) is None
    assert artifact(SOURCE, SOURCE.replace("y: int = 1", "y: int = 2")) is None


def test_unparsable_mutants_are_artifacts() -> None:
    assert artifact(SOURCE, SOURCE.replace("*, y", "<<, y")) == "syntax"


def test_annotations_are_code_without_postponed_evaluation() -> None:
    """Without the __future__ import an annotation is evaluated at definition time, so a
    mutant there is a real (import-time) fault, not an artifact."""
    eager = SOURCE.split("\n", 1)[1]
    assert artifact(eager, eager.replace("bytes | None", "bytes * None")) is None


def test_a_larger_sample_of_the_same_seed_extends_the_smaller() -> None:
    population = list(range(500))
    small, large = shuffled(population, 7)[:50], shuffled(population, 7)[:120]
    assert large[:50] == small
    assert shuffled(population, 8)[:50] != small
    assert sorted(shuffled(population, 7)) == population


def _mutant(mid: str, module: str = "reference_server/lifespan.py",
            original: str = "a = 1", mutated: str = "a = 2") -> Mutant:
    return Mutant(id=mid, module=module, operator="core/NumberReplacer", occurrence=0,
                  line=3, original=original, mutated=mutated, diff="")


def _results(*rows: tuple[str, str, str]) -> dict[tuple[str, str], dict[str, str]]:
    return {(mid, stage): {"outcome": outcome} for mid, stage, outcome in rows}


def test_scores_leave_out_equivalents_and_unjudged_mutants() -> None:
    mutants = [_mutant(f"m{i}") for i in range(1, 7)] + [_mutant("m7", mutated="a = 0")]
    results = _results(
        ("m1", "suite", "killed"),
        ("m2", "suite", "survived"), ("m2", "project", "killed"),
        ("m3", "suite", "flaky"), ("m3", "project", "survived"),
        ("m4", "suite", "survived"),                      # project stage not run yet
        ("m5", "suite", "broken"), ("m5", "project", "survived"),
        ("m6", "suite", "killed"), ("m6", "project", "broken"),   # an older project run
        ("m7", "suite", "survived"), ("m7", "project", "survived"),
    )
    equivalents = [{"module": "reference_server/lifespan.py", "operator": "NumberReplacer",
                    "original": "a = 1", "mutated": "a = 0", "why": "a is never read"}]
    s = scores(mutants, results, equivalents)
    assert [m.id for m in s.equivalent] == ["m7"]
    assert [m.id for m in s.pending] == ["m4"]
    assert [m.id for m in s.broken] == ["m5"]
    assert [m.id for m in s.suite_killed] == ["m1", "m6"]
    assert [m.id for m in s.project_killed] == ["m2"]
    assert [m.id for m in s.survivors] == ["m3"]
    assert s.judged == 4
    assert s.score(2) == "2/4 = 50.0 %"


def test_project_stage_runs_only_for_suite_survivors_and_recheck_reruns_survivors() -> None:
    results = _results(("a", "suite", "killed"), ("b", "suite", "survived"),
                       ("c", "suite", "flaky"), ("c", "project", "survived"),
                       ("d", "suite", "broken"))
    assert not needs_run(results, "a", "project", recheck=True)
    assert needs_run(results, "b", "project", recheck=False)
    assert not needs_run(results, "x", "project", recheck=False)     # suite not run yet
    assert needs_run(results, "x", "suite", recheck=False)
    assert not needs_run(results, "c", "suite", recheck=False)
    assert needs_run(results, "c", "suite", recheck=True)
    assert not needs_run(results, "a", "suite", recheck=True)        # a reproduced kill stays
    assert needs_run(results, "d", "suite", recheck=False)           # harness error: again


def test_failing_tests_are_read_from_pytests_short_summary() -> None:
    output = ("....F\n=== short test summary info ===\n"
              "FAILED conformance/suite/test_wire_fields.py::test_x[a b] - AssertionError: no\n"
              "ERROR conformance/suite/test_lifespan.py::test_y\n"
              "FAILED conformance/suite/test_wire_fields.py::test_x[a b] - again\n"
              "ERROR    reference_server.error:instance.py:61 Exception in ASGI app\n"
              "ERROR tests/reference/test_y.py - ImportError\n"
              "1 failed, 1 error, 3 passed in 4.20s\n")
    run = Run(1, 4.2, output)
    assert run.failing == ["conformance/suite/test_wire_fields.py::test_x[a b]",
                           "conformance/suite/test_lifespan.py::test_y",
                           "tests/reference/test_y.py"]
    assert run.summary == "1 failed, 1 error, 3 passed"


def test_the_suite_stage_puts_the_mutated_parts_files_first(tmp_path: Path) -> None:
    suite = tmp_path / "conformance" / "suite"
    suite.mkdir(parents=True)
    for name in ("test_app_errors.py", "test_h2_dos.py", "test_lifespan.py", "_h2.py"):
        (suite / name).write_text("")
    argv = stage_command("suite", tmp_path, tmp_path / "work",
                         "reference_server/http2/connection.py")
    files = [a for a in argv if a.startswith("conformance/")]
    assert files == ["conformance/suite/test_h2_dos.py", "conformance/suite/test_app_errors.py",
                     "conformance/suite/test_lifespan.py"]
    assert "-x" in argv and "--server=reference" in argv
    rerun = stage_command("suite", tmp_path, tmp_path / "work", None, ["t.py::a"])
    assert rerun[-1] == "t.py::a" and "-x" not in rerun
    assert stage_command("project", tmp_path, tmp_path, None)[-2:] == ["-x", "tests/reference"]


def test_bad_input_gets_a_message_not_a_traceback(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert mutation.main(["report", "--work", str(tmp_path)]) == 2
    assert "not an initialised work directory" in capsys.readouterr().err
    (tmp_path / "sample.json").write_text(json.dumps({"mutants": []}))
    assert mutation.main(["run", "--work", str(tmp_path), "--ids", "m999"]) == 2
    assert "no such mutant" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        mutation.main(["run", "--work", str(tmp_path), "--timeout", "0"])


def test_the_committed_equivalents_are_well_formed() -> None:
    for row in mutation.load_equivalents():
        assert set(row) >= {"module", "operator", "original", "mutated", "why"}, row
        assert row["why"].strip(), row
        assert (mutation.REPO / row["module"]).is_file(), row


def test_a_pass_turned_non_strict_or_na_is_noticed_but_more_tests_are_not() -> None:
    base = "1241 passed, 7 skipped, 11 non-strict"
    assert mutation.noticed("1240 passed, 7 skipped, 12 non-strict", base)
    assert mutation.noticed("1187 passed, 61 skipped, 11 non-strict", base)
    assert not mutation.noticed(base, base)
    assert not mutation.noticed("1151 passed", "1138 passed")   # new tests, nothing seen


def test_only_outside_the_targets_is_refused_before_anything_is_copied(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "w"
    for only in ("conformance", "reference_server/nonexistent.py"):
        assert mutation.main(["init", "--work", str(work), "--only", only]) == 2
        assert "not a path in the targets" in capsys.readouterr().err
        assert not work.exists()


def test_noticed_cases_compare_case_ids_and_leave_timing_dependent_ones_out(
        tmp_path: Path) -> None:
    report = tmp_path / "reference.json"
    report.write_text(json.dumps({"cases": [
        {"case_id": "a::ok", "verdict": "pass"},
        {"case_id": "a::lax", "verdict": "non-strict"},
        {"case_id": "a::na", "verdict": "n/a"},
        {"case_id": "autobahn::7.1.5", "verdict": "non-strict", "timing_dependent": "load"},
    ]}))
    assert mutation.lenient_cases(report) == ["a::lax", "a::na"]
    assert mutation.lenient_cases(tmp_path / "missing.json") is None
    baseline = {"suite": "3 passed, 1 skipped, 1 non-strict", "suite_lenient": ["a::na"]}
    assert mutation.noticed_cases({"lenient": ["a::lax", "a::na"]}, baseline) == ["a::lax"]
    assert mutation.noticed_cases({"lenient": ["a::na"]}, baseline) == []
    # Results recorded before runs kept case ids fall back to the summary counts.
    old = {"summary": "2 passed, 1 skipped, 2 non-strict"}
    assert mutation.noticed_cases(old, {"suite": baseline["suite"]}) == ["(by counts)"]
    assert mutation.noticed_cases({"summary": baseline["suite"]}, {"suite": baseline["suite"]}) \
        == []
