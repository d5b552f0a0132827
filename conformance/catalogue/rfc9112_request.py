"""HTTP/1.1 request-parsing requirements (RFC 9112 §2-§5, with the RFC 9110 rules they
lean on): request-line, request-target forms, versions, Host, field syntax, limits.

IDs are ``RFC9112-<section>-<n>`` (or ``RFC9110-<section>-<n>``), as in ``rfc9112.py``.
"""

from __future__ import annotations

from conformance.catalogue import Requirement

REQUIREMENTS: tuple[Requirement, ...] = ()
