"""The reference server's HTTP/2 against real clients, end to end: curl, httpx (with h2),
nghttp, Node's http2 module and headless Chromium, each over h2c with prior knowledge
(RFC 9113 §3.3) and/or h2 over TLS chosen by ALPN (RFC 9113 §3.2, RFC 7301).

Two real server processes serve ``tests/reference/h2_app.py`` for the whole module: one
plaintext, one with the harness's test certificate (conformance/testcert.py). The app
echoes what its scope said (http_version, method, scheme, the tls extension, the body
and the client port), so each client's answer shows what the server saw as well as what
the client negotiated. Chromium loads a page over https and does a WebSocket round trip
from it; over h2 it uses RFC 8441 extended CONNECT when the server advertises
SETTINGS_ENABLE_CONNECT_PROTOCOL, which the app sees as a websocket scope with
http_version "2".

The external clients are Debian packages that .ci/run installs (curl, nghttp2-client,
chromium; Node.js comes with the machine, nodejs otherwise): a missing one fails its
test with the package's name, it is never skipped.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hyperframe.frame import PushPromiseFrame

from conformance.rawh2 import Setting
from conformance.rawh2 import connect as h2_connect
from conformance.testcert import TEST_CERT, TEST_KEY
from tests.reference.server_process import ServerProcess

APP = "tests.reference.h2_app:app"
#: Bound of every client run (seconds); Chromium gets more for its start-up.
CLIENT_TIMEOUT = 30
BROWSER_TIMEOUT = 90


def require(tool: str, package: str) -> str:
    """The path of ``tool``, or a failure naming the Debian package that provides it."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: apt-get install {package} "
                    "(.ci/run installs it on a fresh machine)")
    return path


class Server(ServerProcess):
    """The reference server serving the h2 app (plaintext, or TLS with ``tls``)."""

    def __init__(self, tmp: Path, *options: str, tls: bool = False) -> None:
        self.tls = tls
        super().__init__(tmp, APP, *options)

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("h2cert")
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_text(TEST_CERT)
    key.write_text(TEST_KEY)
    return cert, key


