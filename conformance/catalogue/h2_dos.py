"""Placeholder, filled by the HTTP/2 work of issue 14."""

from __future__ import annotations

from conformance.catalogue import Requirement

REQUIREMENTS: tuple[Requirement, ...] = ()
