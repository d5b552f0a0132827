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
