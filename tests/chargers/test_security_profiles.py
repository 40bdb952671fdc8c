"""What each security profile demands of a connection, the lab PKI, and the words a failed
TLS handshake is recorded with (the live TLS port itself: tests/e2e/test_tls.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography import x509
from django.core.exceptions import ValidationError
from OpenSSL import SSL

from chargers import pki, security, services
from chargers.models import ChargePoint, ChargerModel, LabCertificate
from chargers.ocpp.tls import refusal_reason

KEY = "profile-key-0123456789"


@pytest.fixture
def lab_root(db: None) -> pki.Issued:
    return security.ensure_lab_pki()[LabCertificate.Purpose.ROOT]


def tls_with(certificate: pki.Issued | None) -> dict[str, Any]:
    return {
        "version": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384",
        "client_cert_chain": [certificate.certificate_pem] if certificate else [],
    }


def charge_point(identity: str, profile: int, **fields: Any) -> ChargePoint:
    created, _ = services.create_charge_point(identity, authorization_key=KEY, **fields)
    security.set_security_profile(created, profile)
    return created


def test_the_lab_pki_is_made_once_and_kept(db: None) -> None:
    first = security.ensure_lab_pki()
    again = security.ensure_lab_pki()
    assert first[LabCertificate.Purpose.ROOT] == again[LabCertificate.Purpose.ROOT]
    rsa = first[LabCertificate.Purpose.SERVER_RSA].certificate()
    ecdsa = first[LabCertificate.Purpose.SERVER_ECDSA].certificate()
    assert pki.describe(rsa)["key"] == "RSA 2048"
    assert pki.describe(ecdsa)["key"] == "EC secp256r1"
    root = first[LabCertificate.Purpose.ROOT].certificate()
    assert rsa.issuer == ecdsa.issuer == root.subject


def test_server_certificates_follow_the_configured_host_names(db: None) -> None:
    before = security.ensure_lab_pki(["portal.lab.example"])
    after = security.ensure_lab_pki(["other.lab.example"])
    assert before[LabCertificate.Purpose.ROOT] == after[LabCertificate.Purpose.ROOT]
    for purpose in (LabCertificate.Purpose.SERVER_RSA, LabCertificate.Purpose.SERVER_ECDSA):
        names = (
            after[purpose]
            .certificate()
            .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        )
        assert names.value.get_values_for_type(x509.DNSName) == ["other.lab.example"]


@pytest.mark.parametrize("profile", [2, 3])
def test_profiles_2_and_3_are_refused_over_plain_ws(lab_root: pki.Issued, profile: int) -> None:
    cp = charge_point(f"PLAIN-{profile}", profile)
    reason = security.transport_refusal(cp, None)
    assert reason == (
        f"security profile {profile} requires TLS (wss://); the charger connected over ws://"
    )


def test_profile_2_behind_a_trusted_proxy_counts_its_forwarded_https(
    lab_root: pki.Issued,
) -> None:
    """The scope's scheme is "wss" on the plain port only when a trusted proxy said https
    (config.proxy; tests/deploy/test_proxy_headers.py shows it on a live worker)."""
    cp = charge_point("PROXIED", 2)
    assert security.transport_refusal(cp, None, "ws") is not None
    assert security.transport_refusal(cp, None, "wss") is None
    # A proxy never passes the client certificate: profile 3 still needs the portal's TLS.
    security.set_security_profile(cp, 3)
    assert security.transport_refusal(cp, None, "wss") is not None


def test_profile_3_accepts_a_lab_certificate_naming_the_charge_point(lab_root: pki.Issued) -> None:
    cp = charge_point("SP3-OK", 3)
    assert security.transport_refusal(cp, tls_with(pki.issue_client(lab_root, "SP3-OK"))) is None


def test_profile_3_accepts_a_manufacturer_ca_only_for_its_model(
    lab_root: pki.Issued, c8eu: ChargerModel, rival_model: ChargerModel
) -> None:
    maker = pki.create_root("Xcharge Manufacturing CA", "Xcharge")
    security.add_manufacturer_ca(c8eu, maker.certificate_pem)
    ours = charge_point("MAKER-1", 3, charger_model=c8eu)
    theirs = charge_point("MAKER-2", 3, charger_model=rival_model)
    assert security.transport_refusal(ours, tls_with(pki.issue_client(maker, "MAKER-1"))) is None
    refused = security.transport_refusal(theirs, tls_with(pki.issue_client(maker, "MAKER-2")))
    assert refused is not None and "unknown CA" in refused


def test_a_leaf_is_not_accepted_as_a_manufacturer_ca(
    lab_root: pki.Issued, c8eu: ChargerModel
) -> None:
    leaf = pki.issue_client(lab_root, "NOT-A-CA")
    with pytest.raises(ValueError, match="not a CA"):
        security.add_manufacturer_ca(c8eu, leaf.certificate_pem)


def test_profile_3_refusals_name_their_reason(lab_root: pki.Issued, settings: Any) -> None:
    cp = charge_point("SP3-NO", 3)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    cases = {
        "missing client certificate": None,
        "unknown CA": pki.issue_client(pki.create_root("Elsewhere"), "SP3-NO"),
        "expired certificate": pki.issue_client(lab_root, "SP3-NO", valid_until=past),
        "subject mismatch: CN='SP3-OTHER'": pki.issue_client(lab_root, "SP3-OTHER"),
    }
    for reason, certificate in cases.items():
        refused = security.transport_refusal(cp, tls_with(certificate))
        assert refused is not None and reason in refused, (reason, refused)
    settings.OCPP_CPO_NAME = "Lab CPO"
    wrong_o = pki.issue_client(lab_root, "SP3-NO", "Other CPO")
    refused = security.transport_refusal(cp, tls_with(wrong_o))
    assert refused is not None and "O='Other CPO'" in refused
    assert (
        security.transport_refusal(cp, tls_with(pki.issue_client(lab_root, "SP3-NO", "Lab CPO")))
        is None
    )


def test_profile_3_authenticates_without_basic_and_profile_2_still_needs_the_key(
    lab_root: pki.Issued,
) -> None:
    charge_point("AUTH-3", 3)
    charge_point("AUTH-2", 2)
    certificate = pki.issue_client(lab_root, "AUTH-3")
    three = services.authenticate_charge_point("AUTH-3", None, tls=tls_with(certificate))
    assert three.refused is None
    two = services.authenticate_charge_point("AUTH-2", None, tls=tls_with(None))
    assert two.refused == "no HTTP Basic credentials (security profile 2)"


def test_profile_1_and_2_need_a_key_but_3_does_not(db: None) -> None:
    cp, _ = services.create_charge_point("NOKEY", no_auth=True)
    security.set_security_profile(cp, 3)
    with pytest.raises(ValidationError):
        security.set_security_profile(cp, 2)


def test_csr_is_signed_only_for_its_own_charge_point(lab_root: pki.Issued) -> None:
    pem_key = pki.key_pem(pki.new_key("ecdsa"))
    chain = pki.sign_csr(pki.make_csr(pem_key, "CSR-1"), lab_root, "CSR-1")
    leaf = pki.load_certificate(chain)
    assert pki.common_name(leaf.subject) == "CSR-1"
    assert pki.verify_chain(leaf, [], [lab_root.certificate()]) is None
    with pytest.raises(pki.CsrRefused, match="is not the chargePointId"):
        pki.sign_csr(pki.make_csr(pem_key, "SOMEONE"), lab_root, "CSR-1")
    with pytest.raises(pki.CsrRefused, match="not a PEM"):
        pki.sign_csr("garbage", lab_root, "CSR-1")


def test_firmware_signatures_verify_only_for_the_signed_image(db: None) -> None:
    signer = security.ensure_lab_pki()[LabCertificate.Purpose.FIRMWARE_SIGNING]
    signature = pki.sign_firmware(b"image bytes", signer)
    assert pki.verify_firmware(b"image bytes", signature, signer.certificate_pem)
    assert not pki.verify_firmware(b"image bytes, tampered", signature, signer.certificate_pem)
    assert not pki.verify_firmware(b"image bytes", "not base64!", signer.certificate_pem)


@pytest.mark.parametrize(
    ("openssl_reason", "fault", "recorded"),
    [
        ("unsupported protocol", None, "TLS below 1.2 refused"),
        ("tlsv1 alert unknown ca", "unknown-ca", "refused the TLS handshake (unknown CA"),
        ("sslv3 alert certificate expired", "expired", "(certificate expired"),
        ("sslv3 alert bad certificate", "wrong-host", "(bad certificate"),
        ("unsupported protocol", "old-tls", "the charger refused TLS 1.0/1.1"),
        ("http request", None, "not a TLS client"),
    ],
)
def test_a_failed_handshake_is_recorded_in_words(
    openssl_reason: str, fault: str | None, recorded: str
) -> None:
    error = SSL.Error([("SSL routines", "", openssl_reason)])
    assert recorded in refusal_reason(error, fault)
    if fault:
        assert refusal_reason(error, fault).startswith(f"server certificate fault {fault!r}")
