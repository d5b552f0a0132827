"""TLS: the server's SSL context and the ASGI ``tls`` extension (tls.rst, version 0.2).

tls.rst: the extension "must only be used for TLS connections", so it is added per
connection when the transport carries an SSL object, never on plain HTTP.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config
    from .state import ServerState

# tls.rst: tls_version is the protocol's numeric version (0x0303 TLS 1.2, 0x0304 1.3).
_TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def create_ssl_context(config: Config) -> ssl.SSLContext:
    """A server context from --ssl-certfile/--ssl-keyfile (and --ssl-ca-certs to ask
    clients for certificates, optional so plain clients still connect)."""
    assert config.ssl_certfile is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.ssl_certfile, config.ssl_keyfile,
                            config.ssl_keyfile_password)
    if config.ssl_ca_certs:
        context.load_verify_locations(config.ssl_ca_certs)
        context.verify_mode = ssl.CERT_OPTIONAL
    # RFC 7301: h2 first when we speak it (RFC 9113 §3.2), http/1.1 otherwise.
    context.set_alpn_protocols(["h2", "http/1.1"] if config.http2 else ["http/1.1"])
    return context


def prepare(state: ServerState, context: ssl.SSLContext) -> None:
    """Compute once what every connection's extension repeats: our certificate in PEM
    and the numeric IDs of the cipher suites (the ssl module only names them)."""
    certfile = state.config.ssl_certfile
    if certfile:
        with open(certfile, encoding="ascii", errors="replace") as handle:
            text = handle.read()
        end = "-----END CERTIFICATE-----"
        start = text.find("-----BEGIN CERTIFICATE-----")
        if start >= 0 and end in text[start:]:
            state.tls_server_cert = text[start:text.index(end, start) + len(end)] + "\n"
    # get_ciphers() ids are 0x0300XXXX for TLS suites; the low 16 bits are the IANA id.
    state.tls_cipher_ids = {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers()}


def _rfc4514(subject: Any) -> str | None:
    """An RFC 4514 string from ``getpeercert()['subject']`` (most specific RDN first)."""
    if not subject:
        return None
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
             "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
             "domainComponent": "DC", "userId": "UID"}
    parts = []
    for rdn in reversed(subject):
        parts.append("+".join(f"{short.get(k, k)}={_escape(v)}" for k, v in rdn))
    return ",".join(parts)


def _escape(value: str) -> str:
    out = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def tls_extension(ssl_object: Any, state: ServerState) -> dict[str, Any]:
    """The ``scope["extensions"]["tls"]`` dict for one connection (tls.rst)."""
    cipher = ssl_object.cipher()
    version = ssl_object.version()
    chain: list[str] = []
    name = None
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        chain.append(ssl.DER_cert_to_PEM_cert(der))
        name = _rfc4514(ssl_object.getpeercert().get("subject"))
    return {
        "server_cert": state.tls_server_cert,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(version) if version else None,
        "cipher_suite": state.tls_cipher_ids.get(cipher[0]) if cipher else None,
    }