def _serve(tmp: Path, *options: str, tls: bool = False) -> Iterator[Server]:
    server = Server(tmp, *options, tls=tls)
    yield server
    assert server.stop() == 0, server.stderr()
    assert "Traceback" not in server.stderr(), server.stderr()


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(tmp_path_factory.mktemp("h2c"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory,
               cert_files: tuple[Path, Path]) -> Iterator[Server]:
    cert, key = cert_files
    yield from _serve(tmp_path_factory.mktemp("h2tls"), "--ssl-certfile", str(cert),
                      "--ssl-keyfile", str(key), tls=True)


@pytest.fixture(scope="module")
def upgrade_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(tmp_path_factory.mktemp("h2up"), "--h2c-upgrade")


@pytest.fixture
def ca_context(cert_files: tuple[Path, Path]) -> ssl.SSLContext:
    """A client context that trusts exactly the test certificate."""
    return ssl.create_default_context(cafile=str(cert_files[0]))


def run(argv: list[str], timeout: float = CLIENT_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def seen(server: Server, key: str, context: ssl.SSLContext | None = None) -> Any:
    """What the app recorded under ``key`` (an HTTP/1.1 GET with the stdlib client)."""
    conn: http.client.HTTPConnection
    if server.tls:
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5,
                                           context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", f"/seen/{key}")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def assert_echo(body: str | bytes, *, method: str, scheme: str, path: str,
                sent: str = "", query: str = "") -> dict[str, Any]:
    """The app's echo says the request came over HTTP/2 as sent, with the tls extension
    exactly when the scheme is https (tls.rst)."""
    echoed: dict[str, Any] = json.loads(body)
    assert echoed["http_version"] == "2", echoed
    assert echoed["method"] == method, echoed
    assert echoed["scheme"] == scheme, echoed
    assert echoed["path"] == path, echoed
    assert echoed["query_string"] == query, echoed
    assert echoed["body"] == sent, echoed
    assert echoed["tls"] is (scheme == "https"), echoed
    return echoed


# -- curl ------------------------------------------------------------------------------------

_WRITE_OUT = "\n%{http_version} %{response_code}"


def curl(*args: str) -> tuple[str, str, int]:
    """curl's body, the HTTP version it reports and the status."""
    done = run([require("curl", "curl"), "-sS", "--max-time", "20", "-w", _WRITE_OUT, *args])
    assert done.returncode == 0, done.stderr
    body, _, written = done.stdout.rpartition("\n")
    version, status = written.split()
    return body, version, int(status)


def test_curl_h2c_prior_knowledge_get(plain_server: Server) -> None:
    body, version, status = curl("--http2-prior-knowledge",
                                 f"{plain_server.origin}/curl/get?q=1")
    assert (version, status) == ("2", 200)
    assert_echo(body, method="GET", scheme="http", path="/curl/get", query="q=1")


def test_curl_h2c_prior_knowledge_post_body(plain_server: Server) -> None:
    payload = "posted over h2c " * 100
    body, version, status = curl("--http2-prior-knowledge", "--data-binary", payload,
                                 f"{plain_server.origin}/curl/post")
    assert (version, status) == ("2", 200)
    assert_echo(body, method="POST", scheme="http", path="/curl/post", sent=payload)


def test_curl_http2_over_tls_alpn(tls_server: Server, cert_files: tuple[Path, Path]) -> None:
    body, version, status = curl("--http2", "--cacert", str(cert_files[0]),
                                 "--data-binary", "over tls", f"{tls_server.origin}/curl/tls")
    assert (version, status) == ("2", 200)
    assert_echo(body, method="POST", scheme="https", path="/curl/tls", sent="over tls")


def test_curl_http2_over_tls_by_name(tls_server: Server, cert_files: tuple[Path, Path]) -> None:
    """The certificate names localhost too: SNI with a host name, checked by curl."""
    body, version, status = curl("--http2", "--cacert", str(cert_files[0]),
                                 f"https://localhost:{tls_server.port}/curl/name")
    assert (version, status) == ("2", 200)
    assert_echo(body, method="GET", scheme="https", path="/curl/name")


def test_curl_upgrade_h2c_only_when_enabled(plain_server: Server,
                                            upgrade_server: Server) -> None:
    """curl --http2 on http:// asks for ``Upgrade: h2c`` (RFC 7540 §3.2): by default the
    server answers in HTTP/1.1; with --h2c-upgrade it switches and the request is
    served as stream 1 of an HTTP/2 connection."""
    body, version, status = curl("--http2", f"{plain_server.origin}/curl/up")
    assert (version, status) == ("1.1", 200)
    assert json.loads(body)["http_version"] == "1.1"
    body, version, status = curl("--http2", f"{upgrade_server.origin}/curl/up")
    assert (version, status) == ("2", 200)
    assert_echo(body, method="GET", scheme="http", path="/curl/up")


# -- httpx -----------------------------------------------------------------------------------


def test_httpx_http2_over_tls(tls_server: Server, ca_context: ssl.SSLContext) -> None:
    with httpx.Client(http2=True, verify=ca_context, timeout=CLIENT_TIMEOUT) as client:
        response = client.post(f"{tls_server.origin}/httpx/tls?a=b", content=b"from httpx")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert_echo(response.content, method="POST", scheme="https", path="/httpx/tls",
                query="a=b", sent="from httpx")


def test_httpx_h2c_prior_knowledge(plain_server: Server) -> None:
    """httpx speaks HTTP/2 on http:// only with HTTP/1.1 turned off (prior knowledge)."""
    with httpx.Client(http1=False, http2=True, timeout=CLIENT_TIMEOUT) as client:
        response = client.get(f"{plain_server.origin}/httpx/h2c")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert_echo(response.content, method="GET", scheme="http", path="/httpx/h2c")


@pytest.mark.parametrize("transport", ["tls", "h2c"])
def test_httpx_concurrent_streams_on_one_connection(
        transport: str, plain_server: Server, tls_server: Server,
        ca_context: ssl.SSLContext) -> None:
    """20 requests in flight at once are multiplexed as streams of one connection
    (RFC 9113 §5): each answered with its own body, all from the same client port."""
    server = tls_server if transport == "tls" else plain_server
    options: dict[str, Any] = ({"http2": True, "verify": ca_context} if transport == "tls"
                               else {"http1": False, "http2": True})

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT, **options) as client:
            return await asyncio.gather(*(
                client.post(f"{server.origin}/httpx/many/{i}", content=f"body {i}".encode())
                for i in range(20)))

    responses = asyncio.run(asyncio.wait_for(main(), CLIENT_TIMEOUT))
    ports = set()
    for i, response in enumerate(responses):
        assert response.http_version == "HTTP/2"
        assert response.status_code == 200
        echoed = assert_echo(response.content, method="POST",
                             scheme="https" if transport == "tls" else "http",
                             path=f"/httpx/many/{i}", sent=f"body {i}")
        ports.add(echoed["client_port"])
    assert len(ports) == 1, ports


