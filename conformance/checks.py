"""Small judgements shared by cases: header lookups and exact-type checks on what the
probe recorded (decoded by :mod:`fixtures.typedjson`, which keeps exact types)."""

from __future__ import annotations

from typing import Any

from fixtures.typedjson import Opaque

SPEC_VERSIONS_HTTP = ("2.0", "2.1", "2.2", "2.3", "2.4", "2.5")


def type_name(value: Any) -> str:
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def header_pairs(scope: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The scope's headers as pairs, failing clearly when they are not pairs at all."""
    headers = scope.get("headers")
    assert isinstance(headers, list | tuple), (
        f"scope['headers'] is {type_name(headers)}, not an iterable of pairs"
    )
    pairs = []
    for item in headers:
        assert isinstance(item, list | tuple) and len(item) == 2, (
            f"header entry {item!r} is not a two-item iterable"
        )
        pairs.append((item[0], item[1]))
    return pairs


def header_values(scope: dict[str, Any], name: bytes) -> list[Any]:
    """Values of header ``name`` (compared case-insensitively) in scope order."""
    return [
        value for key, value in header_pairs(scope)
        if isinstance(key, bytes) and key.lower() == name
    ]


def version_tuple(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def assert_not_logged_as_error(output: str, exc_type: str) -> None:
    """The heuristic of HTTP-052/WS-042 ("should not log it as an error"): no traceback,
    no line naming the exception's class (``exc_type`` as the probe recorded it, dotted)
    and no ERROR line in what the server wrote."""
    name = exc_type.rsplit(".", 1)[-1]
    flagged = [line for line in output.splitlines()
               if "Traceback" in line or name in line or " ERROR" in line.upper()]
    assert not flagged, f"the server logged the {name} it raised:\n" + "\n".join(flagged[:20])
