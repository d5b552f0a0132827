"""Seed requests and grammar-aware mutations of them (HTTP/1.1, RFC 9112).

A case is a realistic seed request (GET, POST with Content-Length, chunked POST, chunked
with trailers, a pipelined pair) with one mutation, sometimes two, applied to its
*structure* (request line, header lines, line endings, chunk lines, trailers, delivery),
so that each mutation hits one grammar rule and its name says which one. Mutations are
named ``family/variant``; the family is what :mod:`.rfc` maps to the RFC sentence that
decides it and what a cluster is labelled with.

The probe id header must survive every mutation, since it is how the app's records are
found: it is written as ``x-probe-id: <placeholder>`` and no mutation edits that line
(a line-ending mutation may end it differently; its name and value stay intact). The
placeholder is replaced per server and per run by an id of the same length
(:func:`probe_id`), so every server gets the same bytes apart from the id and a body
that embeds a smuggled request keeps its Content-Length right.

Generation is deterministic for a seed: one :class:`random.Random` drives it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

PLACEHOLDER = b"@@probe-id@@"
"""Stands for the probe id in a case's bytes; replaced by :func:`probe_id` per run."""
PROBE_LINE = b"x-probe-id: " + PLACEHOLDER
HOST = b"example.com"
CRLF = b"\r\n"


def probe_id(attempt: int, server: int) -> bytes:
    """A probe id as long as :data:`PLACEHOLDER`, unique per (attempt, server)."""
    text = f"d{attempt % 16**9:09x}{server % 256:02x}".encode()
    assert len(text) == len(PLACEHOLDER)
    return text


def with_probe_id(data: bytes, attempt: int, server: int) -> bytes:
    return data.replace(PLACEHOLDER, probe_id(attempt, server))


@dataclass
class Request:
    """One request as structure: lines without their endings, plus a body.

    ``eols`` overrides the ending of single lines: key ``-1`` is the request line, ``i``
    header line ``i``, ``len(headers)`` the empty line that ends the head. A chunked body
    is ``chunks`` (size line, data) then the last chunk and ``trailers``; ``chunk_eols``
    overrides a chunk line's ending the same way (``2*i`` size line, ``2*i+1`` data end).
    """

    line: bytes
    headers: list[bytes]
    body: bytes = b""
    chunks: list[tuple[bytes, bytes]] | None = None
    last_chunk: bytes = b"0"
    trailers: list[bytes] = field(default_factory=list)
    eols: dict[int, bytes] = field(default_factory=dict)
    chunk_eols: dict[int, bytes] = field(default_factory=dict)
    prefix: bytes = b""
    """Bytes before the request line (empty lines a server should skip, RFC 9112 §2.2)."""

    @property
    def method(self) -> bytes:
        return self.line.split(b" ", 1)[0]

    def header_index(self, name: bytes) -> list[int]:
        wanted = name.lower()
        return [i for i, line in enumerate(self.headers)
                if line.split(b":", 1)[0].strip().lower() == wanted]

    def editable(self) -> list[int]:
        """Header lines a mutation may change: all but the probe id's."""
        return [i for i, line in enumerate(self.headers) if line != PROBE_LINE]

    def serialize(self) -> bytes:
        out = [self.prefix, self.line, self.eols.get(-1, CRLF)]
        for i, line in enumerate(self.headers):
            out += [line, self.eols.get(i, CRLF)]
        out.append(self.eols.get(len(self.headers), CRLF))
        if self.chunks is None:
            out.append(self.body)
            return b"".join(out)
        for i, (size, data) in enumerate(self.chunks):
            out += [size, self.chunk_eols.get(2 * i, CRLF), data,
                    self.chunk_eols.get(2 * i + 1, CRLF)]
        out += [self.last_chunk, CRLF]
        out += [line + CRLF for line in self.trailers]
        out.append(CRLF)
        return b"".join(out)