# -- nghttp ----------------------------------------------------------------------------------


def nghttp(*args: str) -> str:
    done = run([require("nghttp", "nghttp2-client"), *args])
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def assert_settings_exchange(output: str, *, ack: bool = True) -> None:
    """The server's SETTINGS with SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3),
    its ACK of the client's SETTINGS (unless ``ack`` is false), and the client's clean
    GOAWAY NO_ERROR at the end."""
    assert "recv SETTINGS frame" in output, output
    assert "[SETTINGS_ENABLE_CONNECT_PROTOCOL(0x08):1]" in output, output
    assert "[SETTINGS_ENABLE_PUSH(0x02):0]" in output, output  # a server never sends 1
    if ack:  # RFC 9113 §6.5.3
        assert "recv SETTINGS frame <length=0, flags=0x01, stream_id=0>" in output, output
    assert "send GOAWAY frame" in output, output
    assert "error_code=NO_ERROR(0x00)" in output, output
    assert "recv GOAWAY" not in output and "recv RST_STREAM" not in output, output


def test_nghttp_h2c_prior_knowledge(plain_server: Server) -> None:
    """nghttp speaks HTTP/2 with prior knowledge on http:// by default; two URIs are two
    streams on one connection."""
    output = nghttp("-nv", f"{plain_server.origin}/", f"{plain_server.origin}/second")
    assert_settings_exchange(output)
    assert output.count(":status: 200") == 2, output
    assert ":path: /second" in output, output


def test_nghttp_over_tls(tls_server: Server, tmp_path: Path) -> None:
    """ALPN picks h2; the uploaded body is echoed (nghttp prints the response body)."""
    upload = tmp_path / "upload.txt"
    upload.write_text("uploaded by nghttp")
    output = nghttp("-v", "-d", str(upload), f"{tls_server.origin}/nghttp?tls")
    assert "The negotiated protocol: h2" in output, output
    assert_settings_exchange(output)
    assert ":status: 200" in output, output
    start = output.index('{"http_version"')
    echoed = json.loads(output[start:output.index("}", start) + 1])
    assert echoed["method"] == "POST" and echoed["body"] == "uploaded by nghttp", echoed
    assert echoed["http_version"] == "2" and echoed["tls"] is True, echoed


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_nghttp_flow_control_both_ways(transport: str, plain_server: Server,
                                       tls_server: Server, tmp_path: Path) -> None:
    """A 1 MB upload echoed back: far past the 65,535-byte initial windows of both sides
    (nghttp's default and --h2-initial-window), so it completes only if the server sends
    WINDOW_UPDATE for what the app read and honours the client's windows in turn
    (RFC 9113 §6.9)."""
    server = tls_server if transport == "tls" else plain_server
    payload = "0123456789" * 100_000
    upload = tmp_path / "big.txt"
    upload.write_text(payload)
    output = nghttp("-d", str(upload), f"{server.origin}/nghttp/big")
    assert_echo(output[output.index("{"):], method="POST",
                scheme="https" if transport == "tls" else "http", path="/nghttp/big",
                sent=payload)


