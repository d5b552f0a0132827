"""Mutation testing of the reference server's protocol code: what faults does the
conformance suite notice, and what do the project's own tests add?

cosmic-ray (not mutmut 3) makes the mutants. The suite runs the reference server as a
subprocess (``python -m reference_server``), so a mutant must be in the file the server
imports: cosmic-ray writes each mutant to disk, runs a command and puts the file back, which
is exactly that. mutmut 3 switches mutants in process (trampolines keyed by an environment
variable, and it runs only the tests its in-process coverage map links to a function), which
a server in another process does not see.

Every mutant runs in a *copy* of the repository (``WORK/tree``), never in the checkout it
was made from, so a run never rewrites a file someone else is editing or committing.

Two stages, one after the other for each sampled mutant (``bench/README.md``, section
"Mutation testing", has the commands):

- ``suite``: ``pytest --server=reference -x`` (the whole conformance suite, serially).
- ``project``: for the mutants the suite left alive, the reference server's own tests
  (``tests/reference``, serially, ``-x``).

A mutant is *killed* by a stage only when its failure reproduces: the failing tests are
run a second time on their own and must fail again (the machine is shared and a few cases
are timing-sensitive). A failure that does not reproduce is *flaky*, which counts as
survived until ``run --recheck`` runs the whole stage again and it fails a second time.
A stage that outlives ``--timeout`` is killed (a hang is a noticed fault); the process it
left behind are found by a token in their environment and stopped by PID.

Results are appended to ``WORK/results.jsonl`` (the last line for a mutant and stage wins),
so an interrupted run resumes where it stopped. Equivalent mutants (no behaviour can tell
them from the original) are listed with the reason in ``bench/mutation_equivalents.json``
and left out of both scores.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import difflib
import fcntl
import importlib.metadata
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).resolve().parent / "mutation_equivalents.json"

TARGETS = (
    "reference_server/http11",
    "reference_server/websocket",
    "reference_server/protocol",
    "reference_server/http2",
    "reference_server/lifespan.py",
)
STAGES = ("suite", "project")
TOKEN_VAR = "ASGI_CONFORMANCE_MUTATION_RUN"
"""Set in every test command's environment; the servers the tests start inherit it, which
is how the processes a timed-out stage left behind are found (by PID, never by name)."""

DEFAULT_TIMEOUT = 420.0
"""Per stage and mutant. The unmutated suite takes about 45 s and tests/reference about
40 s on this 2-core machine; a run still going after ~9× that is hanging."""

# pytest's short summary: "FAILED conformance/suite/test_x.py::test_y[a] - reason".
# Only node ids (a .py path, maybe ::name[params]): captured log lines also start "ERROR ".
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+?\.py(?:::.+?)?)(?: - .*)?$", re.MULTILINE)
_SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed).*?) in [\d.]+s", re.MULTILINE)


class UsageError(Exception):
    """Bad input or a work directory in the wrong state: printed, no traceback."""


# --- the mutants ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One cosmic-ray mutation, named by where it is and what it does.

    ``original`` and ``mutated`` are the changed source line before and after; together with
    the module and operator they identify the mutant across runs even when earlier lines of
    the module move (the equivalents file matches on them)."""

    id: str
    module: str
    operator: str
    occurrence: int
    line: int
    original: str
    mutated: str
    diff: str

    @property
    def short_operator(self) -> str:
        return self.operator.rsplit("/", 1)[-1]


def target_paths(tree: Path) -> list[Path]:
    """The protocol modules, relative to ``tree``, in a stable order."""
    paths: list[Path] = []
    for target in TARGETS:
        path = tree / target
        paths.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    return [p.relative_to(tree) for p in paths]


def enumerate_mutations(tree: Path, session: Path) -> list[tuple[str, str, int]]:
    """Every (module, operator, occurrence) cosmic-ray can make in the targets, sorted.

    cosmic-ray's own ``init`` does the enumeration and keeps it in its session database
    (``WORK/session.sqlite``, readable by ``cr-report``); the sort makes the order, and so
    the seeded sample, independent of its random job ids."""
    from cosmic_ray.commands.init import init
    from cosmic_ray.work_db import WorkDB, use_db

    with contextlib.chdir(tree), use_db(str(session), WorkDB.Mode.create) as db:
        init(target_paths(tree), db, {})
        items = [wi.mutations[0] for wi in db.work_items]
    return sorted((str(m.module_path), m.operator_name, m.occurrence) for m in items)


