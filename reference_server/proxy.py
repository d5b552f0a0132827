"""Proxy headers: trust ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only from known peers.

Behind a reverse proxy the TCP peer is the proxy; the real client and scheme come from
the headers it adds. Anyone can send those headers, so they are honoured only when the
peer is in ``--forwarded-allow-ips`` (IPs, CIDR networks, or ``*``). For a chain
``X-Forwarded-For: client, proxy1, proxy2`` we walk from the right and take the first
address that is not itself a trusted proxy — the left part is client-controlled.
"""

from __future__ import annotations

import ipaddress


class TrustedProxies:
    def __init__(self, spec: str) -> None:
        self.always = False
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            if item == "*":
                self.always = True
            elif "/" in item:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            else:
                self.hosts.add(item)

    def trusts(self, host: str | None) -> bool:
        if self.always:
            return True
        if host is None:
            return False
        if host in self.hosts:
            return True
        if not self.networks:
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.networks)

    def client_from(self, forwarded_for: bytes) -> str | None:
        """The first untrusted address of an X-Forwarded-For chain, from the right."""
        hosts = [h.strip() for h in forwarded_for.decode("latin-1").split(",")]
        for host in reversed(hosts):
            if host and not self.trusts(host):
                return host
        return hosts[0] if hosts and hosts[0] else None
