"""The security plan's rules (certification/judge/security.py) over plain frames and the
connection events the portal records with their TLS handshake."""

from __future__ import annotations

from typing import Any, Literal

from certification.judge import judge
from certification.judge.types import ConnectionEvent, Finding
from tests.judge.frames import Wire

TLS13 = {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "client_certificate": None}
CLIENT = {"subject": "CN=CP-1", "sha256": "ab" * 32}


def tls_event(
    wire: Wire,
    kind: Literal["connected", "refused", "closed", "replaced"],
    tls: dict[str, Any] | None,
    connection_id: int | None = None,
    detail: str = "",
) -> None:
    wire.events.append(
        ConnectionEvent(
            id=len(wire.events) + 1,
            at=wire.now,
            kind=kind,
            detail=detail,
            tls=tls,
            connection_id=connection_id,
        )
    )
    wire.wait(1)


def messages(judgement: Any) -> str:
    return " | ".join(f.message for f in judgement.findings)


def test_a_profile_3_connection_needs_tls_1_2_and_a_client_certificate() -> None:
    good = Wire()
    tls_event(good, "connected", {**TLS13, "client_certificate": CLIENT}, 1)
    good.boot()
    assert judge("tls_connection", good.context(profile=3)).verdict == "Y"

    no_certificate = Wire()
    tls_event(no_certificate, "connected", TLS13, 1)
    no_certificate.boot()
    judgement = judge("tls_connection", no_certificate.context(profile=3))
    assert judgement.verdict == "N"
    assert "No client certificate" in messages(judgement)

    plain = Wire()
    tls_event(plain, "connected", None, 1)
    plain.boot()
    assert "connected over ws://" in messages(judge("tls_connection", plain.context()))


def test_a_refused_faulty_certificate_then_the_security_event_passes() -> None:
    wire = Wire()
    tls_event(wire, "refused", {"fault": "expired", "error": "closed"})
    tls_event(wire, "connected", TLS13, 2)
    wire.request(
        "SecurityEventNotification",
        {"type": "InvalidCentralSystemCertificate", "timestamp": "2026-01-01T00:00:00Z"},
        {},
    )
    judgement = judge("invalid_server_certificate", wire.context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements["refused"] == 1
    assert judgement.findings == ()
    assert judgement.measurements == {"faulty_handshakes": 1, "refused": 1}


def test_accepting_the_faulty_certificate_and_booting_over_it_fails() -> None:
    wire = Wire()
    tls_event(wire, "connected", {**TLS13, "fault": "unknown-ca"}, 7)
    boot = wire.request(
        "BootNotification",
        {"chargePointVendor": "V", "chargePointModel": "M"},
        {"status": "Accepted"},
    )
    object.__setattr__(boot, "connection_id", 7)
    judgement = judge("invalid_server_certificate", wire.context())
    assert judgement.verdict == "N"
    assert "accepted the faulty server certificate (unknown-ca)" in messages(judgement)
    assert boot.id in judgement.findings[0].frame_ids
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="The charger accepted the faulty server certificate (unknown-ca) and "
            "connected; it sent 1 frame(s) over it",
            frame_ids=(1,),
        ),
    )
    assert judgement.measurements == {"faulty_handshakes": 1, "refused": 0}


def test_a_refusal_without_the_security_event_fails() -> None:
    wire = Wire()
    tls_event(wire, "refused", {"fault": "wrong-host"})
    tls_event(wire, "connected", TLS13, 2)
    wire.heartbeat()
    judgement = judge("invalid_server_certificate", wire.context())
    assert judgement.verdict == "N"
    assert "No SecurityEventNotification InvalidCentralSystemCertificate" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No SecurityEventNotification InvalidCentralSystemCertificate after the "
            "refused handshake",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {"faulty_handshakes": 1, "refused": 1}


def test_old_tls_expects_invalid_tls_version() -> None:
    wire = Wire()
    tls_event(wire, "refused", {"fault": "old-tls"})
    tls_event(wire, "connected", TLS13, 2)
    wire.request(
        "SecurityEventNotification",
        {"type": "InvalidCentralSystemCertificate", "timestamp": "2026-01-01T00:00:00Z"},
        {},
    )
    judgement = judge("invalid_server_certificate", wire.context())
    assert judgement.verdict == "Y"
    assert judgement.minor
    assert "InvalidTLSVersion was expected" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="minor",
            message="SecurityEventNotification InvalidCentralSystemCertificate where "
            "InvalidTLSVersion was expected",
            frame_ids=(1,),
        ),
    )
    assert judgement.measurements == {"faulty_handshakes": 1, "refused": 1}