def shuffled(population: list[Any], seed: int) -> list[Any]:
    """The population in a seeded random order. The sample is a prefix of it (artifacts
    skipped), so a sample of 200 starts with the sample of 100 of the same seed: a larger
    run extends a smaller one."""
    order = list(population)
    random.Random(seed).shuffle(order)
    return order


class _DropAnnotations(ast.NodeTransformer):
    """Annotations out of a module's AST. Under ``from __future__ import annotations`` they
    are never evaluated (PEP 563), so a mutant that only changes one is equivalent by
    construction: cosmic-ray turns ``bytes | None`` into ``bytes * None`` happily."""

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        node.annotation = ast.Constant(value=None)
        return self.generic_visit(node)


def artifact(source: str, mutated: str) -> str | None:
    """Why this mutant is a tool artifact rather than a fault, or None.

    ``syntax``: the mutant does not parse (cosmic-ray's ``*,`` → ``<<,``); the server would
    not even import, so "killing" it says nothing about the tests. ``annotation``: it
    changes only a postponed annotation (:class:`_DropAnnotations`). Both are left out of
    the sample, counted in ``sample.json``."""
    try:
        after = ast.parse(mutated)
    except SyntaxError:
        return "syntax"
    before = ast.parse(source)
    postponed = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                    and any(a.name == "annotations" for a in n.names) for n in before.body)
    if postponed:
        strip = _DropAnnotations()
        if ast.dump(strip.visit(before)) == ast.dump(strip.visit(after)):
            return "annotation"
    return None


def mutate(source: str, operator: str, occurrence: int) -> str | None:
    """The source with cosmic-ray's ``occurrence``-th mutation by ``operator`` (None: none)."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    made = mutate_code(source, cosmic_ray.plugins.get_operator(operator)(), occurrence)
    return None if made is None else str(made)


def describe(tree: Path, index: int, module: str, operator: str,
             occurrence: int) -> Mutant | str:
    """The mutant's changed line and unified diff, made without touching the file; or the
    reason it is an artifact (:func:`artifact`)."""
    source = (tree / module).read_text()
    mutated = mutate(source, operator, occurrence)
    if mutated is None:
        return "none"
    reason = artifact(source, mutated)
    if reason:
        return reason
    before, after = source.splitlines(), mutated.splitlines()
    diff = "\n".join(difflib.unified_diff(before, after, module, module, n=1, lineterm=""))
    changed = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                   min(len(before), len(after)) - 1)
    return Mutant(id=f"m{index:03d}", module=module, operator=operator, occurrence=occurrence,
                  line=changed + 1, original=before[changed].strip(),
                  mutated=after[changed].strip() if changed < len(after) else "", diff=diff)


@contextlib.contextmanager
def applied(tree: Path, mutant: Mutant, pristine: str) -> Iterator[None]:
    """The mutant written into the tree's copy of its module, the original put back after.

    The module is first reset from the copy saved at ``init``: a run that was killed while a
    mutant was applied leaves no trace on the next one."""
    path = tree / mutant.module
    mutated = mutate(pristine, mutant.operator, mutant.occurrence)
    if mutated is None:
        raise UsageError(f"{mutant.id}: cosmic-ray made no mutant (module changed since init?)")
    path.write_text(mutated)
    try:
        yield
    finally:
        path.write_text(pristine)


# --- the test stages ------------------------------------------------------------------------

# Where a mutant's killing test most likely is, so that ``-x`` stops early: the suite's files
# for the mutated part come first, the whole suite after them (pytest collects each once).
_FIRST_FILES = {
    "reference_server/http2/": "test_h2",
    "reference_server/protocol/h2_": "test_h2",
    "reference_server/websocket/": "test_ws_",
    "reference_server/protocol/ws_session.py": "test_websocket_",
    "reference_server/protocol/h11_websocket.py": "test_ws_",
    "reference_server/lifespan.py": "test_lifespan",
    "reference_server/http11/": "test_wire_",
}


def stage_command(stage: str, tree: Path, work: Path, module: str | None,
                  nodeids: Iterable[str] = ()) -> list[str]:
    """The pytest command of ``stage`` (run in ``tree``); with ``nodeids``, just those tests
    (the reproduction of a failure), else the whole stage with the likeliest files first."""
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    ids = list(nodeids)
    if stage == "suite":
        base += ["--server=reference", f"--report-dir={work / 'reports'}"]
        if ids:
            return base + ids
        prefix = next((p for m, p in _FIRST_FILES.items() if module and module.startswith(m)),
                      None)
        files = sorted(str(p.relative_to(tree))
                       for p in (tree / "conformance" / "suite").glob("test_*.py"))
        # pytest ≥ 8 merges a file given next to its directory into the directory's order,
        # so every file is named, the likeliest first.
        first = [f for f in files if prefix and Path(f).name.startswith(prefix)]
        return [*base, "-x", *first, *(f for f in files if f not in first)]
    if stage == "project":
        return base + (ids or ["-x", "tests/reference"])
    raise UsageError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")


@dataclasses.dataclass
class Run:
    code: int | None  # None: timed out
    seconds: float
    output: str

    @property
    def failing(self) -> list[str]:
        return list(dict.fromkeys(_FAILED.findall(self.output)))

    @property
    def summary(self) -> str:
        found = _SUMMARY.findall(self.output)
        return found[-1] if found else ""


def _leftovers(token: str) -> list[int]:
    """PIDs of processes whose environment carries this run's token."""
    pids = []
    needle = f"{TOKEN_VAR}={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
    return pids


