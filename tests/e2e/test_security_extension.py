"""The scripted charger on security profiles 2 and 3 against a live portal over real TLS:
the handshakes and their evidence, an invalid server certificate refused and reported, a
certificate renewed through SignCertificate, signed firmware valid and badly signed, and
the security log uploaded (the OCPP 1.6 security whitepaper's test cases TC_074..TC_081)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from chargers import pki, security, services, transfers
from chargers.models import (
    ChargePoint,
    ChargerModel,
    Command,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    LabCertificate,
    Manufacturer,
    TlsFault,
    Transfer,
)
from chargers.ocpp.tls import FAULT_POLL_SECONDS
from chargers.simulator import ChargerConfig
from tests.e2e.harness import FIRMWARE_IMAGE, ChargerThread
from tests.live import (
    TEST_CHANNEL_PREFIX,
    TEST_REDIS_URL,
    LiveServer,
    daphne_server,
    eventually,
    free_port,
    redis_available,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.skipif(not redis_available(), reason=f"needs Redis at {TEST_REDIS_URL}"),
]

KEY = "sec-key-0123456789ab"
# Seconds within which every worker has seen a newly armed fault (it polls every 0.5 s).
FAULT_PICKED_UP = 3 * FAULT_POLL_SECONDS


@dataclass
class Portal:
    server: LiveServer
    tls_port: int
    lab: dict[str, pki.Issued]

    @property
    def root_pem(self) -> str:
        return self.lab[LabCertificate.Purpose.ROOT].certificate_pem

    def charger(self, charge_point_id: str, **options: Any) -> ChargerThread:
        config = ChargerConfig.for_url(
            f"wss://localhost:{self.tls_port}/ocpp/{charge_point_id}",
            ca_certificates=self.root_pem,
            time_scale=0.05,
            transfer_timeout=10,
            **options,
        )
        thread = ChargerThread(config)
        thread.do(thread.charger.connect())
        return thread


@pytest.fixture
def portal(tmp_path: Path, db: None, settings: Any) -> Iterator[Portal]:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chargers.channel_layer.PortalChannelLayer",
            "CONFIG": {
                "hosts": [{"address": TEST_REDIS_URL, "socket_timeout": None}],
                "prefix": TEST_CHANNEL_PREFIX,
            },
        }
    }
    lab = security.ensure_lab_pki()
    port = free_port()
    with daphne_server(
        tmp_path, redis_url=TEST_REDIS_URL, extra_env={"PORTAL_TLS_PORT": str(port)}
    ) as server:
        yield Portal(server, port, lab)


def identity(charge_point_id: str, profile: int, **fields: Any) -> ChargePoint:
    charge_point, _ = services.create_charge_point(
        charge_point_id, authorization_key=KEY, heartbeat_interval=300, **fields
    )
    security.set_security_profile(charge_point, profile)
    return charge_point


def connected_events(charge_point_id: str) -> list[ConnectionEvent]:
    return list(
        ConnectionEvent.objects.filter(
            charge_point_identity=charge_point_id, kind="connected"
        ).order_by("at")
    )


def calls(charge_point: ChargePoint, action: str) -> list[dict[str, Any]]:
    return [
        f.payload
        for f in Frame.objects.filter(
            charge_point=charge_point, action=action, message_type=2
        ).order_by("captured_at", "seq")
        if isinstance(f.payload, dict)
    ]


def test_sp2_and_sp3_chargers_connect_with_their_evidence_and_renew_a_certificate(
    portal: Portal,
) -> None:
    identity("SIM-SP2", 2)
    sp2 = portal.charger("SIM-SP2", password=KEY)
    sp3_point = identity("SIM-SP3", 3)
    first = pki.issue_client(portal.lab[LabCertificate.Purpose.ROOT], "SIM-SP3")
    sp3 = portal.charger(
        "SIM-SP3", client_certificate=first.certificate_pem + first.private_key_pem
    )
    try:
        assert eventually(
            lambda: bool(connected_events("SIM-SP2")) and bool(connected_events("SIM-SP3"))
        )
        two = connected_events("SIM-SP2")[0].tls or {}
        three = connected_events("SIM-SP3")[0].tls or {}
        assert two["version"] == "TLSv1.3" and two["client_certificate"] is None
        assert three["client_certificate"]["sha256"] == pki.fingerprint(first.certificate())

        # TC_074: ExtendedTriggerMessage -> SignCertificate (CSR) -> CertificateSigned.
        command = services.send_command(
            sp3_point, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}
        )
        assert command.status == Command.Status.ANSWERED, command.error
        assert eventually(lambda: bool(calls(sp3_point, "CertificateSigned")), timeout=20)
        [signed] = calls(sp3_point, "CertificateSigned")
        leaf = pki.load_certificate(signed["certificateChain"])
        assert pki.common_name(leaf.subject) == "SIM-SP3"
        assert leaf.issuer == first.certificate().issuer
        answered = Frame.objects.filter(
            charge_point=sp3_point, action="CertificateSigned", message_type=3
        )
        assert eventually(lambda: answered.exists())
        assert answered.get().payload == {"status": "Accepted"}

        # The renewed certificate is the one the next connection presents.
        sp3.do(sp3.charger.drop_connection())
        sp3.do(sp3.charger.restore_connection())
        assert eventually(lambda: len(connected_events("SIM-SP3")) == 2, timeout=20)
        renewed = (connected_events("SIM-SP3")[1].tls or {})["client_certificate"]
        assert renewed["sha256"] == pki.fingerprint(leaf)
    finally:
        sp2.stop()
        sp3.stop()


def test_an_invalid_server_certificate_is_refused_and_reported_by_a_correct_charger(
    portal: Portal,
) -> None:
    charge_point = identity("SIM-FAULT", 2)
    charger = portal.charger("SIM-FAULT", password=KEY)
    try:
        security.arm_tls_fault(charge_point, TlsFault.Kind.EXPIRED)
        time.sleep(FAULT_PICKED_UP)  # every worker polls armed faults
        charger.do(charger.charger.drop_connection())
        charger.do(charger.charger.restore_connection())
        refusals = ConnectionEvent.objects.filter(charge_point=charge_point, kind="refused")
        assert eventually(lambda: refusals.exists(), timeout=20)
        assert (refusals.get().tls or {})["fault"] == "expired"
        assert eventually(lambda: len(connected_events("SIM-FAULT")) == 2, timeout=30)
        assert eventually(lambda: bool(calls(charge_point, "SecurityEventNotification")))
        [event] = calls(charge_point, "SecurityEventNotification")
        assert event["type"] == "InvalidCentralSystemCertificate"
        # Nothing went over the faulty certificate: every connection is a good one.
        assert not any((e.tls or {}).get("fault") for e in connected_events("SIM-FAULT"))
    finally:
        charger.stop()


def test_a_lax_charger_accepts_the_faulty_certificate_and_reports_nothing(portal: Portal) -> None:
    charge_point = identity("SIM-LAX", 2)
    charger = portal.charger(
        "SIM-LAX",
        password=KEY,
        misbehaviours=frozenset({"accept-invalid-server-certificate"}),
    )
    try:
        security.arm_tls_fault(charge_point, TlsFault.Kind.UNKNOWN_CA)
        time.sleep(FAULT_PICKED_UP)
        charger.do(charger.charger.drop_connection())
        charger.do(charger.charger.restore_connection())
        assert eventually(lambda: len(connected_events("SIM-LAX")) == 2, timeout=20)
        assert (connected_events("SIM-LAX")[1].tls or {})["fault"] == "unknown-ca"
        assert calls(charge_point, "SecurityEventNotification") == []
    finally:
        charger.stop()


def test_signed_firmware_installs_and_a_bad_signature_is_refused(portal: Portal) -> None:
    maker = Manufacturer.objects.create(name="Secure Maker")
    model = ChargerModel.objects.create(manufacturer=maker, name="SEC-1", current_type="AC")
    firmware = FirmwareVersion.objects.create(charger_model=model, version="2.0.0")
    image = transfers.store_firmware_image(
        firmware, ContentFile(FIRMWARE_IMAGE, name="sec-2.0.0.bin")
    )
    charge_point = identity("SIM-FW", 2, charger_model=model)
    charger = portal.charger("SIM-FW", password=KEY)
    location = transfers.http_url(
        transfers.firmware_location(charge_point, image, None), portal.server.http_url
    )
    signer = security.firmware_signing()
    good = pki.sign_firmware(FIRMWARE_IMAGE, signer)
    bad = pki.sign_firmware(FIRMWARE_IMAGE + b"\x00tampered", signer)
    try:
        for request_id, signature in ((1, good), (2, bad)):
            command = services.send_command(
                charge_point,
                "SignedUpdateFirmware",
                {
                    "requestId": request_id,
                    "firmware": {
                        "location": location,
                        "retrieveDateTime": "2020-01-01T00:00:00Z",
                        "signingCertificate": signer.certificate_pem,
                        "signature": signature,
                    },
                },
            )
            assert command.response == {"status": "Accepted"}, command.error

        def statuses(request_id: int) -> list[str]:
            return [
                p["status"]
                for p in calls(charge_point, "SignedFirmwareStatusNotification")
                if p["requestId"] == request_id
            ]

        assert eventually(lambda: "Installed" in statuses(1), timeout=20)
        assert eventually(lambda: "InvalidSignature" in statuses(2), timeout=20)
        assert statuses(1) == [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "Installed",
        ]
        assert statuses(2) == ["Downloading", "Downloaded", "InvalidSignature"]
        # The charger reports the security event after the status: wait for it too.
        assert eventually(
            lambda: (
                [e["type"] for e in calls(charge_point, "SecurityEventNotification")]
                == ["InvalidFirmwareSignature"]
            ),
            timeout=10,
        )
    finally:
        charger.stop()


def test_the_security_log_is_uploaded_through_a_transfer_location(portal: Portal) -> None:
    charge_point = identity("SIM-LOG", 2)
    charger = portal.charger("SIM-LOG", password=KEY)
    location = transfers.http_url(
        transfers.diagnostics_location(charge_point), portal.server.http_url
    )
    try:
        command = services.send_command(
            charge_point,
            "GetLog",
            {"logType": "SecurityLog", "requestId": 7, "log": {"remoteLocation": location}},
        )
        assert command.response == {"status": "Accepted", "filename": "SecurityLog-SIM-LOG.log"}
        assert eventually(
            lambda: len(calls(charge_point, "LogStatusNotification")) == 2, timeout=20
        )
        assert calls(charge_point, "LogStatusNotification") == [
            {"status": "Uploading", "requestId": 7},
            {"status": "Uploaded", "requestId": 7},
        ]
        upload = Transfer.objects.get(charge_point=charge_point)
        assert upload.status == Transfer.Status.COMPLETED
        assert upload.file_name == "SecurityLog-SIM-LOG.log"
    finally:
        charger.stop()
