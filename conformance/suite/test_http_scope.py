"""The HTTP connection scope (ASGI www.rst "HTTP Connection Scope", asgi.rst
"Applications" and "Strings and Unicode").

Each case sends one request to the probe's ``echo`` scenario and judges the scope the
app recorded through the side channel.
"""

from __future__ import annotations

import pytest

from conformance.checks import SPEC_VERSIONS_HTTP, header_pairs, header_values, type_name
from conformance.verdicts import not_applicable

req = pytest.mark.requirement


@req("MAIN-003")
def test_scope_is_a_dict(probe):
    """The scope handed to the app is a dict."""
    _, call = probe.get("/")
    assert call.info["scope_is_dict"], f"the scope is a {call.info['scope_type']}"


@req("MAIN-004")
def test_scope_type_is_str(probe):
    """scope["type"] is present and is exactly a str."""
    _, call = probe.get("/")
    scope = call.scope
    assert "type" in scope, "scope has no 'type'"
    assert type(scope["type"]) is str, f"scope['type'] is {type_name(scope['type'])}"


@req("HTTP-001")
def test_scope_type_is_http(probe):
    """A plain HTTP request is an "http" scope."""
    _, call = probe.get("/")
    assert call.scope.get("type") == "http"


@req("MAIN-005")
def test_asgi_version(probe):
    """scope["asgi"] is a dict whose version is "3.0" for a single-callable app."""
    _, call = probe.get("/")
    asgi = call.scope.get("asgi")
    assert type(asgi) is dict, f"scope['asgi'] is {type_name(asgi)}"
    assert asgi.get("version") == "3.0", f"asgi version is {asgi.get('version')!r}"


@req("HTTP-003")
def test_spec_version_is_published(probe):
    """asgi["spec_version"] is a published HTTP spec version; absent, it is "2.0" by the
    spec's default, which is one."""
    _, call = probe.get("/")
    asgi = call.scope.get("asgi") or {}
    version = asgi.get("spec_version", "2.0")
    assert version in SPEC_VERSIONS_HTTP, (
        f"spec_version {version!r} is not one of {SPEC_VERSIONS_HTTP}"
    )


@req("HTTP-002")
def test_required_keys_present(probe):
    """Every key the spec does not mark optional is present."""
    _, call = probe.get("/")
    scope = call.scope
    missing = [k for k in ("type", "asgi", "http_version", "method", "path",
                           "query_string", "headers") if k not in scope]
    assert not missing, f"scope lacks {missing}"
    assert "version" in scope["asgi"], "scope['asgi'] lacks 'version'"


@req("HTTP-004")
@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_http_version(probe, version):
    """http_version is "1.1" or "1.0" as the request line said (not "1")."""
    _, call = probe.get("/", version=f"HTTP/{version}")
    value = call.scope.get("http_version")
    assert value == version, f"HTTP/{version} request gave http_version {value!r}"


@req("HTTP-005")
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                                    "PROPFIND"])
def test_method(probe, method):
    """The method arrives as exactly the request's token, as a str."""
    _, call = probe.get("/", method=method, content_length=method in ("POST", "PUT", "PATCH"))
    value = call.scope.get("method")
    assert type(value) is str and value == method, f"method is {value!r}"


@req("HTTP-006")
def test_scheme_on_plain_connection(probe):
    """scheme is "http" on a plain connection, never empty; absent, it is "http" by the
    spec's default."""
    _, call = probe.get("/")
    scheme = call.scope.get("scheme", "http")
    assert scheme == "http", f"scheme is {scheme!r}"


@req("HTTP-007")
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/a%20b", "/a b"),
        ("/caf%C3%A9", "/café"),
        ("/a%2Fb", "/a/b"),
        ("/a+b", "/a+b"),
        ("/p?q=1", "/p"),
    ],
)
def test_path_is_decoded(probe, target, expected):
    """path is percent-decoded and UTF-8 decoded, without the query."""
    _, call = probe.get(target)
    assert call.scope.get("path") == expected, (
        f"{target} gave path {call.scope.get('path')!r}"
    )