@dataclass
class Case:
    """One generated input: the bytes (with the probe id placeholder), how they are
    delivered, and what made them."""

    index: int
    seed: str
    mutations: tuple[str, ...]
    data: bytes
    splits: tuple[int, ...] = ()
    """Offsets where delivery pauses (the bytes go in separate segments)."""
    requests: int = 1
    """How many requests the bytes hold if read the plain way (a smuggled one counts):
    how many responses the runner may wait for (for WebSocket: messages, echoes)."""
    protocol: str = "http"
    """``http``: the bytes are the whole connection; ``ws``: the frames sent after an
    opening handshake the runner adds (:mod:`.ws`)."""

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted({name.split("/", 1)[0] for name in self.mutations}))

    def pieces(self, data: bytes) -> list[bytes]:
        bounds = [0, *[s for s in self.splits if 0 < s < len(data)], len(data)]
        return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


# --- seeds -------------------------------------------------------------------------------


def _head(*extra: bytes) -> list[bytes]:
    return [b"Host: " + HOST, PROBE_LINE, b"User-Agent: differential/1", *extra]


def _chunked(parts: list[bytes]) -> list[tuple[bytes, bytes]]:
    return [(f"{len(p):x}".encode(), p) for p in parts]


def seed_get() -> list[Request]:
    return [Request(b"GET /echo?q=1 HTTP/1.1", _head(b"Accept: */*"))]


def seed_post() -> list[Request]:
    body = b"hello=world"
    return [Request(b"POST /form HTTP/1.1",
                    _head(b"Content-Type: application/x-www-form-urlencoded",
                          b"Content-Length: " + str(len(body)).encode()), body=body)]


def seed_chunked() -> list[Request]:
    return [Request(b"POST /upload HTTP/1.1",
                    _head(b"Transfer-Encoding: chunked"),
                    chunks=_chunked([b"hello ", b"chunked world"]))]


def seed_trailers() -> list[Request]:
    return [Request(b"POST /upload HTTP/1.1",
                    _head(b"Transfer-Encoding: chunked", b"Trailer: X-Sum"),
                    chunks=_chunked([b"data with trailer"]), trailers=[b"X-Sum: 42"])]


def seed_pipelined() -> list[Request]:
    return seed_get() + seed_post()


SEEDS: dict[str, Callable[[], list[Request]]] = {
    "get": seed_get, "post": seed_post, "chunked": seed_chunked,
    "trailers": seed_trailers, "pipelined": seed_pipelined,
}

# --- mutations ---------------------------------------------------------------------------
# Each takes the case's requests and a Random, edits them in place and returns False when
# it does not apply to this seed (the generator then picks another).

Mutation = Callable[[list[Request], random.Random], bool]
MUTATIONS: dict[str, Mutation] = {}


def mutation(name: str) -> Callable[[Mutation], Mutation]:
    def register(func: Mutation) -> Mutation:
        MUTATIONS[name] = func
        return func
    return register


def _set_header(req: Request, name: bytes, line: bytes | None) -> None:
    """Replace every ``name`` header with ``line`` (or drop them when None)."""
    found = req.header_index(name)
    if line is not None:
        if found:
            req.headers[found[0]] = line
        else:
            req.headers.append(line)
    for i in reversed(found[1:] if line is not None else found):
        del req.headers[i]


def _body_request(reqs: list[Request]) -> Request | None:
    return next((r for r in reqs if r.chunks is not None or r.body), None)


def _cl_request(reqs: list[Request]) -> Request | None:
    return next((r for r in reqs if r.chunks is None and r.body), None)


def _chunked_request(reqs: list[Request]) -> Request | None:
    return next((r for r in reqs if r.chunks is not None), None)


def _line_mutation(name: str, edit: Callable[[bytes], bytes]) -> None:
    """A mutation of the request line of one request (of a pipelined pair, either: a
    bad request after a good one must be refused as well)."""
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = rng.choice(reqs)
        req.line = edit(req.line)
        return True
    MUTATIONS[name] = apply


def _replace_part(index: int, value: bytes) -> Callable[[bytes], bytes]:
    def edit(line: bytes) -> bytes:
        parts = line.split(b" ")
        parts[index] = value
        return b" ".join(parts)
    return edit


def _header_mutation(name: str, *lines: bytes) -> None:
    """A mutation that adds header lines to one request (after its Host)."""
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        rng.choice(reqs).headers[1:1] = list(lines)
        return True
    MUTATIONS[name] = apply