def test_nghttp_upgrade_h2c(upgrade_server: Server) -> None:
    """nghttp -u: HTTP/1.1 ``Upgrade: h2c`` with HTTP2-Settings, accepted with 101 by a
    server started with --h2c-upgrade, the response on stream 1."""
    output = nghttp("-nvu", f"{upgrade_server.origin}/nghttp/up")
    assert "HTTP Upgrade success" in output, output
    assert "recv (stream_id=1) :status: 200" in output, output
    # After an upgrade nghttp sends its SETTINGS only once the 101 is in, here together
    # with the whole response, and says GOAWAY at once: no time for the server's ACK.
    assert_settings_exchange(output, ack=False)


# -- Node.js ---------------------------------------------------------------------------------

NODE_CLIENT = r"""
const http2 = require('http2');
const fs = require('fs');
const [url, caFile, method, path, bodyFile] = process.argv.slice(2);
const body = bodyFile ? fs.readFileSync(bodyFile) : undefined;
const fail = (error) => { console.log(JSON.stringify({error: String(error)})); process.exit(1); };
const timer = setTimeout(() => fail('timeout'), 20000);
const session = http2.connect(url, caFile ? {ca: fs.readFileSync(caFile)} : {});
const result = {};
session.on('error', fail);
session.on('remoteSettings', (settings) => { result.remoteSettings = settings; });
session.on('connect', () => { result.alpn = session.alpnProtocol; });
const request = session.request({':method': method, ':path': path});
request.setEncoding('utf8');
request.on('error', fail);
request.on('response', (headers) => { result.status = headers[':status']; });
let data = '';
request.on('data', (chunk) => { data += chunk; });
request.on('end', () => {
  result.body = data;
  session.close(() => { clearTimeout(timer); console.log(JSON.stringify(result)); });
});
request.end(body);
"""


def node(tmp_path: Path, url: str, ca: str, method: str, path: str,
         body: str | None = None) -> dict[str, Any]:
    """Run NODE_CLIENT: one request on a fresh session; ``ca`` "" for h2c."""
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    args = [url, ca, method, path]
    if body is not None:
        (tmp_path / "body.txt").write_text(body)
        args.append(str(tmp_path / "body.txt"))
    done = run([require("node", "nodejs"), str(script), *args])
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_node_http2_h2c_prior_knowledge(plain_server: Server, tmp_path: Path) -> None:
    result = node(tmp_path, plain_server.origin, "", "POST", "/node/h2c?n=1", "from node")
    assert result["alpn"] == "h2c", result
    assert result["remoteSettings"]["enableConnectProtocol"] is True, result
    assert result["status"] == 200, result
    assert_echo(result["body"], method="POST", scheme="http", path="/node/h2c", query="n=1",
                sent="from node")


def test_node_http2_over_tls(tls_server: Server, tmp_path: Path,
                             cert_files: tuple[Path, Path]) -> None:
    result = node(tmp_path, tls_server.origin, str(cert_files[0]), "GET", "/node/tls")
    assert result["alpn"] == "h2", result
    assert result["remoteSettings"]["enableConnectProtocol"] is True, result
    assert result["status"] == 200, result
    assert_echo(result["body"], method="GET", scheme="https", path="/node/tls")


def test_node_http2_large_body_over_tls(tls_server: Server, tmp_path: Path,
                                       cert_files: tuple[Path, Path]) -> None:
    """Half a megabyte each way with Node's default 65,535-byte stream window."""
    payload = "node-body" * 60_000
    result = node(tmp_path, tls_server.origin, str(cert_files[0]), "PUT", "/node/big",
                  payload)
    assert result["status"] == 200, {k: v for k, v in result.items() if k != "body"}
    assert_echo(result["body"], method="PUT", scheme="https", path="/node/big",
                sent=payload)