def run_command(argv: list[str], tree: Path, timeout: float) -> Run:
    """``argv`` in ``tree`` with the tree first on the import path, bounded by ``timeout``.

    On timeout pytest gets SIGINT first (its fixtures then stop the servers they started),
    then everything still carrying the run's token is SIGKILLed by PID."""
    token = uuid.uuid4().hex
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1",
               **{TOKEN_VAR: token})
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        out, code = _interrupt(proc), None
    except KeyboardInterrupt:  # the runner itself stopped: take the test run down with it
        _interrupt(proc)
        raise
    finally:
        for pid in _leftovers(token):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    return Run(code, time.monotonic() - started, out.decode("utf-8", "replace"))


def _interrupt(proc: subprocess.Popen[bytes]) -> bytes:
    """SIGINT (pytest then stops the servers its fixtures started), SIGKILL after 20 s."""
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


FAILED = (1, 2)
"""pytest's exit statuses for "the tests found a fault": 1, tests failed (the conformance
plugin exits 1 on a failed or errored case); 2, the run was stopped, which is what ``-x``
after a failure, a collection error (a mutant that breaks an import) and a server under
test that never starts (the plugin stops the session) give. 3 (internal error), 4 (usage
error) and 5 (no tests) are the harness's fault."""


def judge_stage(stage: str, tree: Path, work: Path, module: str | None,
                timeout: float) -> dict[str, Any]:
    """One stage against whatever is in ``tree`` now: killed, survived, flaky or broken.

    A failure is re-run to see it reproduce: the failing tests alone, or the whole stage
    when no test is named (the session stopped before any test failed)."""
    first = run_command(stage_command(stage, tree, work, module), tree, timeout)
    record: dict[str, Any] = {"seconds": round(first.seconds, 1), "summary": first.summary}
    if first.code is None:
        return {**record, "outcome": "killed", "how": f"timeout after {timeout:.0f} s"}
    if first.code == 0:
        if stage == "suite":
            record["lenient"] = lenient_cases(work / "reports" / "reference.json")
        return {**record, "outcome": "survived"}
    if first.code not in FAILED:
        return {**record, "outcome": "broken", "how": f"exit {first.code}",
                "tail": first.output[-3000:]}
    failing = first.failing
    again = run_command(stage_command(stage, tree, work, module, failing), tree, timeout)
    record.update(failing=failing, seconds=round(first.seconds + again.seconds, 1),
                  tail=first.output[-3000:])
    if again.code is None or again.code in FAILED:
        how = "timeout on re-run" if again.code is None else f"reproduced (exit {again.code})"
        return {**record, "outcome": "killed", "how": how}
    if again.code != 0:
        return {**record, "outcome": "broken", "how": f"re-run exit {again.code}",
                "tail": again.output[-3000:]}
    return {**record, "outcome": "flaky", "how": "failing tests passed when re-run alone"}