# Line endings (RFC 9112 §2.2).
def _one_eol(name: str, eol: bytes) -> None:
    """A mutation of the ending of one line of the first request's head."""
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = reqs[0]
        req.eols[rng.randrange(-1, len(req.headers))] = eol
        return True
    MUTATIONS[name] = apply


_one_eol("eol/bare-lf-one", b"\n")
_one_eol("eol/bare-cr", b"\r")


@mutation("eol/bare-lf-all")
def _bare_lf_all(reqs: list[Request], rng: random.Random) -> bool:
    for req in reqs:
        req.eols.update({i: b"\n" for i in range(-1, len(req.headers) + 1)})
    return True


@mutation("eol/cr-in-value")
def _cr_in_value(reqs: list[Request], rng: random.Random) -> bool:
    reqs[0].headers.insert(1, b"X-Note: a\rb")
    return True


@mutation("eol/lf-cr")
def _lf_cr(reqs: list[Request], rng: random.Random) -> bool:
    reqs[0].eols[len(reqs[0].headers)] = b"\n\r"
    return True


def _leading(name: str, prefix: bytes) -> None:
    """Empty lines before the request line (RFC 9112 §2.2: a server SHOULD ignore at
    least one)."""
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        reqs[0].prefix = prefix
        return True
    MUTATIONS[name] = apply


_leading("eol/leading-crlf", b"\r\n")
_leading("eol/leading-two-crlf", b"\r\n\r\n")
_leading("eol/leading-lf", b"\n")


# Whitespace in field lines (RFC 9112 §5.1, RFC 9110 §5.5) and the request line (§3).
def _edit_header(name: str, edit: Callable[[bytes, bytes, random.Random], bytes]) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = rng.choice(reqs)
        i = rng.choice(req.editable())
        key, _, value = req.headers[i].partition(b":")
        req.headers[i] = edit(key, value.strip(), rng)
        return True
    MUTATIONS[name] = apply


_edit_header("ws/space-before-colon", lambda k, v, r: k + b" : " + v)
_edit_header("ws/tab-before-colon", lambda k, v, r: k + b"\t: " + v)
_edit_header("ws/no-space-after-colon", lambda k, v, r: k + b":" + v)
_edit_header("ws/trailing-space-value", lambda k, v, r: k + b": " + v + b" \t ")
_edit_header("ws/space-in-name", lambda k, v, r: k[:1] + b" " + k[1:] + b": " + v)
_edit_header("case/name-upper", lambda k, v, r: k.upper() + b": " + v)
_edit_header("case/name-random", lambda k, v, r: bytes(
    c ^ 0x20 if 0x41 <= (c | 0x20) - 0x20 <= 0x5A and r.random() < 0.5 else c for c in k)
    + b": " + v)


@mutation("ws/leading-space-first-header")
def _leading_space_first(reqs: list[Request], rng: random.Random) -> bool:
    reqs[0].headers.insert(0, b" X-Folded: value")
    return True


_line_mutation("ws/double-space-request-line", lambda line: line.replace(b" ", b"  ", 1))
_line_mutation("ws/tab-request-line", lambda line: line.replace(b" ", b"\t", 1))
_line_mutation("ws/trailing-space-request-line", lambda line: line + b" ")
_line_mutation("ws/leading-space-request-line", lambda line: b" " + line)

# obs-fold (RFC 9112 §5.2).
_header_mutation("fold/obs-fold", b"X-Folded: first", b" second")
_header_mutation("fold/obs-fold-tab", b"X-Folded: first", b"\tsecond")


@mutation("fold/obs-fold-te")
def _fold_te(reqs: list[Request], rng: random.Random) -> bool:
    req = _chunked_request(reqs)
    if req is None:
        return False
    i = req.header_index(b"transfer-encoding")[0]
    req.headers[i:i + 1] = [b"Transfer-Encoding:", b" chunked"]
    return True


