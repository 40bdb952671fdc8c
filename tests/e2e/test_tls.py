"""Security profiles 2 and 3 over real TLS: a live ``manage.py serve`` with its TLS port on
127.0.0.1, real TLS clients (Python's ssl through ``websockets``), the evidence each
handshake leaves, and the refusals the whitepaper asks for."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from chargers import pki, security, services
from chargers.models import ChargePoint, ConnectionEvent, LabCertificate, TlsFault
from tests.live import LiveServer, daphne_server, eventually, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

KEY = "tls-key-0123456789"


@dataclass
class TlsLab:
    server: LiveServer
    tls_port: int
    root_pem: str
    tmp: Path

    def url(self, charge_point_id: str) -> str:
        return f"wss://localhost:{self.tls_port}/ocpp/{charge_point_id}"

    def client_context(
        self,
        *,
        certificate: pki.Issued | None = None,
        ca_pem: str | None = None,
        max_version: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=ca_pem or self.root_pem)
        if max_version is not None:
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            context.maximum_version = max_version
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        if certificate is not None:
            cert_file = self.tmp / f"client-{id(certificate)}.pem"
            cert_file.write_text(certificate.certificate_pem + certificate.private_key_pem)
            context.load_cert_chain(cert_file)
        return context


@pytest.fixture
def tls_lab(tmp_path: Path, db: None) -> Iterator[TlsLab]:
    lab = security.ensure_lab_pki()
    port = free_port()
    with daphne_server(tmp_path, extra_env={"PORTAL_TLS_PORT": str(port)}) as server:
        yield TlsLab(server, port, lab[LabCertificate.Purpose.ROOT].certificate_pem, tmp_path)


def basic(charge_point_id: str, key: str = KEY) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{charge_point_id}:{key}".encode()).decode()
    }


async def _exchange(url: str, context: ssl.SSLContext | None, headers: dict[str, str]) -> str:
    async with connect(
        url,
        ssl=context,
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=headers,
        open_timeout=10,
    ) as ws:
        await ws.send('[2,"1","Heartbeat",{}]')
        return str(await asyncio.wait_for(ws.recv(), 10))


def exchange(
    url: str, context: ssl.SSLContext | None, headers: dict[str, str] | None = None
) -> str:
    return asyncio.run(_exchange(url, context, headers or {}))


def tls_of(event: ConnectionEvent) -> dict[str, Any]:
    assert isinstance(event.tls, dict), f"no TLS evidence on {event}"
    return event.tls


def events(charge_point_id: str, kind: str) -> list[ConnectionEvent]:
    return list(
        ConnectionEvent.objects.filter(charge_point_identity=charge_point_id, kind=kind).order_by(
            "at"
        )
    )


def profile(charge_point_id: str, number: int) -> ChargePoint:
    charge_point, _ = services.create_charge_point(charge_point_id, authorization_key=KEY)
    security.set_security_profile(charge_point, number)
    return charge_point


def test_profile_2_connects_over_tls_with_its_handshake_recorded(tls_lab: TlsLab) -> None:
    profile("SP2-1", 2)
    answer = exchange(tls_lab.url("SP2-1"), tls_lab.client_context(), basic("SP2-1"))
    assert answer.startswith('[3,"1",{"currentTime"')
    assert eventually(lambda: bool(events("SP2-1", "connected")))
    event = events("SP2-1", "connected")[0]
    assert tls_of(event)["version"] in {"TLSv1.2", "TLSv1.3"}
    assert tls_of(event)["cipher"]
    assert tls_of(event)["server_name"] == "localhost"
    lab_root = pki.load_certificate(tls_lab.root_pem)
    assert tls_of(event)["server_certificate"]["issuer"] == lab_root.subject.rfc4514_string()
    assert tls_of(event)["client_certificate"] is None
    assert "no client certificate" in event.detail and "SNI localhost" in event.detail


def test_profile_2_is_refused_over_plain_ws_and_without_its_key(tls_lab: TlsLab) -> None:
    profile("SP2-2", 2)
    with pytest.raises(InvalidStatus):
        exchange(f"{tls_lab.server.ws_url}/ocpp/SP2-2", None, basic("SP2-2"))
    with pytest.raises(InvalidStatus):
        exchange(
            tls_lab.url("SP2-2"), tls_lab.client_context(), basic("SP2-2", "wrong-key-0123456789")
        )
    assert eventually(lambda: len(events("SP2-2", "refused")) == 2)
    over_ws, wrong_key = events("SP2-2", "refused")
    assert "requires TLS (wss://)" in over_ws.detail and over_ws.tls is None
    assert wrong_key.detail == "wrong AuthorizationKey" and tls_of(wrong_key)["version"]


def test_profile_3_connects_with_a_lab_client_certificate(tls_lab: TlsLab) -> None:
    profile("SP3-1", 3)
    lab = security.ensure_lab_pki()
    certificate = pki.issue_client(lab[LabCertificate.Purpose.ROOT], "SP3-1")
    answer = exchange(tls_lab.url("SP3-1"), tls_lab.client_context(certificate=certificate))
    assert answer.startswith('[3,"1"')
    assert eventually(lambda: bool(events("SP3-1", "connected")))
    client = tls_of(events("SP3-1", "connected")[0])["client_certificate"]
    leaf = certificate.certificate()
    assert client["subject"] == "CN=SP3-1"
    assert client["serial"] == format(leaf.serial_number, "x")
    assert client["sha256"] == pki.fingerprint(leaf)
    assert client["not_after"] == leaf.not_valid_after_utc.isoformat()


def test_profile_3_refuses_other_ca_expired_mismatched_and_missing_certificates(
    tls_lab: TlsLab,
) -> None:
    profile("SP3-2", 3)
    lab = security.ensure_lab_pki()
    root = lab[LabCertificate.Purpose.ROOT]
    stranger_ca = pki.create_root("Some Other CA")
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    cases = [
        (pki.issue_client(stranger_ca, "SP3-2"), "unknown CA"),
        (pki.issue_client(root, "SP3-2", valid_until=past), "expired certificate"),
        (pki.issue_client(root, "SOMEONE-ELSE"), "subject mismatch"),
        (None, "missing client certificate"),
    ]
    for certificate, _ in cases:
        with pytest.raises(InvalidStatus):
            exchange(tls_lab.url("SP3-2"), tls_lab.client_context(certificate=certificate))
    assert eventually(lambda: len(events("SP3-2", "refused")) == len(cases))
    for event, (certificate, reason) in zip(events("SP3-2", "refused"), cases, strict=True):
        assert reason in event.detail
        if certificate is not None:
            assert tls_of(event)["client_certificate"]["sha256"] == pki.fingerprint(
                certificate.certificate()
            )


def test_a_tls_1_1_client_is_refused_and_recorded(tls_lab: TlsLab) -> None:
    profile("SP2-OLD", 2)
    context = tls_lab.client_context(max_version=ssl.TLSVersion.TLSv1_1)
    with pytest.raises((ssl.SSLError, OSError)):
        exchange(tls_lab.url("SP2-OLD"), context, basic("SP2-OLD"))
    assert eventually(
        lambda: ConnectionEvent.objects.filter(
            kind="refused", detail__startswith="TLS below 1.2 refused"
        ).exists()
    ), tls_lab.server.log()
    event = ConnectionEvent.objects.get(kind="refused", detail__startswith="TLS below 1.2")
    assert "unsupported protocol" in tls_of(event)["error"]
    assert event.remote_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("kind", "client_says"),
    [
        # asyncio's TLS client drops the connection without sending its alert.
        (TlsFault.Kind.UNKNOWN_CA, "closed the connection during the TLS handshake"),
        (TlsFault.Kind.EXPIRED, "closed the connection during the TLS handshake"),
        (TlsFault.Kind.WRONG_HOST, "closed the connection during the TLS handshake"),
        (TlsFault.Kind.OLD_TLS, "refused TLS 1.0/1.1"),
    ],
)
def test_an_armed_fault_is_refused_by_a_correct_client_then_the_next_handshake_is_good(
    tls_lab: TlsLab, kind: str, client_says: str
) -> None:
    charge_point = profile("SP2-F", 2)
    security.arm_tls_fault(charge_point, kind)
    # Workers poll armed faults: wait until this one is picked up, i.e. presented.
    refused: list[BaseException] = []

    def refused_once() -> bool:
        try:
            exchange(tls_lab.url("SP2-F"), tls_lab.client_context(), basic("SP2-F"))
        except (ssl.SSLError, OSError) as error:
            refused.append(error)
            return True
        return False

    assert eventually(refused_once, timeout=10)
    assert eventually(lambda: bool(events("SP2-F", "refused")))
    refusal = events("SP2-F", "refused")[0]
    assert tls_of(refusal)["fault"] == kind
    assert client_says in refusal.detail, refusal.detail
    assert TlsFault.objects.get().presented == 1
    # The fault was for one handshake: the next one gets the lab's good certificate.
    exchange(tls_lab.url("SP2-F"), tls_lab.client_context(), basic("SP2-F"))
    assert eventually(lambda: bool(events("SP2-F", "connected")))
    assert "fault" not in tls_of(events("SP2-F", "connected")[0])


def test_a_charger_that_accepts_a_faulty_certificate_is_recorded_as_such(tls_lab: TlsLab) -> None:
    charge_point = profile("SP2-LAX", 2)
    security.arm_tls_fault(charge_point, TlsFault.Kind.EXPIRED)
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE

    def accepted_fault() -> bool:
        exchange(tls_lab.url("SP2-LAX"), lax, basic("SP2-LAX"))
        return any(tls_of(e).get("fault") for e in events("SP2-LAX", "connected"))

    assert eventually(accepted_fault, timeout=10)
    event = next(e for e in events("SP2-LAX", "connected") if tls_of(e).get("fault"))
    assert "ACCEPTED the faulty server certificate (expired)" in event.detail


def test_the_tls_port_is_off_unless_configured(tmp_path: Path, db: None) -> None:
    with daphne_server(tmp_path) as server:
        assert "Chargers over TLS" not in server.log()
