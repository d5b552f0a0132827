"""The server side of the WebSocket opening handshake (RFC 6455 §4.2):
``reference_server.websocket.handshake``."""

from __future__ import annotations

import base64

import pytest

from reference_server import websocket as ws

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3 / §4.2.2 example


def headers(*extra: tuple[bytes, bytes], drop: tuple[bytes, ...] = ()) -> list[tuple[bytes, bytes]]:
    """A valid handshake's header list (names lowercased, as the HTTP parser gives them),
    without the fields named in ``drop``, followed by ``extra``."""
    base = [
        (b"host", b"server.example.com"),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", KEY),
        (b"origin", b"http://example.com"),
        (b"sec-websocket-version", b"13"),
    ]
    return [h for h in base if h[0] not in drop] + list(extra)


def offer(*extra: tuple[bytes, bytes], drop: tuple[bytes, ...] = ()) -> ws.WebSocketOffer:
    return ws.parse_offer(b"GET", b"1.1", headers(*extra, drop=drop))


def refused(*extra: tuple[bytes, bytes], drop: tuple[bytes, ...] = (),
            method: bytes = b"GET", version: bytes = b"1.1") -> ws.HandshakeError:
    with pytest.raises(ws.HandshakeError) as info:
        ws.parse_offer(method, version, headers(*extra, drop=drop))
    return info.value


# -- is_websocket_upgrade ------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (b"websocket", True), (b"WebSocket", True), (b"h2c, websocket", True),
    (b" websocket ,foo", True), (b"websockets", False), (b"h2c", False), (b"", False),
    (None, False), (b"web socket", False),
])
def test_is_websocket_upgrade(value: bytes | None, expected: bool) -> None:
    # §4.2.1 item 3: "treated as an ASCII case-insensitive value"; Upgrade is a list.
    assert ws.is_websocket_upgrade(value) is expected


# -- parse_offer: valid -----------------------------------------------------------------


def test_valid_minimal_handshake() -> None:
    result = offer()
    assert result == ws.WebSocketOffer(key=KEY, subprotocols=[], extensions=[])


def test_connection_may_list_other_tokens() -> None:
    result = ws.parse_offer(b"GET", b"1.1", [
        (b"host", b"a"), (b"upgrade", b"WEBSOCKET"), (b"connection", b"keep-alive, Upgrade"),
        (b"sec-websocket-key", KEY), (b"sec-websocket-version", b"13"),
    ])
    assert result.key == KEY


def test_subprotocols_merged_in_order() -> None:
    # §4.2.1 item 8: "ordered by preference"; RFC 9110 §5.3: lines combine into one list.
    result = offer((b"sec-websocket-protocol", b"chat, superchat"),
                   (b"sec-websocket-protocol", b" , v2.bot,, x-1 "))
    assert result.subprotocols == ["chat", "superchat", "v2.bot", "x-1"]


def test_extension_offers_parsed() -> None:
    result = offer(
        (b"sec-websocket-extensions", b"permessage-deflate; client_max_window_bits, "
                                      b"Permessage-Deflate ;Server_Max_Window_Bits=10"),
        (b"sec-websocket-extensions", b"x-foo"),
    )
    assert result.extensions == [
        ("permessage-deflate", [("client_max_window_bits", None)]),
        ("permessage-deflate", [("server_max_window_bits", "10")]),
        ("x-foo", []),
    ]


def test_extension_quoted_values_are_unquoted() -> None:
    # §9.1: "the value after quoted-string unescaping MUST conform to the 'token' ABNF".
    result = offer((b"sec-websocket-extensions",
                    b'permessage-deflate; server_max_window_bits="10"; a = "1\\0" ; b=x'))
    assert result.extensions == [
        ("permessage-deflate", [("server_max_window_bits", "10"), ("a", "10"), ("b", "x")]),
    ]


def test_extension_list_allows_empty_elements_and_ows() -> None:
    result = offer((b"sec-websocket-extensions", b" , foo ,, bar;baz , "))
    assert result.extensions == [("foo", []), ("bar", [("baz", None)])]