def renewal(wire: Wire, answer: str) -> None:
    wire.command(
        "ExtendedTriggerMessage",
        {"requestedMessage": "SignChargePointCertificate"},
        {"status": "Accepted"},
    )
    wire.request(
        "SignCertificate",
        {"csr": "-----BEGIN CERTIFICATE REQUEST-----\n..."},
        {"status": "Accepted"},
    )
    wire.command(
        "CertificateSigned", {"certificateChain": "-----BEGIN CERTIFICATE-----"}, {"status": answer}
    )


def test_certificate_renewal_follows_the_whitepaper_sequence() -> None:
    wire = Wire()
    renewal(wire, "Accepted")
    assert judge("certificate_renewal", wire.context()).verdict == "Y"

    rejected = Wire()
    renewal(rejected, "Rejected")
    assert "CertificateSigned" in messages(judge("certificate_renewal", rejected.context()))

    invalid = Wire()
    renewal(invalid, "Rejected")
    judgement = judge("certificate_renewal", invalid.context(expect_rejected=True))
    assert "No SecurityEventNotification InvalidChargePointCertificate" in messages(judgement)


def test_the_security_log_needs_uploading_then_uploaded_with_the_request_id() -> None:
    wire = Wire()
    wire.command(
        "GetLog",
        {"logType": "SecurityLog", "requestId": 3, "log": {"remoteLocation": "ftp://x/"}},
        {"status": "Accepted"},
    )
    wire.request("LogStatusNotification", {"status": "Uploading", "requestId": 3}, {})
    wire.request("LogStatusNotification", {"status": "Uploaded", "requestId": 9}, {})
    judgement = judge("security_log", wire.context())
    assert judgement.verdict == "N"
    assert "Uploading then Uploaded with requestId 3" in messages(judgement)
    wire.request("LogStatusNotification", {"status": "Uploaded", "requestId": 3}, {})
    assert judge("security_log", wire.context()).verdict == "Y"


def signed_update(wire: Wire, *statuses: str) -> None:
    wire.command("SignedUpdateFirmware", {"requestId": 5, "firmware": {}}, {"status": "Accepted"})
    for status in statuses:
        wire.request("SignedFirmwareStatusNotification", {"status": status, "requestId": 5}, {})


def test_signed_firmware_valid_and_invalid_signature() -> None:
    valid = Wire()
    signed_update(
        valid, "Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"
    )
    assert judge("signed_firmware", valid.context()).verdict == "Y"

    installed_anyway = Wire()
    signed_update(installed_anyway, "Downloading", "Downloaded", "Installing", "Installed")
    judgement = judge("signed_firmware", installed_anyway.context(invalid_signature=True))
    assert judgement.verdict == "N"
    assert "installed firmware whose signature is invalid" in messages(judgement)

    refused = Wire()
    signed_update(refused, "Downloading", "Downloaded", "InvalidSignature")
    refused.request(
        "SecurityEventNotification",
        {"type": "InvalidFirmwareSignature", "timestamp": "2026-01-01T00:00:00Z"},
        {},
    )
    assert judge("signed_firmware", refused.context(invalid_signature=True)).verdict == "Y"


def test_a_downgrade_must_be_rejected() -> None:
    wire = Wire()
    wire.command(
        "ChangeConfiguration", {"key": "SecurityProfile", "value": "1"}, {"status": "Accepted"}
    )
    judgement = judge("security_profile_downgrade", wire.context(current_profile=2))
    assert judgement.verdict == "N"
    wire = Wire()
    wire.command(
        "ChangeConfiguration", {"key": "SecurityProfile", "value": "1"}, {"status": "Rejected"}
    )
    assert judge("security_profile_downgrade", wire.context(current_profile=2)).verdict == "Y"


def test_authorization_key_change_needs_a_reconnect_with_the_new_key() -> None:
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "AuthorizationKey", "value": "k" * 20},
        {"status": "Accepted"},
    )
    wire.wait(1)
    tls_event(wire, "refused", None, detail="wrong AuthorizationKey")
    judgement = judge("authorization_key_change", wire.context())
    assert "reconnected with a wrong key" in messages(judgement)
    good = Wire()
    good.command(
        "ChangeConfiguration",
        {"key": "AuthorizationKey", "value": "k" * 20},
        {"status": "Accepted"},
    )
    good.wait(1)
    tls_event(good, "connected", TLS13, 3)
    assert judge("authorization_key_change", good.context()).verdict == "Y"