# Framing: Content-Length and Transfer-Encoding (RFC 9112 §6).
@mutation("framing/cl-cl-same")
def _cl_cl_same(reqs: list[Request], rng: random.Random) -> bool:
    req = _cl_request(reqs)
    if req is None:
        return False
    req.headers.append(b"Content-Length: " + str(len(req.body)).encode())
    return True


@mutation("framing/cl-cl-differ")
def _cl_cl_differ(reqs: list[Request], rng: random.Random) -> bool:
    req = _cl_request(reqs)
    if req is None:
        return False
    req.headers.append(b"Content-Length: " + str(len(req.body) - 5).encode())
    return True


def _smuggle(method: bytes = b"GET", path: bytes = b"/smuggled") -> bytes:
    return (method + b" " + path + b" HTTP/1.1\r\nHost: " + HOST + b"\r\n" + PROBE_LINE
            + b"\r\n\r\n")


@mutation("framing/cl-te")
def _cl_te(reqs: list[Request], rng: random.Random) -> bool:
    """Content-Length and chunked together, the body built so that a server reading by
    Content-Length sees one request and one reading by chunked sees a second."""
    req = _cl_request(reqs)
    if req is None:
        return False
    req.body = b"0\r\n\r\n" + _smuggle()
    _set_header(req, b"content-length", b"Content-Length: " + str(len(req.body)).encode())
    req.headers.insert(rng.randrange(len(req.headers) + 1), b"Transfer-Encoding: chunked")
    return True


@mutation("framing/te-cl")
def _te_cl(reqs: list[Request], rng: random.Random) -> bool:
    """Chunked with a short Content-Length: a server reading by Content-Length leaves
    the rest of the chunks on the connection as the next request."""
    req = _chunked_request(reqs)
    if req is None:
        return False
    req.chunks = [(b"5", b"hello")]
    req.last_chunk = b"0"
    req.headers.append(b"Content-Length: 3")
    return True


def _te_value(name: str, *values: bytes) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = _chunked_request(reqs)
        if req is None:
            return False
        _set_header(req, b"transfer-encoding", None)
        req.headers += list(values)
        return True
    MUTATIONS[name] = apply


