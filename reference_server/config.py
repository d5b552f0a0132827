"""Server configuration: every option, its default, and why the default is what it is.

The command line (``cli.py``) builds one :class:`Config`; the server reads it. Defaults
follow uvicorn where users expect the same behaviour, and are stricter where an
unbounded default would let one client hold resources (the head deadline, body and
message size limits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .http2.limits import H2Limits
from .http11.limits import Limits

#: Today's access-log line (``--access-log-format``'s default): uvicorn's shape.
DEFAULT_ACCESS_LOG_FORMAT = '%(client)s - "%(method)s %(path)s HTTP/%(http_version)s" %(status)d'


@dataclass(slots=True)
class Config:
    #: "module:attribute" of the ASGI application (attribute may be dotted).
    app: str
    #: Call the attribute to get the application (--factory).
    factory: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    #: Bind a Unix domain socket instead of host/port.
    uds: str | None = None
    #: Serve an already-bound listening socket by file descriptor (systemd, supervisors).
    fd: int | None = None
    #: Worker processes sharing the listening socket; 1 serves in this process.
    workers: int = 1
    #: "auto" (uvloop when installed), "asyncio" or "uvloop".
    loop: str = "auto"
    #: ASGI root_path for apps mounted below a prefix.
    root_path: str = ""
    #: Trust X-Forwarded-For/-Proto from --forwarded-allow-ips peers.
    proxy_headers: bool = True
    #: Comma-separated IPs/networks (or "*") whose X-Forwarded-* headers are trusted.
    forwarded_allow_ips: str = "127.0.0.1"
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_keyfile_password: str | None = None
    ssl_ca_certs: str | None = None
    #: "auto", "on" or "off" (lifespan.rst: "auto" tolerates apps without lifespan).
    lifespan: str = "auto"
    #: HTTP/1.1 parser limits (request-line, head size, field count, body size).
    limits: Limits = field(default_factory=Limits)
    #: Seconds an idle keep-alive connection stays open.
    timeout_keep_alive: float = 5.0
    #: Seconds a client has to deliver a complete request head (slowloris bound).
    timeout_request_head: float = 10.0
    #: Seconds in-flight requests get to finish on SIGTERM before connections close.
    timeout_graceful_shutdown: float = 30.0
    #: Most concurrent connections per worker; beyond it new connections get 503.
    limit_concurrency: int | None = None
    #: Bytes of response data buffered per connection before send() waits (write
    #: high-water mark) and of request data read ahead before reading pauses.
    flow_high_water: int = 65536
    access_log: bool = True
    #: %-style format of an HTTP access-log line with named fields (observe.py lists them).
    access_log_format: str = DEFAULT_ACCESS_LOG_FORMAT
    log_level: str = "info"
    #: A logging configuration (JSON, YAML or INI by extension) applied over the defaults.
    log_config: str | None = None
    #: A dotenv file loaded into the environment before the options are read (cli.py).
    env_file: str | None = None
    #: A worker serves this many requests (plus a random 0..jitter) then exits gracefully
    #: and is replaced: bounds what a leaking application can accumulate.
    limit_max_requests: int | None = None
    limit_max_requests_jitter: int = 0
    #: Serve Prometheus metrics on this port (None: off) and host (metrics.py).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    #: Development: new workers when files in the watched directories change (reload.py).
    reload: bool = False
    #: Directories watched by --reload (empty: the current directory).
    reload_dirs: list[str] = field(default_factory=list)
    #: Globs of file names that count (empty: ``*.py``), and of names to ignore
    #: (empty: dot files, ``*.py[cod]``, swap and backup files, ``__pycache__``).
    reload_includes: list[str] = field(default_factory=list)
    reload_excludes: list[str] = field(default_factory=list)
    #: listen() backlog: connections the kernel queues before a worker accepts them.
    backlog: int = 2048
    #: Value of the Server response header; empty disables it.
    server_header: str = "reference-server"
    date_header: bool = True
    #: WebSocket: "auto" or "none".
    ws: str = "auto"
    ws_max_size: int = 16 * 1024 * 1024
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float | None = 20.0
    ws_per_message_deflate: bool = True
    #: HTTP/2 (RFC 9113): over TLS when ALPN picks "h2", and on plaintext connections
    #: that open with the connection preface (prior knowledge, §3.3).
    http2: bool = True
    #: Also switch a plaintext HTTP/1.1 request with ``Upgrade: h2c`` to HTTP/2 (RFC 7540
    #: §3.2). Off by default: RFC 9113 deprecates it, and a proxy that forwards the
    #: Upgrade hands the client a connection its access rules no longer see ("h2c
    #: smuggling").
    h2c_upgrade: bool = False
    #: HTTP/2 limits and abuse budgets (``--h2-*`` options).
    h2_limits: H2Limits = field(default_factory=H2Limits)

    @property
    def is_ssl(self) -> bool:
        return self.ssl_certfile is not None
