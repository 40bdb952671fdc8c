"""X-Forwarded-For and X-Forwarded-Proto are believed only from a trusted proxy
(``TRUSTED_PROXIES``); from anyone else the socket peer is the client, in pages and in the
charger evidence alike."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from chargers import security, services, transfers
from chargers.models import Connection, ConnectionEvent, Transfer
from config.proxy import TrustedProxyHeaders
from tests.chargers.test_ocpp_live import auth_header
from tests.live import daphne_server, eventually

KEY = "proxy-key-0123456789"
FORGED = "203.0.113.66"


class Seen:
    """An ASGI application that keeps the scope it was called with."""

    scope: dict[str, Any]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope


def resolve(
    trusted: list[str], peer: str, headers: list[tuple[bytes, bytes]], kind: str = "http"
) -> dict[str, Any]:
    """The scope the application behind the middleware sees."""
    seen = Seen()
    scope = {"type": kind, "client": [peer, 40000], "scheme": "http", "headers": headers}
    asyncio.run(TrustedProxyHeaders(seen, trusted)(scope, None, None))
    return seen.scope


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored_and_removed() -> None:
    scope = resolve(
        [],
        "198.51.100.7",
        [(b"x-forwarded-for", FORGED.encode()), (b"x-forwarded-proto", b"https")],
    )
    assert scope["client"] == ["198.51.100.7", 40000]
    assert scope["scheme"] == "http"
    assert scope["headers"] == []


def test_a_trusted_proxy_gives_the_client_and_the_scheme() -> None:
    scope = resolve(
        ["127.0.0.1", "::1"],
        "127.0.0.1",
        [(b"x-forwarded-for", b"192.0.2.10"), (b"x-forwarded-proto", b"https")],
    )
    assert scope["client"] == ["192.0.2.10", 0]
    assert scope["scheme"] == "https"
    assert (
        resolve(["127.0.0.1"], "127.0.0.1", [(b"x-forwarded-proto", b"https")], "websocket")[
            "scheme"
        ]
        == "wss"
    )


def test_a_chain_is_read_from_the_right_and_a_client_sent_prefix_is_not_believed() -> None:
    # The client sent "X-Forwarded-For: 203.0.113.66"; the proxy appended what it saw.
    scope = resolve(
        ["10.0.0.0/8"], "10.0.0.2", [(b"x-forwarded-for", f"{FORGED}, 192.0.2.10".encode())]
    )
    assert scope["client"] == ["192.0.2.10", 0]
    # Through two trusted proxies, the first untrusted hop is the client.
    scope = resolve(["10.0.0.0/8"], "10.0.0.2", [(b"x-forwarded-for", b"192.0.2.10, 10.0.0.9")])
    assert scope["client"] == ["192.0.2.10", 0]


@pytest.mark.django_db(transaction=True)
def test_a_charger_cannot_forge_its_address_in_the_evidence(tmp_path: Path) -> None:
    charge_point, _ = services.create_charge_point("PROXY-1", authorization_key=KEY)

    async def connect(url: str, key: str) -> None:
        headers = {**auth_header("PROXY-1", key), "X-Forwarded-For": FORGED}
        try:
            async with websockets.connect(
                url, subprotocols=[Subprotocol("ocpp1.6")], additional_headers=headers
            ):
                pass
        except websockets.InvalidStatus:
            pass

    with daphne_server(tmp_path, extra_env={"TRUSTED_PROXIES": ""}) as server:
        url = f"{server.ws_url}/ocpp/PROXY-1"
        asyncio.run(connect(url, KEY))
        asyncio.run(connect(url, "wrong-key-0123456789"))
        assert eventually(lambda: ConnectionEvent.objects.filter(kind="refused").exists())
        # Over HTTP too: a diagnostics upload records the address it came from.
        location = transfers.diagnostics_location(charge_point)
        request = urllib.request.Request(
            transfers.http_url(location, server.http_url) + "log.txt",
            data=b"diagnostics",
            method="PUT",
            headers={"X-Forwarded-For": FORGED},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
    [connection] = Connection.objects.filter(charge_point=charge_point)
    assert connection.remote_address.startswith("127.0.0.1:")
    addresses = set(ConnectionEvent.objects.values_list("remote_address", flat=True))
    assert addresses and all(a.startswith("127.0.0.1") for a in addresses), addresses
    [upload] = Transfer.objects.all()
    assert upload.remote_address == "127.0.0.1"


@pytest.mark.django_db(transaction=True)
def test_a_trusted_proxys_forwarded_address_is_the_chargers(tmp_path: Path) -> None:
    charge_point, _ = services.create_charge_point("PROXY-2", authorization_key=KEY)

    async def connect(url: str) -> None:
        headers = {**auth_header("PROXY-2", KEY), "X-Forwarded-For": "192.0.2.10"}
        async with websockets.connect(
            url, subprotocols=[Subprotocol("ocpp1.6")], additional_headers=headers
        ):
            pass

    with daphne_server(tmp_path, extra_env={"TRUSTED_PROXIES": "127.0.0.1,::1"}) as server:
        asyncio.run(connect(f"{server.ws_url}/ocpp/PROXY-2"))
    [connection] = Connection.objects.filter(charge_point=charge_point)
    assert connection.remote_address == "192.0.2.10:0"


@pytest.mark.django_db(transaction=True)
def test_profile_2_behind_a_trusted_tls_proxy_connects_and_nobody_else_can_claim_tls(
    tmp_path: Path,
) -> None:
    """Security profile 2 with TLS ended at the proxy (docs/deploy.md, "TLS for chargers"):
    the trusted proxy's X-Forwarded-Proto: https is the charger's TLS; the same header from
    any other peer, or plain ws:// through the proxy, is refused."""
    charge_point, _ = services.create_charge_point("PROXY-SP2", authorization_key=KEY)
    security.set_security_profile(charge_point, 2)

    async def connect(url: str, proto: str | None) -> int:
        headers = auth_header("PROXY-SP2", KEY)
        if proto is not None:
            headers["X-Forwarded-Proto"] = proto
        try:
            async with websockets.connect(
                url, subprotocols=[Subprotocol("ocpp1.6")], additional_headers=headers
            ):
                return 101
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    with daphne_server(tmp_path, extra_env={"TRUSTED_PROXIES": "127.0.0.1,::1"}) as server:
        url = f"{server.ws_url}/ocpp/PROXY-SP2"
        assert asyncio.run(connect(url, "https")) == 101
        assert asyncio.run(connect(url, "http")) == 403
        assert asyncio.run(connect(url, None)) == 403
    with daphne_server(tmp_path, extra_env={"TRUSTED_PROXIES": ""}) as server:
        assert asyncio.run(connect(f"{server.ws_url}/ocpp/PROXY-SP2", "https")) == 403
    # Repeated refusals of one identity and address are aggregated into one event.
    refusals = ConnectionEvent.objects.filter(kind="refused").values_list("detail", flat=True)
    assert set(refusals) == {
        "security profile 2 requires TLS (wss://); the charger connected over ws://"
    }