_te_value("te/te-te", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked")
_te_value("te/identity-then-chunked", b"Transfer-Encoding: identity",
          b"Transfer-Encoding: chunked")
_te_value("te/chunked-then-identity", b"Transfer-Encoding: chunked, identity")
_te_value("te/gzip-chunked", b"Transfer-Encoding: gzip, chunked")
_te_value("te/chunked-gzip", b"Transfer-Encoding: chunked, gzip")
_te_value("te/leading-space", b"Transfer-Encoding:  chunked")
_te_value("te/tab-ows", b"Transfer-Encoding:\tchunked\t")
_te_value("te/capitalised", b"Transfer-Encoding: Chunked")
_te_value("te/xchunked", b"Transfer-Encoding: xchunked")
_te_value("te/chunked-vtab", b"Transfer-Encoding: chunked\x0b")
_te_value("te/quoted", b'Transfer-Encoding: "chunked"')
_te_value("te/comma-empty", b"Transfer-Encoding: , chunked")
_te_value("te/name-underscore", b"Transfer_Encoding: chunked")
_te_value("te/name-space-colon", b"Transfer-Encoding : chunked")


@mutation("te/identity-only")
def _te_identity(reqs: list[Request], rng: random.Random) -> bool:
    req = _cl_request(reqs)
    if req is None:
        return False
    req.headers.append(b"Transfer-Encoding: identity")
    return True


@mutation("te/http10-chunked")
def _te_http10(reqs: list[Request], rng: random.Random) -> bool:
    req = _chunked_request(reqs)
    if req is None:
        return False
    req.line = req.line.replace(b"HTTP/1.1", b"HTTP/1.0")
    return True


def _cl_value(name: str, form: Callable[[int], bytes]) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = _cl_request(reqs)
        if req is None:
            return False
        _set_header(req, b"content-length", b"Content-Length: " + form(len(req.body)))
        return True
    MUTATIONS[name] = apply


_cl_value("cl/plus", lambda n: b"+" + str(n).encode())
_cl_value("cl/leading-zero", lambda n: b"0" + str(n).encode())
_cl_value("cl/list-same", lambda n: f"{n},{n}".encode())
_cl_value("cl/list-same-space", lambda n: f"{n}, {n}".encode())
_cl_value("cl/list-differ", lambda n: f"{n},{n + 1}".encode())
_cl_value("cl/hex", lambda n: f"0x{n:x}".encode())
_cl_value("cl/huge", lambda n: b"99999999999999999999999")
_cl_value("cl/negative", lambda n: b"-" + str(n).encode())
_cl_value("cl/empty", lambda n: b"")
_cl_value("cl/inner-space", lambda n: str(n)[:1].encode() + b" " + str(n)[1:].encode())
_cl_value("cl/underscore", lambda n: str(n)[:1].encode() + b"_" + str(n)[1:].encode())
_cl_value("cl/fullwidth-digit", lambda n: "１".encode() + str(n)[1:].encode())
_cl_value("cl/short", lambda n: str(n - 3).encode())
_cl_value("cl/long", lambda n: str(n + 3).encode())


@mutation("cl/on-get")
def _cl_on_get(reqs: list[Request], rng: random.Random) -> bool:
    req = reqs[0]
    if req.method != b"GET":
        return False
    req.body = b"body-on-get"
    req.headers.append(b"Content-Length: 11")
    return True


# Chunk lines (RFC 9112 §7.1).
def _chunk_size(name: str, form: Callable[[bytes], bytes], eol: bytes | None = None) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = _chunked_request(reqs)
        if req is None or not req.chunks:
            return False
        i = rng.randrange(len(req.chunks))
        size, data = req.chunks[i]
        req.chunks[i] = (form(size), data)
        if eol is not None:
            req.chunk_eols[2 * i] = eol
        return True
    MUTATIONS[name] = apply


_chunk_size("chunk/leading-zeros", lambda s: b"000" + s)
_chunk_size("chunk/0x-prefix", lambda s: b"0x" + s)
_chunk_size("chunk/uppercase", lambda s: s.upper() if s.upper() != s else b"0" + s.upper())
_chunk_size("chunk/plus", lambda s: b"+" + s)
_chunk_size("chunk/negative", lambda s: b"-" + s)
_chunk_size("chunk/trailing-garbage", lambda s: s + b"g")
_chunk_size("chunk/space-before-ext", lambda s: s + b" ;ext=1")
_chunk_size("chunk/trailing-space", lambda s: s + b" ")
_chunk_size("chunk/huge", lambda s: b"f" * 20)
_chunk_size("chunk/overflow-wraps", lambda s: b"1" + b"0" * 15 + s)
_chunk_size("chunk/ext", lambda s: s + b";name=value")
_chunk_size("chunk/ext-quoted", lambda s: s + b';name="quoted ; value"')
_chunk_size("chunk/ext-bare-semicolon", lambda s: s + b";")
_chunk_size("chunk/ext-ctl", lambda s: s + b";name=\x01")
_chunk_size("chunk/ext-lf-in-quote", lambda s: s + b';a="x\nb"')
_chunk_size("chunk/bare-lf-size", lambda s: s, eol=b"\n")
_chunk_size("chunk/bare-cr-size", lambda s: s, eol=b"\r")


def _data_end(name: str, eol: bytes) -> None:
    """A mutation of the line ending after one chunk's data."""
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = _chunked_request(reqs)
        if req is None or not req.chunks:
            return False
        req.chunk_eols[2 * rng.randrange(len(req.chunks)) + 1] = eol
        return True
    MUTATIONS[name] = apply


_data_end("chunk/bare-lf-data", b"\n")
_data_end("chunk/missing-data-crlf", b"")


def _last_chunk(name: str, line: bytes) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = _chunked_request(reqs)
        if req is None:
            return False
        req.last_chunk = line
        return True
    MUTATIONS[name] = apply


_last_chunk("chunk/last-chunk-ext", b"0;final=yes")
_last_chunk("chunk/last-chunk-zeros", b"0000")


@mutation("chunk/data-longer")
def _chunk_longer(reqs: list[Request], rng: random.Random) -> bool:
    req = _chunked_request(reqs)
    if req is None or not req.chunks:
        return False
    size, data = req.chunks[0]
    req.chunks[0] = (size, data + b"XY")
    return True


# Trailers (RFC 9112 §7.1.2, RFC 9110 §6.5.1).
def _trailer(name: str, *lines: bytes) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = _chunked_request(reqs)
        if req is None:
            return False
        req.trailers += list(lines)
        return True
    MUTATIONS[name] = apply


_trailer("trailer/content-length", b"Content-Length: 5")
_trailer("trailer/transfer-encoding", b"Transfer-Encoding: chunked")
_trailer("trailer/obs-fold", b"X-Trailer: a", b" b")
_trailer("trailer/no-colon", b"X-Trailer-No-Colon")
_trailer("trailer/space-before-colon", b"X-Trailer : a")
_trailer("trailer/host", b"Host: evil.example")

# Control bytes and non-ASCII in names, values and the target (RFC 9110 §5.1, §5.5).
_header_mutation("ctl/nul-in-value", b"X-Ctl: a\x00b")
_header_mutation("ctl/del-in-value", b"X-Ctl: a\x7fb")
_header_mutation("ctl/vtab-in-value", b"X-Ctl: a\x0bb")
_header_mutation("ctl/formfeed-in-value", b"X-Ctl: a\x0cb")
_header_mutation("ctl/nul-in-name", b"X-C\x00tl: a")
_header_mutation("ctl/high-byte-in-value", b"X-Latin: caf\xe9")
_header_mutation("ctl/utf8-in-value", "X-Utf8: café".encode())
_header_mutation("ctl/utf8-in-name", "X-Café: a".encode())
_header_mutation("ctl/empty-name", b": no-name")
_header_mutation("ctl/colon-in-name", b"X:Y: z")
_header_mutation("ctl/separator-in-name", b"X(Y): z")
_header_mutation("ctl/no-colon", b"X-No-Colon")

# Request targets (RFC 9112 §3.2).
_line_mutation("target/absolute-form", _replace_part(1, b"http://example.com/echo?q=1"))
_line_mutation("target/absolute-form-other-host", _replace_part(1, b"http://other.example/p"))
_line_mutation("target/absolute-form-https", _replace_part(1, b"https://example.com/p"))
_line_mutation("target/authority-form", _replace_part(1, b"example.com:80"))
_line_mutation("target/asterisk", _replace_part(1, b"*"))
_line_mutation("target/double-slash", _replace_part(1, b"//double//slash"))
_line_mutation("target/fragment", _replace_part(1, b"/path#fragment"))
_line_mutation("target/percent-nul", _replace_part(1, b"/a%00b"))
_line_mutation("target/bad-percent", _replace_part(1, b"/a%zzb"))
_line_mutation("target/encoded-slash", _replace_part(1, b"/a%2fb/..%2f"))
_line_mutation("target/dot-segments", _replace_part(1, b"/a/../../b"))
_line_mutation("target/space", _replace_part(1, b"/a b"))
_line_mutation("target/raw-utf8", _replace_part(1, "/café".encode()))
_line_mutation("target/raw-high-byte", _replace_part(1, b"/caf\xe9"))
_line_mutation("target/ctl", _replace_part(1, b"/a\x01b"))
_line_mutation("target/no-slash", _replace_part(1, b"echo"))
_line_mutation("target/empty-query", _replace_part(1, b"/?"))
_line_mutation("target/query-only", _replace_part(1, b"?a=b"))

# Host (RFC 9112 §3.2, RFC 9110 §7.2).


def _host(name: str, *lines: bytes) -> None:
    def apply(reqs: list[Request], rng: random.Random) -> bool:
        req = reqs[0]
        _set_header(req, b"host", None)
        req.headers[0:0] = list(lines)
        return True
    MUTATIONS[name] = apply


_host("host/missing")
_host("host/duplicate-same", b"Host: example.com", b"Host: example.com")
_host("host/duplicate-differ", b"Host: example.com", b"Host: other.example")
_host("host/empty", b"Host: ")
_host("host/userinfo", b"Host: user@example.com")
_host("host/bad-char", b"Host: exa mple.com")
_host("host/bad-port", b"Host: example.com:http")
_host("host/list", b"Host: example.com, other.example")


@mutation("host/absolute-form-mismatch")
def _host_mismatch(reqs: list[Request], rng: random.Random) -> bool:
    reqs[0].line = _replace_part(1, b"http://other.example/echo")(reqs[0].line)
    return True


@mutation("host/http10-missing")
def _host_http10(reqs: list[Request], rng: random.Random) -> bool:
    req = reqs[0]
    req.line = req.line.replace(b"HTTP/1.1", b"HTTP/1.0")
    _set_header(req, b"host", None)
    return True


# Versions (RFC 9112 §2.3, RFC 9110 §6.2).
_line_mutation("version/http10", _replace_part(2, b"HTTP/1.0"))
_line_mutation("version/http12", _replace_part(2, b"HTTP/1.2"))
_line_mutation("version/http20", _replace_part(2, b"HTTP/2.0"))
_line_mutation("version/http30", _replace_part(2, b"HTTP/3.0"))
_line_mutation("version/lowercase", _replace_part(2, b"http/1.1"))
_line_mutation("version/leading-zero", _replace_part(2, b"HTTP/01.1"))
_line_mutation("version/two-digit-minor", _replace_part(2, b"HTTP/1.10"))
_line_mutation("version/no-minor", _replace_part(2, b"HTTP/1"))
_line_mutation("version/missing", lambda line: line.rsplit(b" ", 1)[0])

# Methods (RFC 9110 §9, RFC 9112 §3.1).
_line_mutation("method/lowercase", lambda line: line.split(b" ", 1)[0].lower() + b" "
               + line.split(b" ", 1)[1])
_line_mutation("method/unknown", _replace_part(0, b"FROB"))
_line_mutation("method/bad-char", _replace_part(0, b"GE(T"))
_line_mutation("method/connect", _replace_part(0, b"CONNECT"))

# Expect (RFC 9110 §10.1.1).
_header_mutation("expect/100-continue", b"Expect: 100-continue")
_header_mutation("expect/unknown", b"Expect: something-else")
_header_mutation("expect/100-continue-upper", b"Expect: 100-Continue")


@mutation("expect/100-continue-http10")
def _expect_http10(reqs: list[Request], rng: random.Random) -> bool:
    req = reqs[-1]
    req.line = req.line.replace(b"HTTP/1.1", b"HTTP/1.0")
    req.headers.append(b"Expect: 100-continue")
    return True

# Upgrade (RFC 9110 §7.8).
_header_mutation("upgrade/unknown", b"Connection: Upgrade", b"Upgrade: frob/1")
_header_mutation("upgrade/h2c-no-settings", b"Connection: Upgrade", b"Upgrade: h2c")
_header_mutation("upgrade/websocket-no-key", b"Connection: Upgrade", b"Upgrade: websocket")


# Connection management and pipelining (RFC 9112 §9).
@mutation("conn/close-then-pipelined")
def _close_then(reqs: list[Request], rng: random.Random) -> bool:
    if len(reqs) < 2:
        return False
    reqs[0].headers.append(b"Connection: close")
    return True


@mutation("conn/http10-keep-alive-pipelined")
def _http10_keepalive(reqs: list[Request], rng: random.Random) -> bool:
    if len(reqs) < 2:
        return False
    reqs[0].line = reqs[0].line.replace(b"HTTP/1.1", b"HTTP/1.0")
    reqs[0].headers.append(b"Connection: keep-alive")
    return True


@mutation("conn/connection-lists-cl")
def _conn_lists_cl(reqs: list[Request], rng: random.Random) -> bool:
    req = _cl_request(reqs)
    if req is None:
        return False
    req.headers.append(b"Connection: Content-Length")
    return True


DELIVERY = ("split/bytewise-head", "split/random", "split/in-crlf")
"""Delivery mutations: they change where the bytes are cut, not the bytes."""


def _delivery(name: str, data: bytes, rng: random.Random) -> tuple[int, ...]:
    head_end = data.find(b"\r\n\r\n")
    head_end = head_end if head_end > 0 else len(data)
    if name == "split/bytewise-head":
        step = max(1, head_end // 12)
        return tuple(range(step, head_end, step))
    if name == "split/in-crlf":
        return tuple(i + 1 for i in range(len(data) - 1) if data[i:i + 2] == CRLF)[:8]
    return tuple(sorted(rng.sample(range(1, len(data)), min(3, len(data) - 1))))


# --- the generator -----------------------------------------------------------------------


def count_requests(reqs: list[Request]) -> int:
    return sum(1 + r.body.count(PROBE_LINE) for r in reqs)


def select(names: Iterable[str], only: Sequence[str] | None) -> list[str]:
    """The mutation names matching ``only`` (full names or families); all when None."""
    if not only:
        return sorted(names)
    return sorted(n for n in names if n in only or n.split("/", 1)[0] in only)


def generate(seed: int, count: int | None = None,
             only: Sequence[str] | None = None) -> Iterator[Case]:
    """Cases for ``seed``, deterministically: the same seed gives the same cases in the
    same order. Endless when ``count`` is None (the caller's budget stops it). ``only``
    restricts the mutations to those names or families; without it, every seed request
    comes first unmutated (``seed/NAME``), so that a disagreement the seed itself causes
    is recognised as the seed's in every case built on it (:mod:`.cluster`)."""
    rng = random.Random(seed)
    names = select(MUTATIONS, only)
    delivery = select(DELIVERY, only) if only else list(DELIVERY)
    if not names:
        names = delivery  # only delivery mutations asked for: every case is cut
    index = 0
    if not only:  # each seed unmutated first: its own disagreements are not a mutation's
        for seed_name in sorted(SEEDS):
            if count is not None and index >= count:
                return
            reqs = SEEDS[seed_name]()
            yield Case(index, seed_name, (f"seed/{seed_name}",),
                       b"".join(r.serialize() for r in reqs), (), count_requests(reqs))
            index += 1
    while count is None or index < count:
        for _ in range(20):  # a seed the mutations apply to (e.g. a body for cl/*)
            seed_name, reqs, applied = _mutate(rng, names)
            if applied or not any(n in MUTATIONS for n in names):
                break
        data = b"".join(r.serialize() for r in reqs)
        splits: tuple[int, ...] = ()
        if delivery and (rng.random() < 0.1 or not applied):
            how = rng.choice(delivery)
            splits = _delivery(how, data, rng)
            applied.append(how)
        yield Case(index, seed_name, tuple(applied), data, splits, count_requests(reqs))
        index += 1


def _copy(reqs: list[Request]) -> list[Request]:
    return [replace(r, headers=list(r.headers), eols=dict(r.eols),
                    chunk_eols=dict(r.chunk_eols), trailers=list(r.trailers),
                    chunks=None if r.chunks is None else list(r.chunks)) for r in reqs]


def _mutate(rng: random.Random, names: Sequence[str],
            ) -> tuple[str, list[Request], list[str]]:
    """A random seed with one mutation, sometimes two of different families."""
    seed_name = rng.choice(sorted(SEEDS))
    reqs = SEEDS[seed_name]()
    applied: list[str] = []
    wanted = 1 if rng.random() < 0.8 else 2
    for _ in range(50):
        if len(applied) >= wanted:
            break
        name = rng.choice(names)
        if name.split("/", 1)[0] in {a.split("/", 1)[0] for a in applied}:
            continue  # a second mutation of the same family adds nothing
        trial = _copy(reqs)
        if name in MUTATIONS and MUTATIONS[name](trial, rng) and (
                name == "te/http10-chunked" or not _chunked_http10(trial)):
            reqs = trial
            applied.append(name)
    return seed_name, reqs, applied


def _chunked_http10(reqs: list[Request]) -> bool:
    """A chunked HTTP/1.0 request: invalid framing whatever the mutation meant to test
    (RFC 9112 §6.1), so only ``te/http10-chunked`` may make one."""
    return any(r.chunks is not None and r.line.endswith(b"HTTP/1.0") for r in reqs)


def all_mutation_names() -> list[str]:
    return sorted([*MUTATIONS, *DELIVERY])