# -- headless Chromium -----------------------------------------------------------------------


def _der_element(data: bytes, at: int) -> tuple[int, int]:
    """(start of content, end of element) of the DER element at ``at``."""
    length = data[at + 1]
    start = at + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    return start, start + length


def spki_sha256(pem: str) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate, as Chromium's
    --ignore-certificate-errors-spki-list wants it (RFC 5280 §4.1: the SPKI is the 7th
    field of tbsCertificate, counting the optional [0] version)."""
    der = ssl.PEM_cert_to_DER_cert(pem)
    tbs_start, _ = _der_element(der, _der_element(der, 0)[0])
    at = tbs_start
    fields = 7 if der[at] == 0xA0 else 6
    for _ in range(fields - 1):
        at = _der_element(der, at)[1]
    return base64.b64encode(hashlib.sha256(der[at:_der_element(der, at)[1]]).digest()).decode()


def test_spki_hash_of_the_test_certificate() -> None:
    """The hash Chromium is given, checked against one computed by openssl once:
    openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256
    -binary | base64."""
    assert spki_sha256(TEST_CERT) == "syENSP92QqZmbBqou5o/MOg5aks9W1t8/ndbdbEFBDg="


def test_chromium_page_and_websocket_over_h2(tls_server: Server, tmp_path: Path,
                                            ca_context: ssl.SSLContext) -> None:
    """Chromium loads /page over https (ALPN h2, nextHopProtocol "h2"); the page opens a
    WebSocket to wss://same-origin/ws, which Chromium carries over the same h2 connection
    as an RFC 8441 extended CONNECT because the server advertised
    SETTINGS_ENABLE_CONNECT_PROTOCOL: the app's websocket scope says http_version "2",
    permessage-deflate is negotiated, the echo comes back, and the page POSTs its results
    to /report, which the test reads back from the app."""
    chromium = require("chromium", "chromium")
    key = "chromium"
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--ignore-certificate-errors-spki-list={spki_sha256(TEST_CERT)}",
            f"{tls_server.origin}/page?{key}"]
    stderr_path = tmp_path / "chromium.err"
    with open(stderr_path, "w") as stderr:
        # Its own session: Chromium's helper processes are stopped with it, by its group.
        browser = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        report = None
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while report is None and time.monotonic() < deadline:
            if browser.poll() is not None:
                pytest.fail(f"chromium exited early: {stderr_path.read_text()[-3000:]}")
            report = seen(tls_server, f"report:{key}", ca_context)
            if report is None:
                time.sleep(0.2)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(browser.pid, sig)
                browser.wait(timeout=10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
    assert report is not None, ("the page did not report within "
                                f"{BROWSER_TIMEOUT} s: {stderr_path.read_text()[-3000:]}")
    result = report["result"]
    assert result.get("navigation") == "h2", result
    assert result.get("echo") == "echo:hello over h2", result
    assert result.get("close_code") == 1000, result
    assert result.get("extensions") == "permessage-deflate", result
    assert "error" not in result and "timeout" not in result, result
    assert report["http_version"] == "2", report

    # The app may get websocket.disconnect a moment after the page saw its close.
    deadline = time.monotonic() + 10
    ws = seen(tls_server, f"ws:{key}", ca_context)
    while ws is not None and "disconnect_code" not in ws and time.monotonic() < deadline:
        time.sleep(0.05)
        ws = seen(tls_server, f"ws:{key}", ca_context)
    assert ws is not None, "the app saw no WebSocket"
    # RFC 8441 extended CONNECT, not an HTTP/1.1 Upgrade on a second connection.
    assert ws["http_version"] == "2", ws
    assert ws["scheme"] == "wss" and ws["tls"] is True and ws["path"] == "/ws", ws
    assert ws["received"] == ["hello over h2"], ws
    assert ws["disconnect_code"] == 1000, ws
    assert any("permessage-deflate" in offer for offer in ws["offered_extensions"]), ws
    # One connection carried the page, the WebSocket stream and the report.
    assert ws["client_port"] == report["client_port"], (ws, report)


def test_plain_connect_is_an_http_request(plain_server: Server) -> None:
    """A plain CONNECT over h2 (RFC 9113 §8.5: no :scheme, no :path) is an ordinary
    request to the app, method CONNECT with an empty path; only an extended CONNECT (with
    :protocol, RFC 8441) is a WebSocket. Mutation testing found the two told apart by an
    ``and`` that could be an ``or`` unnoticed."""
    conn = h2_connect("127.0.0.1", plain_server.port, timeout=5)
    try:
        sid = conn.new_stream()
        conn.send_headers(sid, [(b":method", b"CONNECT"), (b":authority", b"example.com:443")],
                          end_stream=True)
        response = conn.read_stream(sid)
    finally:
        conn.abort()
    assert response.status == 200, response
    echoed = json.loads(response.body)
    assert (echoed["method"], echoed["path"], echoed["http_version"]) == ("CONNECT", "", "2")


def test_server_push_promises_and_serves_the_path(plain_server: Server) -> None:
    """http.response.push (ASGI extensions.rst, HTTP/2 Server Push) to a client that
    allows pushes: a PUSH_PROMISE for a GET of the path, then its response from a new
    application call. The suite judges push as SHOULD (a failure is only non-strict);
    for the reference server, which offers the extension, it is a feature. Mutation
    testing found its argument check able to raise TypeError on every push unnoticed."""
    conn = h2_connect("127.0.0.1", plain_server.port, timeout=5,
                      settings={Setting.ENABLE_PUSH: 1})
    try:
        sid = conn.request("GET", "/push")
        conn.read_stream(sid)
        promises = [x for x in conn.received if isinstance(x, PushPromiseFrame)]
        assert len(promises) == 1, conn.frame_log
        promised = promises[0].promised_stream_id
        assert dict(conn.decoded[promised][0])[b":path"] == b"/pushed"
        pushed = conn.read_stream(promised)
    finally:
        conn.abort()
    assert pushed.status == 200, pushed
    echoed = json.loads(pushed.body)
    assert (echoed["method"], echoed["path"]) == ("GET", "/pushed")


def test_early_hint_is_a_103_before_the_response(plain_server: Server) -> None:
    """http.response.early_hint (ASGI extensions.rst) over h2: an interim 103 header
    block carrying the links, then the response (RFC 8297, RFC 9113 §8.1). The suite
    judges the 103 as a SHOULD (EXT-021: a failure is only non-strict); the reference
    server offers the extension. Mutation testing found every early hint refusable."""
    conn = h2_connect("127.0.0.1", plain_server.port, timeout=5)
    try:
        sid = conn.request("GET", "/hint")
        conn.read_stream(sid)
    finally:
        conn.abort()
    blocks = [dict(block) for block in conn.decoded[sid]]
    assert [b[b":status"] for b in blocks] == [b"103", b"200"], blocks
    assert blocks[0][b"link"] == b"</style.css>; rel=preload; as=style"


def test_access_log_line_of_an_h2_request(tmp_path: Path) -> None:
    """With --access-log an h2 request is logged as ``client-ip:client-port - "METHOD
    target HTTP/2" status``, the HTTP/1.1 line's shape. Mutation testing found the
    client port in that line replaceable by the address unnoticed."""
    server = Server(tmp_path, "--access-log")
    try:
        conn = h2_connect("127.0.0.1", server.port, timeout=5)
        try:
            sid = conn.request("GET", "/logged?x=1")
            assert conn.read_stream(sid).status == 200
        finally:
            conn.abort()
    finally:
        assert server.stop() == 0
    line = f'127.0.0.1:{conn.local_port} - "GET /logged?x=1 HTTP/2" 200'
    assert line in server.stderr(), server.stderr()
