"""JSON report: the machine-readable record later tools (comparison, baselines) read back.

Output is deterministic (sorted keys, fixed indent, trailing newline) so two runs can be
diffed and a committed baseline does not churn. Reading validates the shape and types
against the model, so a wrong or truncated file fails here with its path in the message
instead of as an ``AttributeError`` deep inside a renderer.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

from conformance.report.model import RunReport

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def dumps(report: RunReport) -> bytes:
    """The report as UTF-8 JSON bytes.

    Non-ASCII text is kept readable. Lone surrogates (undecodable bytes in evidence) cannot
    be encoded to UTF-8, so just those are written as ``\\u`` escapes, which are valid JSON
    and read back exactly. Values outside the plain-data model are written as their
    ``repr`` rather than losing the whole report at the end of a run.
    """
    text = json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False,
                      default=repr)
    return (_SURROGATE.sub(_json_escape, text) + "\n").encode("utf-8")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def write_json(report: RunReport, path: Path) -> None:
    path.write_bytes(dumps(report))


def read_json(path: Path) -> RunReport:
    """Read a report written by :func:`write_json`.

    Raises ``ValueError("<path>: not a conformance report: ...")`` for anything that is not
    one: unreadable, not JSON, another schema, missing or mistyped fields.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise _invalid(path, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise _invalid(path, f"top level is {type(data).__name__}, not an object")
    try:
        report = RunReport.from_dict(data)
    except KeyError as exc:
        raise _invalid(path, f"missing field {exc}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise _invalid(path, f"{type(exc).__name__}: {exc}") from exc
    problem = type_problem(report, RunReport, "report")
    if problem:
        raise _invalid(path, problem)
    return report


def _invalid(path: Path, detail: str) -> ValueError:
    return ValueError(f"{path}: not a conformance report: {detail}")


def type_problem(value: object, hint: object, where: str) -> str | None:
    """The first place where ``value`` does not match the model's type hint ``hint``.

    ``from_dict`` trusts its input (``ServerInfo(**data)`` accepts a number as a name), so
    the loaded objects are checked against the dataclasses' own annotations: the check
    follows the model as it evolves instead of duplicating it.
    """
    if hint is Any or hint is object:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return _union_problem(value, typing.get_args(hint), where)
    if origin is list:
        return _list_problem(value, typing.get_args(hint), where)
    if origin is dict:
        return None if isinstance(value, dict) else _mismatch(where, "object", value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_problem(value, hint, where)
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else _mismatch(where, "number", value)
    if isinstance(hint, type):
        return None if isinstance(value, hint) else _mismatch(where, hint.__name__, value)
    return None  # a hint this checker does not model: trust from_dict


def _union_problem(value: object, args: tuple[object, ...], where: str) -> str | None:
    if value is None and type(None) in args:
        return None
    problems = [type_problem(value, arg, where) for arg in args if arg is not type(None)]
    return None if any(p is None for p in problems) else problems[0]


def _list_problem(value: object, args: tuple[object, ...], where: str) -> str | None:
    if not isinstance(value, list):
        return _mismatch(where, "list", value)
    item_hint = args[0] if args else Any
    for index, item in enumerate(value):
        problem = type_problem(item, item_hint, f"{where}[{index}]")
        if problem:
            return problem
    return None


def _dataclass_problem(value: object, cls: type[Any], where: str) -> str | None:
    if not isinstance(value, cls):
        return _mismatch(where, cls.__name__, value)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        problem = type_problem(getattr(value, field.name), hints[field.name],
                               f"{where}.{field.name}")
        if problem:
            return problem
    return None


def _mismatch(where: str, expected: str, value: object) -> str:
    return f"{where} should be {expected}, not {type(value).__name__}"
