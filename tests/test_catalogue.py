"""The requirement catalogue is the suite's vocabulary: every entry must be usable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.catalogue import CATALOGUE, Level, UnknownRequirement, lookup

SUITE = Path(__file__).resolve().parent.parent / "conformance" / "suite"


@pytest.mark.parametrize("req", list(CATALOGUE.values()), ids=list(CATALOGUE))
def test_entry_is_complete(req):
    assert re.fullmatch(r"(MAIN|HTTP|WS|LIFE|EXT)-\d{3}|RFC\d{4}-[\d.]+-\d+|AB-\d+(\.\d+){0,2}"
                        r"|FW(-[A-Z]+)+|H2ASGI-\d+", req.id)
    assert isinstance(req.level, Level)
    assert req.spec and req.section and req.quote and req.summary
    assert len(req.quote) <= 200, "quotes stay short; the summary is in our words"


def test_lookup_unknown():
    with pytest.raises(UnknownRequirement):
        lookup("HTTP-999")


def test_should_and_derived_are_never_strict():
    for req in CATALOGUE.values():
        if req.level in (Level.SHOULD, Level.MAY) or req.derived:
            assert not req.strict, req.id


def test_every_catalogued_requirement_named_by_the_suite_exists():
    named = set()
    for path in SUITE.glob("test_*.py"):
        named |= set(re.findall(r'req\("([^"]+)"\)', path.read_text()))
    assert named, "the suite names no requirement"
    assert named <= set(CATALOGUE), named - set(CATALOGUE)
