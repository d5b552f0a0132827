"""The main ASGI specification (asgi.rst): the application's calling convention, event
types and contents, extra keys, the extensions dict, and legacy two-callable apps.

Items judged elsewhere: MAIN-001/003/004/005/007/010/011/022 in test_http_scope.py
(http scopes) and test_lifespan.py (lifespan scope), MAIN-014/016 in test_app_errors.py,
MAIN-018/019/023 (send and cleanup after a disconnect) in test_http_disconnect.py.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks import header_values, type_name
from conformance.probe import Probe
from conformance.rawhttp import MalformedResponse
from conformance.suite._dedicated import (
    Dedicated,
    adopt_evidence,
    echoed_scope,
    suite_spec,
    tail,
)
from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.verdicts import NoResponse, non_strict, not_applicable

req = pytest.mark.requirement


def _events_of_http_call(probe: Probe) -> tuple[str, list[Any]]:
    """A call that receives a body in pieces and then http.disconnect: the events it got."""
    conn = probe.connect()
    conn.send(probe.request("POST", "/", scenario="wait_disconnect",
                            args={"respond": True, "timeout": 3.0}, body=b"x" * 3000))
    probe.read(conn, "POST")
    call = probe.wait_for("the app received http.disconnect after its response",
                          lambda c: any(isinstance(e, dict) and e.get("type") ==
                                        "http.disconnect" for e in c.received), 2.0)
    return "http", call.received


def _lifespan_events(probe: Probe) -> tuple[str, list[Any]]:
    """The events the shared server's lifespan call received so far (lifespan.startup)."""
    records = probe.log.records(None)
    calls = {r.call for r in records if r.kind == "call"
             and isinstance(r.data.get("scope"), dict)
             and r.data["scope"].get("type") == "lifespan"}
    if not calls:
        not_applicable("the server never called the app with a lifespan scope (it does not "
                       "implement the lifespan protocol)")
    return "lifespan", [r.data["event"] for r in records
                        if r.call in calls and r.kind == "receive"]


EVENT_SOURCES = {"http": _events_of_http_call, "lifespan": _lifespan_events}


@req("MAIN-002")
def test_receive_and_send_are_awaitable_callables(probe):
    """receive() and send(event), called with the event as the one positional argument,
    return awaitables."""
    response = probe.exchange(probe.request("GET", "/", scenario="script",
                                            args={"steps": [["callable_shape"]]}))
    call = probe.call()
    shape = next((r.data for r in call.records if r.kind == "shape"), None)
    assert shape is not None, f"the app could not finish its calls; response {response.status}"
    assert shape["receive_awaitable"], "receive() did not return an awaitable"
    assert shape["send_awaitable"], "send(event) did not return an awaitable"
    assert response.status == 200 and response.body == b"shape"


@req("MAIN-006")
def test_http_spec_version_format(probe):
    """The http scope's spec_version, when present, is a "major.minor" str; n/a when
    absent (there is no value whose format could be judged)."""
    _, call = probe.get("/")
    asgi = call.scope.get("asgi") or {}
    if "spec_version" not in asgi:
        not_applicable("the http scope carries no asgi spec_version")
    value = asgi["spec_version"]
    assert type(value) is str and re.fullmatch(r"\d+\.\d+", value), (
        f"spec_version is {value!r}")


@req("MAIN-008")
@pytest.mark.parametrize("source", list(EVENT_SOURCES))
def test_event_types_are_namespaced(probe, source):
    """Every event the app receives is namespaced by its scope type: "http.*" in an http
    call (http.request, http.disconnect), "lifespan.*" in the lifespan call."""
    scope_type, events = EVENT_SOURCES[source](probe)
    assert events, f"the {scope_type} call received no events"
    wrong = [e.get("type") if isinstance(e, dict) else e for e in events
             if not (isinstance(e, dict) and isinstance(e.get("type"), str)
                     and e["type"].startswith(scope_type + "."))]
    assert not wrong, f"event types outside {scope_type}.*: {wrong!r}"


def _disallowed(value: Any, path: str, soft: list[str]) -> list[str]:
    """Where ``value`` holds a type events may not contain (asgi.rst Events 139-150);
    tuples, which "should be encoded as lists", go to ``soft``."""
    kind = type(value)
    if value is None or kind in (bool, str, bytes):
        return []
    if kind is int:
        return [] if -(2**63) <= value < 2**63 else [f"{path}: int {value} beyond 64 bits"]
    if kind is float:
        return [] if math.isfinite(value) else [f"{path}: non-finite float {value}"]
    if kind in (list, tuple):
        if kind is tuple:
            soft.append(f"{path}: tuple")
        return [bad for i, item in enumerate(value) for bad in _disallowed(item, f"{path}[{i}]",
                                                                           soft)]
    if kind is dict:
        found = [f"{path}: key {k!r} is {type_name(k)}" for k in value if type(k) is not str]
        return found + [bad for k, v in value.items()
                        for bad in _disallowed(v, f"{path}[{k!r}]", soft)]
    return [f"{path}: {type_name(value)}"]