@req("HTTP-008")
def test_raw_path_is_exact(probe):
    """raw_path, when given, is the target's path bytes exactly, without the query; n/a
    when the server gives none (optional: "Some web server implementations may be unable
    to provide this")."""
    _, call = probe.get("/a%2Fb%20c/%7E?x=%20")
    raw_path = call.scope.get("raw_path")
    if raw_path is None:
        not_applicable("the http scope carries no raw_path (optional; defaults to None)")
    assert type(raw_path) is bytes, f"raw_path is {type_name(raw_path)}"
    assert raw_path == b"/a%2Fb%20c/%7E"


@req("HTTP-009")
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/?a=%20b&c=d+e&e=%ZZ&f", b"a=%20b&c=d+e&e=%ZZ&f"),
        ("/", b""),
        ("/?", b""),
        ("/?x=1?y=2", b"x=1?y=2"),
    ],
    ids=["encoded", "none", "lone-mark", "second-mark"],
)
def test_query_string_is_raw(probe, target, expected):
    """query_string is the raw bytes after the first "?", not decoded."""
    _, call = probe.get(target)
    value = call.scope.get("query_string")
    assert type(value) is bytes, f"query_string is {type_name(value)}"
    assert value == expected


@req("HTTP-010")
def test_root_path_default(probe):
    """Without a configured root path, root_path is "" or absent."""
    _, call = probe.get("/")
    assert call.scope.get("root_path", "") == "", f"root_path is {call.scope['root_path']!r}"


@req("HTTP-012")
def test_headers_are_byte_pairs(probe):
    """headers is an iterable of (name, value) pairs of bytes."""
    _, call = probe.get("/", headers=[("X-Shape", "1")])
    for name, value in header_pairs(call.scope):
        assert type(name) is bytes and type(value) is bytes, (
            f"header ({name!r}, {value!r}) is ({type_name(name)}, {type_name(value)})"
        )


@req("HTTP-013")
def test_header_value_order_kept(probe):
    """Values of a repeated header keep the order the client sent them in."""
    _, call = probe.get("/", headers=[("X-A", "1"), ("X-B", "b"), ("X-A", "2"),
                                      ("X-C", "c"), ("X-A", "3")])
    assert header_values(call.scope, b"x-a") == [b"1", b"2", b"3"]


@req("HTTP-014")
def test_duplicate_headers_kept(probe):
    """Repeated header lines stay separate entries (Cookie too), none dropped or joined."""
    _, call = probe.get("/", headers=[("Cookie", "a=1"), ("X-Dup", "x"), ("Cookie", "b=2"),
                                      ("X-Dup", "y"), ("Accept", "a"), ("Accept", "b")])
    assert header_values(call.scope, b"cookie") == [b"a=1", b"b=2"]
    assert header_values(call.scope, b"x-dup") == [b"x", b"y"]
    assert header_values(call.scope, b"accept") == [b"a", b"b"]


@req("HTTP-015")
def test_header_names_lowercased(probe):
    """Header names reach the app lowercased."""
    _, call = probe.get("/", headers=[("X-MiXeD-Case", "v")])
    names = [name for name, _ in header_pairs(call.scope)
             if isinstance(name, bytes) and name.lower() == b"x-mixed-case"]
    assert names == [b"x-mixed-case"], f"the name arrived as {names!r}"


@req("HTTP-017")
@pytest.mark.parametrize(
    "value",
    [b"MiXeD Value", b"a,b , c", b"caf\xe9", b'"q"'],
    ids=["case", "commas", "obs-text", "quotes"],
)
def test_header_values_byte_exact(probe, value):
    """Header values arrive byte for byte."""
    _, call = probe.get("/", headers=[(b"X-Value", value)])
    assert header_values(call.scope, b"x-value") == [value]