def test_parameter_values_keep_their_case() -> None:
    result = offer((b"sec-websocket-extensions", b"x; Mode=Fast"))
    assert result.extensions == [("x", [("mode", "Fast")])]


# -- parse_offer: invalid --------------------------------------------------------------


@pytest.mark.parametrize("method", [b"POST", b"get", b"HEAD", b"CONNECT"])
def test_method_must_be_get(method: bytes) -> None:
    # §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    assert refused(method=method).status == 400


def test_http_10_refused() -> None:
    assert refused(version=b"1.0").status == 400


def test_host_required() -> None:
    error = refused(drop=(b"host",))
    assert error.status == 400 and "Host" in error.reason


def test_upgrade_and_connection_required() -> None:
    assert refused(drop=(b"upgrade",)).status == 400
    assert refused(drop=(b"connection",)).status == 400
    assert refused((b"upgrade", b"h2c"), drop=(b"upgrade",)).status == 400
    assert refused((b"connection", b"keep-alive"), drop=(b"connection",)).status == 400


@pytest.mark.parametrize("versions", [[], [b"8"], [b"12"], [b"14"], [b"13, 8"], [b"13", b"13"],
                                      [b"013"], [b""], [b"abc"]])
def test_version_other_than_13_is_426(versions: list[bytes]) -> None:
    # §4.2.2 /version/ and §4.4: answer with the versions we understand.
    error = refused(*[(b"sec-websocket-version", v) for v in versions],
                    drop=(b"sec-websocket-version",))
    assert error.status == 426
    assert error.headers == [(b"sec-websocket-version", b"13")]


def test_version_checked_before_key() -> None:
    error = refused(drop=(b"sec-websocket-version", b"sec-websocket-key"))
    assert error.status == 426


def test_key_missing() -> None:
    error = refused(drop=(b"sec-websocket-key",))
    assert error.status == 400 and error.reason == "missing Sec-WebSocket-Key"
    assert error.headers == []


def test_key_duplicated() -> None:
    assert refused((b"sec-websocket-key", KEY)).status == 400


@pytest.mark.parametrize("key", [
    b"",
    base64.b64encode(bytes(15)),
    base64.b64encode(bytes(17)),
    base64.b64encode(bytes(32)),
    b"dGhlIHNhbXBsZSBub25jZQ",  # padding missing
    b"dGhlIHNhbXBsZSBub25jZQ=",
    b"dGhlIHNhbXBsZSBub25jZ*==",  # not a base64 character
    b"dGhlIHNhbXBsZSBub25jZR==",  # non-zero padding bits: not canonical
    b" dGhlIHNhbXBsZSBub25jZQ==",
    b"dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==",
])
def test_key_must_be_base64_of_16_bytes(key: bytes) -> None:
    # §4.2.1 item 5: "base64-encoded ... value that, when decoded, is 16 bytes in length".
    error = refused((b"sec-websocket-key", key), drop=(b"sec-websocket-key",))
    assert error.status == 400


@pytest.mark.parametrize("value", [b"chat superchat", b"a/b", b"chat, b@d", b"\"chat\"",
                                   b"chat;q=1"])
def test_malformed_subprotocol_list(value: bytes) -> None:
    # §4.3: Sec-WebSocket-Protocol-Client = 1#token.
    assert refused((b"sec-websocket-protocol", value)).status == 400


@pytest.mark.parametrize("value", [
    b"; foo", b"foo;", b"foo; ", b"foo=bar", b"foo; a=", b"foo; a=b=c", b"foo bar",
    b'foo; a="b c"', b'foo; a="unterminated', b'foo; a=""', b"foo; a=b c", b"foo;;a",
    b"f@o", b'foo; "a"=b', b"foo; a=\"b\"c",
])
def test_malformed_extension_list(value: bytes) -> None:
    # §9.1 grammar: extension-param = token [ "=" (token | quoted-string) ].
    assert refused((b"sec-websocket-extensions", value)).status == 400


def test_handshake_error_fields() -> None:
    error = ws.HandshakeError(400, "bad")
    assert error.status == 400 and error.reason == "bad" and error.headers == []
    assert "bad" in str(error)


