"""Differential testing of ASGI servers (``python -m conformance differential``).

The same mutated HTTP/1.1 requests (or WebSocket frames) go to several servers, each
serving the probe app as a mirror; what the app saw and what came back on the wire is
normalised into one comparable *interpretation* per server, and the cases where the
servers' interpretations differ are clustered, ranked, shrunk and reported. The app's own
view of the request (what the probe recorded) is the ground truth: two servers that both
answer 200 but hand the app different bodies disagree on where a message ends, which is
how request smuggling starts (RFC 9112 §11.2).

Modules: :mod:`.generate` (seed requests and grammar-aware mutations), :mod:`.run` (one
case against one server, normalised), :mod:`.cluster` (signatures, clusters, ranking),
:mod:`.shrink` (minimal reproducers), :mod:`.rfc` (which RFC sentence decides a mutation),
:mod:`.ws` (the same for WebSocket frames), :mod:`.report` (JSON, Markdown, HTML) and
:mod:`.cli` (the command).
"""
