"""Which client address and scheme a request has: the socket peer's, unless the peer is
one of the configured trusted proxies (``TRUSTED_PROXIES``).

One ASGI middleware in front of the whole application (pages, API, charger and console
websockets), so every consumer of ``scope["client"]`` — the evidence of a charger's
connection, the per-address handshake and login throttles, the transfer records — sees
the same answer. Daphne's own ``--proxy-headers`` believes ``X-Forwarded-For`` from
anyone who can reach the worker, which let any client put an address of its choosing into
the evidence and slip past per-address throttles; ``manage.py serve`` no longer passes it.

From a trusted peer, ``X-Forwarded-For`` is read from the right: addresses of trusted
proxies are skipped, the first other one is the client (what a chain of proxies that each
append the address they saw leaves). ``X-Forwarded-Proto`` gives the scheme, so Django's
``request.is_secure()`` believes it only from a trusted proxy too. The forwarded headers
are then removed from the scope, whatever the peer, so that nothing downstream reads the
unchecked values.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR = b"x-forwarded-for"
FORWARDED_PROTO = b"x-forwarded-proto"
FORWARDED_HEADERS = frozenset({FORWARDED_FOR, FORWARDED_PROTO, b"x-forwarded-port"})


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8", "::1"]`` as networks; ValueError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxyHeaders:
    """ASGI middleware: ``scope["client"]`` and ``scope["scheme"]`` from the forwarded
    headers of a trusted proxy, the socket's otherwise; the headers removed either way.

    ``trusted``: addresses or networks (``TRUSTED_PROXIES``); empty trusts nobody."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)

    def is_trusted(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in network for network in self.trusted)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] in ("http", "websocket"):
            scope = self.resolve(scope)
        return await self.app(scope, receive, send)

    def resolve(self, scope: dict[str, Any]) -> dict[str, Any]:
        headers = scope.get("headers") or []
        forwarded = [(name, value) for name, value in headers if name.lower() in FORWARDED_HEADERS]
        if not forwarded:
            return scope
        scope = dict(scope)
        scope["headers"] = [
            (name, value) for name, value in headers if name.lower() not in FORWARDED_HEADERS
        ]
        client = scope.get("client")
        if not client or not self.is_trusted(str(client[0])):
            return scope
        chain: list[str] = []
        proto = ""
        for name, value in forwarded:
            text = value.decode("latin-1")
            if name.lower() == FORWARDED_FOR:
                chain += [hop.strip() for hop in text.split(",") if hop.strip()]
            elif name.lower() == FORWARDED_PROTO:
                proto = text.split(",")[-1].strip().lower()
        for hop in reversed(chain):
            address = _address(hop)
            if address is None:
                break  # garbage from further out: the last good hop stands
            scope["client"] = [str(address), 0]
            if not any(address in network for network in self.trusted):
                break
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto
        return scope