@req("MAIN-009")
@pytest.mark.parametrize("source", list(EVENT_SOURCES))
def test_event_values_have_allowed_types(probe, source):
    """Events hold only bytes, str, 64-bit ints, finite floats, lists, dicts with str keys,
    bools and None. (A tuple is tolerated as non-strict: the text says tuples "should" be
    lists.)"""
    scope_type, events = EVENT_SOURCES[source](probe)
    soft: list[str] = []
    bad = [found for i, event in enumerate(events) for found in _disallowed(event, f"event {i}",
                                                                            soft)]
    assert not bad, f"disallowed types in {scope_type} events: {bad}"
    if soft:
        non_strict(f"tuples where lists should be: {soft}; asgi.rst says only that "
                   f"\"tuples should be encoded as lists\" (SHOULD)")


@req("MAIN-011")
@pytest.mark.parametrize("source", list(EVENT_SOURCES))
def test_event_keys_are_str(probe, source):
    """Every key of every received event is a str."""
    scope_type, events = EVENT_SOURCES[source](probe)
    wrong = [(i, k) for i, e in enumerate(events) if isinstance(e, dict)
             for k in e if type(k) is not str]
    assert not wrong, f"non-str keys in {scope_type} events (index, key): {wrong!r}"


@req("MAIN-011")
def test_extension_keys_are_str(probe):
    """The keys of scope["extensions"] and of each extension's dict are str; n/a when there
    are none (no extensions dict, MAIN-020 judging one that is not a dict, or an empty
    one)."""
    _, call = probe.get("/")
    extensions = call.scope.get("extensions")
    if not isinstance(extensions, dict) or not extensions:
        not_applicable(f"scope['extensions'] has no keys to judge: {extensions!r}")
    wrong = [k for k in extensions if type(k) is not str]
    wrong += [f"{name}.{k!r}" for name, value in extensions.items() if isinstance(value, dict)
              for k in value if type(k) is not str]
    assert not wrong, f"non-str keys in scope['extensions']: {wrong!r}"


@req("MAIN-015")
def test_extra_event_keys_accepted(probe):
    """A response start and body carrying keys no spec defines ("x_future") work as
    without them: send() does not raise and the response is the app's."""
    events = [_start(200, [(b"content-length", b"2")], x_future=1),
              _body(b"ok", x_future={"nested": True})]
    response = probe.exchange(probe.request("GET", "/", scenario="respond",
                                            args={"events": events}))
    call = probe.call()
    raised = [s for s in call.sends if not s["ok"]]
    assert not raised, f"send() raised on extra keys: {raised!r}"
    assert response.status == 200 and response.body == b"ok", (
        f"response {response.status} {response.body!r}")


@req("MAIN-020")
def test_extensions_is_a_dict(probe):
    """scope["extensions"], when present, is a dict; n/a when absent (or None, its
    default)."""
    _, call = probe.get("/")
    if call.scope.get("extensions") is None:
        not_applicable("the http scope carries no extensions")
    assert type(call.scope["extensions"]) is dict, (
        f"scope['extensions'] is {type_name(call.scope['extensions'])}")


@req("MAIN-021")
def test_extension_values_are_dicts(probe):
    """Each advertised extension's value is a dict."""
    _, call = probe.get("/")
    extensions = call.scope.get("extensions") or {}
    if not isinstance(extensions, dict) or not extensions:
        not_applicable("the server advertises no extension on http scopes")
    wrong = {k: type_name(v) for k, v in extensions.items() if type(v) is not dict}
    assert not wrong, f"extension values that are not dicts: {wrong}"


UNADVERTISED_EVENTS: dict[str, dict[str, Any]] = {
    "http.response.trailers": {"type": "http.response.trailers", "headers": [],
                               "more_trailers": False},
    "http.response.pathsend": {"type": "http.response.pathsend",
                               "path": "/nonexistent/asgi-probe-pathsend"},
    "http.response.zerocopysend": {"type": "http.response.zerocopysend", "file": None,
                                   "more_body": True},
    "http.response.early_hint": {"type": "http.response.early_hint",
                                 "links": [b"</probe.css>; rel=preload; as=style"]},
    "http.response.push": {"type": "http.response.push", "path": "/pushed", "headers": []},
    "http.response.debug": {"type": "http.response.debug", "info": {"probe": 1}},
}