@req("HTTP-019")
def test_client_address(probe):
    """client is (the peer address as str, the peer port as int); n/a when absent
    (optional, defaults to None)."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/"))
    probe.read(conn)
    client = probe.scope().get("client")
    if client is None:
        not_applicable("the http scope carries no client (optional; defaults to None)")
    assert isinstance(client, list | tuple) and len(client) == 2, f"client is {client!r}"
    host, port = client
    assert type(host) is str and host == "127.0.0.1", f"client host is {host!r}"
    assert type(port) is int, f"client port is {type_name(port)} {port!r}"
    assert port == conn.local_port, f"client port {port} is not ours ({conn.local_port})"


@req("HTTP-020")
def test_server_address(probe, server):
    """server is (the listening address as str, the listening port as int); n/a when
    absent (optional, defaults to None)."""
    _, call = probe.get("/")
    value = call.scope.get("server")
    if value is None:
        not_applicable("the http scope carries no server (optional; defaults to None)")
    assert isinstance(value, list | tuple) and len(value) == 2, f"server is {value!r}"
    host, port = value
    assert type(host) is str and host == server.host, f"server host is {host!r}"
    assert type(port) is int and port == server.port, f"server port is {port!r}"


@req("HTTP-021")
def test_state_copied_from_lifespan(probe):
    """When lifespan had a state dict, each request scope has a copy of it."""
    lifespan = [r for r in probe.log.records(None)
                if r.kind == "call" and r.data["scope"].get("type") == "lifespan"]
    if not lifespan or "state" not in lifespan[0].data["scope"]:
        not_applicable("the server gave the lifespan scope no 'state' (or ran no lifespan)")
    _, call = probe.get("/")
    state = call.scope.get("state")
    assert type(state) is dict, f"request scope state is {type_name(state)}"
    assert state.get("probe.lifespan") == "started", (
        f"request state lacks what lifespan startup stored: {state!r}"
    )


@req("MAIN-010")
def test_byte_strings_are_exact_bytes(probe):
    """raw_path, query_string and header names and values are bytes, not look-alikes."""
    _, call = probe.get("/x?y=1", headers=[("X-T", "v")])
    scope = call.scope
    checked = {"query_string": scope.get("query_string")}
    if scope.get("raw_path") is not None:
        checked["raw_path"] = scope["raw_path"]
    for index, (name, value) in enumerate(header_pairs(scope)):
        checked[f"headers[{index}]"] = name
        checked[f"headers[{index}] value"] = value
    wrong = {k: type_name(v) for k, v in checked.items() if type(v) is not bytes}
    assert not wrong, f"not exactly bytes: {wrong}"
    text = {k: type_name(scope.get(k)) for k in ("path", "method", "type")
            if type(scope.get(k)) is not str}
    assert not text, f"not exactly str: {text}"


@req("MAIN-011")
def test_scope_keys_are_str(probe):
    """Every key of the scope and of scope["asgi"] is a str."""
    _, call = probe.get("/")
    keys = list(call.scope) + list(call.scope.get("asgi") or {})
    wrong = [k for k in keys if type(k) is not str]
    assert not wrong, f"non-str keys: {wrong!r}"


@req("MAIN-022")
def test_app_runs_on_main_thread_asyncio(probe):
    """The app runs in a running asyncio loop on the main thread."""
    _, call = probe.get("/")
    assert call.info["loop"] is not None, "no running asyncio loop in the app"
    assert call.info["main_thread"], "the app does not run on the main thread"


@req("MAIN-001")
def test_one_call_per_request(probe):
    """Three requests on one keep-alive connection are three application calls."""
    conn = probe.connect()
    for _ in range(3):
        conn.send(probe.request("GET", "/"))
        probe.read(conn)
    assert len(probe.calls(3)) == 3


@req("HTTP-053")
def test_each_request_has_its_own_scope(probe):
    """A scope change in one request's call is not seen by the next request's call."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/first", scenario="script", args={"steps": [
        ["receive_body"], ["scope_set", "probe.mark", 1], ["respond_report", "scope"]]}))
    probe.read(conn)
    conn.send(probe.request("GET", "/second"))
    probe.read(conn)
    first, second = probe.calls(2)
    assert first.scope.get("path") == "/first" and second.scope.get("path") == "/second"
    assert "probe.mark" not in second.scope, (
        "the second request's scope carries the first request's change"
    )
