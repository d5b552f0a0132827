"""Run a fuzz target: coverage-guided with atheris (libFuzzer), or a seeded mutation loop.

A target is a module of this package with three names:

- ``one_input(data: bytes) -> None``: feed ``data`` to the parser under test and check its
  invariants; any exception that escapes is a finding (an AssertionError for a broken
  invariant, anything else for an exception the parser does not document);
- ``seed_inputs() -> dict[str, bytes]``: valid inputs (requests, frames, handshakes) that
  start the corpus; they are checked in under ``corpus/<target>/`` (``--write-seeds``
  regenerates them);

Two engines, one command line:

- ``atheris`` (default when installed): libFuzzer's coverage-guided search. The target is
  imported inside ``atheris.instrument_imports`` so the parser's own branches guide it;
  that is why this module and ``__main__`` never import ``reference_server`` themselves.
  A finding stops the run and leaves ``crash-*`` (or ``timeout-*``) in ``--artifacts``;
  reproduce it with ``python3 -m bench.fuzz TARGET --replay FILE``.
- ``random``: no coverage, only mutations (bit flips, inserted and deleted bytes, spliced
  seeds, repeated slices) of the seeds, driven by ``random.Random(seed)``: the same seed
  gives the same inputs. For machines without atheris, and deterministic short runs.

Every run is bounded: by ``--seconds`` and ``--runs``, and each input by ``--input-timeout``
(libFuzzer's ``-timeout``: an input that takes longer is reported as a hang, because the
parsers must terminate).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.util
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

TARGETS = ("http11", "websocket", "deflate", "handshake", "h2")
CORPUS = Path(__file__).parent / "corpus"
#: What atheris instruments for coverage: the server's parsers, and the HPACK decoder the
#: HTTP/2 core hands header blocks to.
INSTRUMENT = ("reference_server", "hpack")
#: Longest input the engines generate (libFuzzer's -max_len): room for a pipeline of
#: requests or a few frames, small enough to keep thousands of runs per second.
MAX_LEN = 4096


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python3 -m bench.fuzz",
        description="Fuzz one sans-I/O parser of the reference server. Arguments that "
                    "start with a single dash and are not listed here (-dict=..., "
                    "-max_len=...) go to libFuzzer.")
    parser.add_argument("target", help=f"one of {', '.join(TARGETS)}")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="stop after this long (default 60)")
    parser.add_argument("--runs", type=int, default=None,
                        help="stop after this many inputs (default: no count limit)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--engine", choices=("atheris", "random"), default=None,
                        help="default: atheris when installed, else random")
    parser.add_argument("--work-corpus", type=Path, default=None,
                        help="directory where atheris keeps the inputs it finds interesting "
                             "(default: $TMPDIR/bench-fuzz/TARGET, kept between runs); the "
                             "checked-in seeds are read, never written")
    parser.add_argument("--artifacts", type=Path, default=Path("."),
                        help="where atheris writes crash-*/timeout-* files (default .)")
    parser.add_argument("--input-timeout", type=int, default=10,
                        help="seconds one input may take before it counts as a hang")
    parser.add_argument("--replay", type=Path, nargs="+", default=None,
                        help="run these input files once each (a finding's reproducer)")
    parser.add_argument("--write-seeds", action="store_true",
                        help="rewrite corpus/<target>/ from the target's seed_inputs()")
    args, extra = parser.parse_known_args(argv)
    if args.target not in TARGETS:
        raise UsageError(f"unknown target {args.target!r}; known: {', '.join(TARGETS)}")
    unknown = [a for a in extra if not a.startswith("-") or a.startswith("--")]
    if unknown:
        raise UsageError(f"unrecognised arguments: {' '.join(unknown)}")
    if args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    if args.runs is not None and args.runs <= 0:
        raise UsageError("--runs must be positive")
    if args.input_timeout <= 0:
        raise UsageError("--input-timeout must be positive")
    return args, extra


def seed_files(target: str) -> list[Path]:
    directory = CORPUS / target
    return sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []


def load(target: str) -> ModuleType:
    return importlib.import_module(f"bench.fuzz.{target}")


def write_seeds(module: ModuleType, target: str) -> int:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    seeds: dict[str, bytes] = module.seed_inputs()
    for name, data in seeds.items():
        (directory / name).write_bytes(data)
    print(f"{target}: wrote {len(seeds)} seeds to {directory}")
    return 0


def replay(one_input: Callable[[bytes], None], files: list[Path]) -> int:
    failed = 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        try:
            one_input(data)
        except Exception:
            failed += 1
            print(f"{path}: FINDING", file=sys.stderr)
            traceback.print_exc()
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


# -- the random engine ---------------------------------------------------------------------

_INTERESTING = [b"\r\n", b"\r\n\r\n", b"\x00", b"\xff", b"\x7f", b"\x80", b" ", b":", b";",
                b",", b"=", b'"', b"0", b"ffffffff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"]


def mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    """One to four random edits of ``data`` (libFuzzer's basic mutations)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # set a byte
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 2:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and buf:  # delete a slice
            del buf[pos:pos + rng.randint(1, 16)]
        elif op == 4:  # insert a token
            buf[pos:pos] = rng.choice(_INTERESTING)
        elif op == 5 and buf:  # repeat a slice
            start = rng.randrange(len(buf))
            piece = buf[start:start + rng.randint(1, 64)]
            buf[pos:pos] = piece * rng.randint(1, 8)
        elif op == 6 and seeds:  # splice another seed in
            other = rng.choice(seeds)
            cut = rng.randint(0, len(other))
            buf[pos:] = other[cut:]
    return bytes(buf[:MAX_LEN])


def random_engine(one_input: Callable[[bytes], None], seeds: list[bytes], *, seed: int,
                  seconds: float, runs: int | None, artifacts: Path) -> int:
    rng = random.Random(seed)
    pool = list(seeds) or [b""]
    start = time.monotonic()
    count = 0
    for data in _inputs(rng, pool, seeds):
        if runs is not None and count >= runs:
            break
        if time.monotonic() - start > seconds:
            break
        count += 1
        try:
            one_input(data)
        except Exception:
            path = artifacts / f"crash-{hashlib.sha1(data).hexdigest()}"
            with contextlib.suppress(OSError):
                path.write_bytes(data)
            traceback.print_exc()
            print(f"FINDING after {count} inputs; input written to {path}", file=sys.stderr)
            return 1
        if len(pool) < 4096 and rng.random() < 0.01:
            pool.append(data)  # keep some mutants to mutate further
    elapsed = time.monotonic() - start
    print(f"random engine: {count} inputs in {elapsed:.1f} s ({count / max(elapsed, 1e-9):.0f}/s),"
          " no finding")
    return 0


def _inputs(rng: random.Random, pool: list[bytes], seeds: list[bytes]) -> Iterator[bytes]:
    yield from seeds  # every seed once, as is
    while True:
        yield mutate(rng, rng.choice(pool), seeds)


# -- atheris -------------------------------------------------------------------------------


def atheris_engine(target: str, args: argparse.Namespace, extra: list[str]) -> int:
    import atheris  # type: ignore[import-untyped]

    module_name = f"bench.fuzz.{target}"
    with atheris.instrument_imports(include=list(INSTRUMENT)):
        module = importlib.import_module(module_name)
    work = args.work_corpus or default_work_corpus(target)
    work.mkdir(parents=True, exist_ok=True)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    flags = [f"-seed={args.seed}", f"-max_total_time={max(1, int(args.seconds))}",
             f"-timeout={args.input_timeout}", f"-max_len={MAX_LEN}",
             f"-artifact_prefix={args.artifacts}/", "-print_final_stats=1"]
    if args.runs is not None:
        flags.append(f"-runs={args.runs}")
    argv = [sys.argv[0], *flags, *extra, str(work), str(CORPUS / target)]
    atheris.Setup(argv, module.one_input)
    atheris.Fuzz()  # libFuzzer exits the process itself when it stops
    return 0


def default_work_corpus(target: str) -> Path:
    """Where atheris keeps what it found when no --work-corpus is given: one directory
    per target under the temporary directory, kept, so a run builds on the last."""
    return Path(tempfile.gettempdir()) / "bench-fuzz" / target


def main(argv: list[str] | None = None) -> int:
    try:
        args, extra = parse_args(sys.argv[1:] if argv is None else argv)
        engine = args.engine
        if engine is None:
            engine = "atheris" if importlib.util.find_spec("atheris") else "random"
        if args.write_seeds:
            return write_seeds(load(args.target), args.target)
        if args.replay:
            return replay(load(args.target).one_input, args.replay)
        if engine == "atheris":
            if importlib.util.find_spec("atheris") is None:
                raise UsageError("atheris is not installed (python3 -m pip install atheris), "
                                 "or use --engine random")
            return atheris_engine(args.target, args, extra)
        if extra:
            raise UsageError(f"libFuzzer arguments need --engine atheris: {' '.join(extra)}")
        module = load(args.target)
        seeds = [p.read_bytes() for p in seed_files(args.target)]
        args.artifacts.mkdir(parents=True, exist_ok=True)
        return random_engine(module.one_input, seeds, seed=args.seed, seconds=args.seconds,
                             runs=args.runs, artifacts=args.artifacts)
    except UsageError as exc:
        print(f"python3 -m bench.fuzz: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an --artifacts or --work-corpus that cannot be made
        print(f"python3 -m bench.fuzz: error: {exc.filename or ''}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