def lenient_cases(report: Path) -> list[str] | None:
    """The cases a whole suite run judged non-strict or n/a, from its JSON report, leaving
    out the timing-dependent ones (the Autobahn cases whose verdict turns on the machine's
    load): a mutant that adds one to the unmutated run's list was *noticed* by the suite,
    the way a server author's ``--baseline`` gate notices a pass turning non-strict."""
    try:
        cases = json.loads(report.read_text())["cases"]
    except (OSError, ValueError, KeyError):
        return None
    return sorted(c["case_id"] for c in cases
                  if c["verdict"] in ("non-strict", "n/a") and not c.get("timing_dependent"))


# --- the work directory ---------------------------------------------------------------------


class Work:
    """``WORK/``: the tree copy, pristine targets, sample and results of one mutation run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = path / "tree"
        self.sample_file = path / "sample.json"
        self.results_file = path / "results.jsonl"
        self.pristine = path / "pristine"
        self.baseline_file = path / "baseline.json"

    def require(self) -> None:
        if not self.sample_file.is_file():
            raise UsageError(f"{self.path} is not an initialised work directory "
                             "(run: python3 -m bench.mutation init --work DIR)")

    def mutants(self) -> list[Mutant]:
        self.require()
        return [Mutant(**m) for m in json.loads(self.sample_file.read_text())["mutants"]]

    def meta(self) -> dict[str, Any]:
        self.require()
        return dict(json.loads(self.sample_file.read_text()))

    def results(self, first: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
        """The last result of each (mutant id, stage); with ``first``, the first one that
        is not ``broken`` (what the tests of the time said, before later re-checks)."""
        chosen: dict[tuple[str, str], dict[str, Any]] = {}
        if self.results_file.is_file():
            for line in self.results_file.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    key = (row["id"], row["stage"])
                    if first and (key in chosen or row["outcome"] == "broken"):
                        continue
                    chosen[key] = row
        return chosen

    def restore(self) -> None:
        """Every target module back from its pristine copy (a killed run may have left a
        mutant in place)."""
        for path in target_paths(self.tree):
            shutil.copy2(self.pristine / path, self.tree / path)

    def record(self, row: dict[str, Any]) -> None:
        with self.results_file.open("a") as handle:
            handle.write(json.dumps(row) + "\n")


def sync_tree(source: Path, tree: Path, only: tuple[str, ...] = ()) -> int:
    """Copy the files git tracks in ``source`` (or only those under ``only``) into ``tree``."""
    if not source.is_dir():
        raise UsageError(f"{source} does not exist: it is the checkout this work directory "
                         f"copies from ('source' in sample.json; a removed worktree?)")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard", *only], cwd=source, capture_output=True,
                            timeout=60)
    if listed.returncode != 0:
        raise UsageError(f"{source} is not a git checkout: {listed.stderr.decode().strip()}")
    count = 0
    for name in listed.stdout.decode().split("\0"):
        if name and (source / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, tree / name)
            count += 1
    return count


def cmd_init(args: argparse.Namespace) -> int:
    work = Work(args.work)
    source = args.source.resolve()
    if work.path.exists() and any(work.path.iterdir()):
        raise UsageError(f"{work.path} exists and is not empty; choose a new --work directory")
    if args.sample < 1:
        raise UsageError(f"--sample must be at least 1, not {args.sample}")
    outside = [o for o in args.only or () if not (source / o).exists()
               or not any(o.startswith(t) or t.startswith(o) for t in TARGETS)]
    if outside:
        raise UsageError(f"--only {' '.join(outside)}: not a path in the targets "
                         f"({', '.join(TARGETS)})")
    work.tree.mkdir(parents=True)
    copied = sync_tree(source, work.tree)
    population = enumerate_mutations(work.tree, work.path / "session.sqlite")
    if args.only:
        population = [m for m in population if m[0].startswith(tuple(args.only))]
    mutants: list[Mutant] = []
    skipped: Counter[str] = Counter()
    for spec in shuffled(population, args.seed):
        if len(mutants) == args.sample:
            break
        made = describe(work.tree, len(mutants) + 1, *spec)
        if isinstance(made, Mutant):
            mutants.append(made)
        else:
            skipped[made] += 1
    for path in target_paths(work.tree):
        (work.pristine / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work.tree / path, work.pristine / path)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                            text=True, timeout=30).stdout.strip()
    work.sample_file.write_text(json.dumps({
        "source": str(source), "commit": commit, "seed": args.seed, "size": len(mutants),
        "population": len(population), "only": args.only or [],
        "artifacts_skipped": dict(skipped),
        "cosmic_ray": importlib.metadata.version("cosmic-ray"),
        "mutants": [dataclasses.asdict(m) for m in mutants],
    }, indent=1))
    per_module = Counter(m.module for m in mutants)
    print(f"copied {copied} files to {work.tree}; {len(population)} mutants in the targets; "
          f"sample of {len(mutants)} with seed {args.seed}; artifacts skipped on the way: "
          f"{dict(skipped) or 'none'}")
    for module, count in sorted(per_module.items()):
        print(f"  {count:4d}  {module}")
    return 0


def run_baseline(work: Work, args: argparse.Namespace) -> int:
    """Both stages on the unmutated tree: they must pass, and their time sets the pace."""
    work.restore()
    probe = subprocess.run([sys.executable, "-c", "import reference_server;"
                            "print(reference_server.__file__)"], cwd=work.tree, timeout=60,
                           env=dict(os.environ, PYTHONPATH=str(work.tree)),
                           capture_output=True, text=True)
    print(f"server imports {probe.stdout.strip() or probe.stderr.strip()}")
    if not probe.stdout.startswith(str(work.tree)):
        raise UsageError("the tree's reference_server is not the one imported")
    status = 0
    summaries: dict[str, Any] = {}
    for stage in STAGES:
        result = judge_stage(stage, work.tree, work.path, None, args.timeout)
        print(f"{stage}: {result['outcome']} in {result['seconds']} s  {result['summary']}")
        summaries[stage] = result["summary"]
        if "lenient" in result:
            summaries[f"{stage}_lenient"] = result["lenient"]
        if result["outcome"] != "survived":
            print(result.get("tail", ""))
            status = 1
    if not status:
        work.baseline_file.write_text(json.dumps(summaries))
    return status


@contextlib.contextmanager
def exclusive(work: Work) -> Iterator[None]:
    """One run per work directory: two would mutate the same copy at once."""
    with (work.path / "lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another run is using {work.path}") from None
        yield


def locked(command: Callable[[Work, argparse.Namespace], int],
           ) -> Callable[[argparse.Namespace], int]:
    """``command`` on ``--work``, holding its lock (:func:`exclusive`)."""
    def handler(args: argparse.Namespace) -> int:
        work = Work(args.work)
        work.require()
        with exclusive(work):
            return command(work, args)
    return handler


def run_mutants(work: Work, args: argparse.Namespace) -> int:
    mutants = work.mutants()
    wanted = set(args.ids or ())
    unknown = wanted - {m.id for m in mutants}
    if unknown:
        raise UsageError(f"no such mutant(s): {', '.join(sorted(unknown))}")
    work.restore()
    if args.sync_tests:
        count = sync_tree(Path(work.meta()["source"]), work.tree,
                          ("conformance", "tests", "fixtures"))
        print(f"synced {count} test files from {work.meta()['source']}")
    done = 0
    for mutant in mutants:
        if wanted and mutant.id not in wanted:
            continue
        for stage in args.stages or STAGES:
            results = work.results()
            if not needs_run(results, mutant.id, stage, args.recheck or bool(wanted)):
                continue
            if args.limit is not None and done >= args.limit:
                return 0
            pristine = (work.pristine / mutant.module).read_text()
            with applied(work.tree, mutant, pristine):
                result = judge_stage(stage, work.tree, work.path, mutant.module, args.timeout)
            previous = results.get((mutant.id, stage), {})
            if previous.get("outcome") == "flaky" and result["outcome"] == "killed":
                result["how"] = "failed again on re-check (flaky before)"
            work.record({"id": mutant.id, "stage": stage, "at": time.strftime("%H:%M:%S"),
                         **result})
            done += 1
            print(f"{mutant.id} {stage:7s} {result['outcome']:8s} {result['seconds']:6.1f} s  "
                  f"{mutant.module}:{mutant.line} {mutant.short_operator}", flush=True)
    return 0


def needs_run(results: dict[tuple[str, str], dict[str, Any]], mid: str, stage: str,
              recheck: bool) -> bool:
    """Whether ``mid`` needs ``stage`` now. The project stage runs only after the suite left
    the mutant alive; a recheck re-runs what is not a (reproduced) kill."""
    if stage == "project":
        suite = results.get((mid, "suite"), {}).get("outcome")
        if suite is None or suite == "killed":
            return False
    mine = results.get((mid, stage), {}).get("outcome")
    if mine is None or mine == "broken":
        return True
    return recheck and mine in ("survived", "flaky")


# --- the scores -----------------------------------------------------------------------------


def load_equivalents(path: Path = EQUIVALENTS) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    return list(rows)


def is_equivalent(mutant: Mutant, equivalents: list[dict[str, str]]) -> dict[str, str] | None:
    for row in equivalents:
        if (row["module"], row["operator"], row["original"], row["mutated"]) == (
                mutant.module, mutant.short_operator, mutant.original, mutant.mutated):
            return row
    return None


@dataclasses.dataclass
class Scores:
    total: int
    equivalent: list[Mutant]
    pending: list[Mutant]
    broken: list[Mutant]
    suite_killed: list[Mutant]
    project_killed: list[Mutant]
    survivors: list[Mutant]

    @property
    def judged(self) -> int:
        return self.total - len(self.equivalent) - len(self.pending) - len(self.broken)

    def score(self, killed: int) -> str:
        if not self.judged:
            return "n/a (nothing judged yet)"
        return f"{killed}/{self.judged} = {100 * killed / self.judged:.1f} %"


def scores(mutants: list[Mutant], results: dict[tuple[str, str], dict[str, Any]],
           equivalents: list[dict[str, str]]) -> Scores:
    """Both scores: killed over judged mutants, equivalents (and the unjudged) left out."""
    out = Scores(len(mutants), [], [], [], [], [], [])
    for m in mutants:
        suite = results.get((m.id, "suite"), {}).get("outcome")
        project = results.get((m.id, "project"), {}).get("outcome")
        if is_equivalent(m, equivalents):
            out.equivalent.append(m)
        elif suite == "killed":
            out.suite_killed.append(m)  # whatever an earlier project stage said
        elif suite is None or (suite != "broken" and project is None):
            out.pending.append(m)
        elif "broken" in (suite, project):
            out.broken.append(m)
        elif project == "killed":
            out.project_killed.append(m)
        else:
            out.survivors.append(m)
    return out


def noticed(summary: str, unmutated: str) -> bool:
    """Whether a passing run's summary has more non-strict or skipped (n/a) verdicts than
    the unmutated run's: the suite saw a difference its verdict rules do not fail. The
    fallback of :func:`noticed_cases` for results recorded before runs kept their case ids
    (a timing-dependent case turning non-strict counts here too)."""
    def count(text: str, word: str) -> int:
        found = re.search(rf"(\d+) {word}", text)
        return int(found.group(1)) if found else 0
    return any(count(summary, w) > count(unmutated, w) for w in ("non-strict", "skipped"))


def noticed_cases(result: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """The cases a surviving suite run judged non-strict or n/a that the unmutated run
    passed (timing-dependent cases left out); ``["(by counts)"]`` when only the summaries
    can tell (:func:`noticed`); empty when the suite saw nothing."""
    mutant, unmutated = result.get("lenient"), baseline.get("suite_lenient")
    if mutant is not None and unmutated is not None:
        return sorted(set(mutant) - set(unmutated))
    if baseline.get("suite") and noticed(result.get("summary", ""), baseline["suite"]):
        return ["(by counts)"]
    return []


def cmd_report(args: argparse.Namespace) -> int:
    work = Work(args.work)
    mutants, results, meta = work.mutants(), work.results(), work.meta()
    s = scores(mutants, results, load_equivalents(args.equivalents))
    suite_killed = len(s.suite_killed)
    print(f"sample: {meta['size']} of {meta['population']} mutants, seed {meta['seed']}, "
          f"source commit {meta['commit'][:12]}")
    print(f"equivalent: {len(s.equivalent)}   pending: {len(s.pending)}   "
          f"broken (harness error, re-run): {len(s.broken)}")
    print(f"suite alone:           {s.score(suite_killed)}")
    print(f"suite + project tests: {s.score(suite_killed + len(s.project_killed))}")
    baseline = (json.loads(work.baseline_file.read_text())
                if work.baseline_file.is_file() else {})
    seen = [m for m in s.survivors + s.project_killed
            if noticed_cases(results.get((m.id, "suite"), {}), baseline)]
    print(f"suite alone, counting what it noticed without failing (a pass turned "
          f"non-strict or n/a): {s.score(suite_killed + len(seen))}")
    before = scores(mutants, work.results(first=True), load_equivalents(args.equivalents))
    if (len(before.suite_killed), len(before.project_killed)) != (
            suite_killed, len(s.project_killed)):
        both = len(before.suite_killed) + len(before.project_killed)
        print(f"  at first judgement (before re-checks with newer tests): suite alone "
              f"{before.score(len(before.suite_killed))}, with project tests "
              f"{before.score(both)}")
    seconds = [r["seconds"] for (_, st), r in results.items() if st == "suite"]
    if seconds:
        print(f"suite stage: {len(seconds)} runs, mean {sum(seconds) / len(seconds):.0f} s, "
              f"max {max(seconds):.0f} s per mutant")
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for label, group in (("suite-killed", s.suite_killed), ("project-killed", s.project_killed),
                         ("survived", s.survivors), ("equivalent", s.equivalent)):
        for m in group:
            by_module[m.module][label] += 1
    print("\nper module (suite-killed / project-killed / survived / equivalent):")
    for module in sorted(by_module):
        c = by_module[module]
        print(f"  {module:45s} {c['suite-killed']:3d} {c['project-killed']:3d} "
              f"{c['survived']:3d} {c['equivalent']:3d}")
    listed = s.survivors + [m for m in s.project_killed if args.all]
    flaky = {m.id for m in mutants
             if "flaky" in {results.get((m.id, st), {}).get("outcome") for st in STAGES}}
    print(f"\nsurvivors ({len(s.survivors)}):")
    for m in listed:
        mark = " (flaky)" if m.id in flaky else ""
        print(f"\n{m.id} {m.module}:{m.line} {m.short_operator}{mark}")
        suite = results.get((m.id, "suite"), {})
        seen_cases = noticed_cases(suite, baseline)
        if seen_cases:
            # Not a kill, but the suite saw something: a pass turned non-strict or n/a.
            print(f"  suite noticed without failing: {suite.get('summary', '')} "
                  f"(unmutated: {baseline.get('suite', '')}); "
                  f"cases: {', '.join(seen_cases[:8])}"
                  f"{f' and {len(seen_cases) - 8} more' if len(seen_cases) > 8 else ''}")
        print(m.diff)
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.mutation",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="copy the repository, enumerate mutants, draw a sample")
    init.add_argument("--source", type=Path, default=REPO, help="checkout to copy (default: "
                      "this one)")
    init.add_argument("--sample", type=int, default=100, help="mutants to draw (default 100)")
    init.add_argument("--seed", type=int, default=20261203, help="sample seed")
    init.add_argument("--only", nargs="+", metavar="PREFIX", help="draw only from modules "
                      "whose path starts with one of these (e.g. reference_server/protocol "
                      "reference_server/lifespan.py): a look at the weakest parts")
    for name, helptext in (("baseline", "both stages on the unmutated copy (must pass)"),
                           ("run", "run the pending mutants (resumable)"),
                           ("report", "the two scores, survivors per module and their diffs")):
        p = sub.add_parser(name, help=helptext)
        if name != "report":
            p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                           help=f"seconds per stage and mutant (default {DEFAULT_TIMEOUT:.0f})")
        if name == "run":
            p.add_argument("--limit", type=int, default=None, help="stop after N stage runs")
            p.add_argument("--ids", nargs="+", help="only these mutants (and run them again)")
            p.add_argument("--recheck", action="store_true",
                           help="run survived and flaky mutants again")
            p.add_argument("--stage", dest="stages", action="append", choices=STAGES,
                           help="only this stage (repeatable; default both): after adding "
                                "unit tests, `--stage project` re-judges just that stage")
            p.add_argument("--sync-tests", action="store_true", help="first copy conformance/, "
                           "tests/ and fixtures/ from the source checkout (new tests)")
        if name == "report":
            p.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
            p.add_argument("--all", action="store_true", help="also list project-killed diffs")
    for p in sub.choices.values():
        p.add_argument("--work", type=Path, required=True, help="work directory")
    args = parser.parse_args(argv)
    if getattr(args, "timeout", 1) <= 0 or (getattr(args, "limit", None) or 0) < 0:
        parser.error("--timeout must be positive and --limit not negative")
    # SIGTERM stops a run like ^C (a background run may have SIGINT ignored): the mutant is
    # taken out of the copy and the test run's processes are stopped.
    signal.signal(signal.SIGTERM, _stop)
    handler = {"init": cmd_init, "baseline": locked(run_baseline),
               "run": locked(run_mutants), "report": cmd_report}[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; `run` resumes where it stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `report | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
