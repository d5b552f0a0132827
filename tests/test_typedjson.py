"""The side channel's codec keeps exact types: the suite's type verdicts rest on it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from fixtures.typedjson import Opaque, dumps, loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text() | st.binary(),
    lambda children: st.lists(children) | st.tuples(children, children)
    | st.dictionaries(st.text() | st.binary() | st.integers(), children),
    max_leaves=20,
)


@given(values)
def test_round_trip_keeps_values_and_types(value):
    assert _typed(loads(dumps(value))) == _typed(value)


def _typed(value):
    """A comparison key that distinguishes bytes/str, tuple/list, bool/int."""
    if isinstance(value, dict):
        return ("dict", sorted(((_typed(k), _typed(v)) for k, v in value.items()), key=repr))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__name__, value)


def test_output_is_one_printable_ascii_line():
    text = dumps({"a": "é\r\n", "b": b"\x00\xff"})
    assert text.isascii() and "\n" not in text and "\r" not in text


def test_lookalike_types_become_opaque():
    decoded = loads(dumps([bytearray(b"x"), memoryview(b"y"), True, 1]))
    assert isinstance(decoded[0], Opaque) and decoded[0].type_name == "builtins.bytearray"
    assert isinstance(decoded[1], Opaque) and decoded[1].type_name == "builtins.memoryview"
    assert decoded[2] is True and type(decoded[3]) is int


def test_int_and_str_subclasses_are_not_passed_off_as_builtins():
    class Port(int):
        pass

    decoded = loads(dumps({"port": Port(80)}))
    assert isinstance(decoded["port"], Opaque)


def test_non_finite_floats():
    nan, inf = loads(dumps([float("nan"), float("-inf")]))
    assert math.isnan(nan) and inf == float("-inf")


def test_dollar_keys_do_not_collide_with_tags():
    value = {"$bytes": "not base64!"}
    assert loads(dumps(value)) == value