@pytest.fixture
def unadvertised(request: pytest.FixtureRequest, advertised: dict[str, Any]) -> str:
    """The case's extension, n/a (at setup) when the server advertises it."""
    extension = str(request.node.callspec.params["extension"])
    offered = advertised.get("http.extensions") or []
    if extension in offered:
        not_applicable(f"the server advertises {extension} (advertised: {offered})")
    return extension


@req("MAIN-021")
@pytest.mark.parametrize("extension", list(UNADVERTISED_EVENTS))
def test_unadvertised_extension_event_raises(probe, advertised, unadvertised, extension):
    """send() raises on the event of an extension the server does not advertise (it is an
    unknown event type to that server), sent between the response start and its body."""
    offered = advertised.get("http.extensions") or []
    event = UNADVERTISED_EVENTS[extension]
    steps = [["receive_body"], ["send", _start(200, [(b"content-length", b"2")])],
             ["send", event], ["send", _body(b"ok")]]
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="script", args={"steps": steps}))
    with contextlib.suppress(AssertionError):
        probe.read(conn, timeout=1.0)  # evidence only
    call = probe.wait_for(f"the app's send of {extension} returned or raised",
                          lambda c: any(s["event"].get("type") == extension for s in c.sends),
                          2.0)
    outcome = next(s for s in call.sends if s["event"].get("type") == extension)
    assert not outcome["ok"], (
        f"send() accepted {extension} though the server does not advertise it "
        f"(advertised: {offered})")


# --- legacy (two-callable) applications ------------------------------------------------------


@pytest.fixture(scope="module")
def legacy(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dedicated]:
    """The server under test serving ``fixtures.probe:LegacyApp`` with default options."""
    dedicated = Dedicated(suite_spec(request.config), "fixtures.probe:LegacyApp",
                          tmp_path_factory.mktemp("legacy"), start_timeout=10.0)
    dedicated.start()
    yield dedicated
    dedicated.stop()


def _legacy_get(request: pytest.FixtureRequest, legacy: Dedicated, probe_id: str):
    if legacy.start_error is not None:
        return None, f"the server did not start with the legacy app: {legacy.start_error}"
    probe = legacy.probe(probe_id)
    adopt_evidence(request, probe)
    try:
        return probe.exchange(probe.request("GET", "/legacy")), ""
    except (NoResponse, MalformedResponse, OSError) as exc:
        return None, f"no response from the legacy app: {exc}"


@req("MAIN-012")
def test_legacy_app_served(request, server, legacy):
    """A legacy two-callable application (a class constructed with the scope, whose
    instance is awaited with receive and send) is served with default options."""
    probe_id = f"legacy-{time.monotonic_ns()}"
    response, why = _legacy_get(request, legacy, probe_id)
    assert response is not None, f"{why}\ncommand: {legacy.describe()}\n" \
                                 f"{tail(legacy.output())}"
    assert response.status == 200, (
        f"the legacy app's request got {response.status} {response.body[:200]!r}\n"
        f"{tail(legacy.output())}")
    scope = echoed_scope(response)
    assert header_values(scope, b"x-probe-id") == [probe_id.encode()]


@req("MAIN-013")
def test_legacy_app_constructed_then_awaited(request, server, legacy):
    """The legacy app's first callable gets the scope when the connection starts, and its
    instance is awaited right after, in the same process."""
    probe_id = f"legacy-{time.monotonic_ns()}"
    response, why = _legacy_get(request, legacy, probe_id)
    if response is None or response.status != 200:
        not_applicable(f"the server does not serve legacy apps ({why or response.status})")
    records = [r for r in legacy.records() if r.id == probe_id]
    kinds = [r.kind for r in records]
    assert "legacy_construct" in kinds and "legacy_instance" in kinds, (
        f"the legacy app's records for the request: {kinds}")
    construct = next(r for r in records if r.kind == "legacy_construct")
    instance = next(r for r in records if r.kind == "legacy_instance")
    assert construct.t <= instance.t and instance.pid == construct.pid, (
        f"constructed at {construct.t:.3f} (pid {construct.pid}), instance awaited at "
        f"{instance.t:.3f} (pid {instance.pid})")
    assert instance.t - construct.t < 1.0, (
        f"the instance was awaited {instance.t - construct.t:.3f} s after construction")