# -- accept_value (§4.2.2 step 5.4) ------------------------------------------------------


def test_accept_value_rfc_example() -> None:
    assert ws.accept_value(KEY) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


# -- accept_response -------------------------------------------------------------------


def split_response(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    assert raw.endswith(b"\r\n\r\n")
    lines = raw[:-4].split(b"\r\n")
    fields = []
    for line in lines[1:]:
        name, _, value = line.partition(b": ")
        fields.append((name.lower(), value))
    return lines[0], fields


def test_accept_response_minimal() -> None:
    raw = ws.accept_response(KEY, subprotocol=None, headers=[], extension=None,
                          server_header=None, date=None)
    status, fields = split_response(raw)
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert fields == [(b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
                      (b"sec-websocket-accept", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]


def test_accept_response_full() -> None:
    raw = ws.accept_response(
        KEY, subprotocol="chat", headers=[(b"X-Custom", b"1"), (b"set-cookie", b"a=b")],
        extension=b"permessage-deflate; server_max_window_bits=12",
        server_header=b"reference", date=b"Tue, 15 Nov 1994 08:12:31 GMT")
    _, fields = split_response(raw)
    assert fields[3:] == [
        (b"sec-websocket-protocol", b"chat"),
        (b"sec-websocket-extensions", b"permessage-deflate; server_max_window_bits=12"),
        (b"x-custom", b"1"),
        (b"set-cookie", b"a=b"),
        (b"server", b"reference"),
        (b"date", b"Tue, 15 Nov 1994 08:12:31 GMT"),
    ]


def test_accept_response_drops_conflicting_app_headers() -> None:
    raw = ws.accept_response(
        KEY, subprotocol=None,
        headers=[(b"Upgrade", b"h2c"), (b"connection", b"close"),
                 (b"sec-websocket-accept", b"x"), (b"Sec-WebSocket-Protocol", b"evil"),
                 (b"sec-websocket-extensions", b"x"), (b"x-ok", b"1")],
        extension=None, server_header=None, date=None)
    _, fields = split_response(raw)
    assert [name for name, _ in fields] == [b"upgrade", b"connection", b"sec-websocket-accept",
                                           b"x-ok"]
    assert (b"upgrade", b"websocket") in fields


def test_app_server_and_date_headers_win() -> None:
    raw = ws.accept_response(KEY, subprotocol=None,
                          headers=[(b"server", b"app"), (b"date", b"today")],
                          extension=None, server_header=b"reference", date=b"now")
    _, fields = split_response(raw)
    assert [v for n, v in fields if n == b"server"] == [b"app"]
    assert [v for n, v in fields if n == b"date"] == [b"today"]


@pytest.mark.parametrize("bad", [
    [("x", b"1")], [(b"x", "1")], [(b"bad name", b"1")], [(b"", b"1")], [(b"x:", b"1")],
    [(b"x", b"a\r\nevil: 1")], [(b"x", b"a\nb")], [(b"x", b"\x00")],
    [(b"x", b"1", b"2")], [(b"x",)], [b"xy"], b"x: y", "x", 5,
])
def test_accept_response_refuses_invalid_app_headers(bad: object) -> None:
    with pytest.raises(ValueError):
        ws.accept_response(KEY, subprotocol=None, headers=bad,  # type: ignore[arg-type]
                        extension=None, server_header=None, date=None)


@pytest.mark.parametrize("subprotocol", ["", "a b", "chat,x", "ü", b"chat"])
def test_accept_response_subprotocol_must_be_a_token(subprotocol: object) -> None:
    with pytest.raises(ValueError):
        ws.accept_response(KEY, subprotocol=subprotocol,  # type: ignore[arg-type]
                        headers=[], extension=None, server_header=None, date=None)


def test_accept_response_takes_any_iterable_of_pairs() -> None:
    pairs: list[object] = [(b"a", b"1"), [b"b", b"2"]]
    raw = ws.accept_response(KEY, subprotocol=None, headers=iter(pairs),  # type: ignore[arg-type]
                          extension=None, server_header=None, date=None)
    assert raw.endswith(b"a: 1\r\nb: 2\r\n\r\n")
