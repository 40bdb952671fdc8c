"""The lab's public-key infrastructure, as pure functions over the ``cryptography`` package.

What the OCPP 1.6 security whitepaper (edition 3) asks of a central system, and what its
test cases (TC_073..TC_088) need the portal to play:

- a root CA the lab installs on chargers (section 3.1: the charger pins the central
  system's root); server certificates under it, one RSA and one ECDSA, so that the four
  cipher suites of section 4.1.2 can all be negotiated (RSA >= 2048 bits, EC >= 224 bits,
  section 4.1.3);
- client certificates of security profile 3 checked against that root or a manufacturer
  CA (section 4.1.3: the charger's certificate chains to the operator's CA, O = CpoName,
  CN = the charge point's serial number, which this portal takes as the chargePointId);
- CSRs of SignCertificate signed by the CA (section 4.1.7, TC_074);
- firmware images signed with a firmware-signing certificate (section 5, TC_080/081);
- certificates that are wrong on purpose: from an unknown CA, expired, for another host
  name (TC_078, the invalid central-system certificate cases).

Nothing here touches the database: chargers.services stores what these functions make.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import crypto

# Validity of what the lab issues.
ROOT_DAYS = 3650
LEAF_DAYS = 825


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, both PEM text."""

    certificate_pem: str
    private_key_pem: str

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())

    def private_key(self) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return key


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def key_pem(key: PrivateKeyTypes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def new_key(kind: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """``rsa`` (2048 bits) or ``ecdsa`` (P-256): the whitepaper's minimum sizes and up."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key kind {kind!r}")


def _name(common_name: str, organization: str = "") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def create_root(common_name: str, organization: str = "", *, days: int = ROOT_DAYS) -> Issued:
    """A self-signed root CA (ECDSA P-256; it signs both RSA and ECDSA leaves)."""
    key = new_key("ecdsa")
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(_name(common_name, organization))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(pem(certificate), key_pem(key))


def _leaf_builder(
    subject: x509.Name,
    public_key: Any,
    issuer: Issued,
    *,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> x509.CertificateBuilder:
    issuer_certificate = issuer.certificate()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    )


def _alt_names(host_names: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in host_names:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue_server(
    issuer: Issued,
    host_names: list[str],
    kind: str,
    *,
    valid_from: datetime.datetime | None = None,
    valid_until: datetime.datetime | None = None,
) -> Issued:
    """A TLS server certificate for ``host_names`` (DNS names or IP addresses), RSA or
    ECDSA; ``valid_until`` in the past makes the expired certificate of TC_078."""
    key = new_key(kind)
    now = _now()
    builder = _leaf_builder(
        _name(host_names[0]),
        key.public_key(),
        issuer,
        not_before=valid_from or now - datetime.timedelta(minutes=5),
        not_after=valid_until or now + datetime.timedelta(days=LEAF_DAYS),
    )
    certificate = (
        builder.add_extension(_alt_names(host_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(issuer.private_key(), hashes.SHA256())
    )
    return Issued(pem(certificate), key_pem(key))


def issue_client(
    issuer: Issued,
    common_name: str,
    organization: str = "",
    *,
    kind: str = "ecdsa",
    valid_until: datetime.datetime | None = None,
) -> Issued:
    """A charge point certificate as security profile 3 expects it: CN = the charge
    point's identity, O = the CPO's name (whitepaper 4.1.3). For tests and the simulator."""
    key = new_key(kind)
    now = _now()
    certificate = (
        _leaf_builder(
            _name(common_name, organization),
            key.public_key(),
            issuer,
            not_before=min(now, valid_until or now) - datetime.timedelta(days=30),
            not_after=valid_until or now + datetime.timedelta(days=LEAF_DAYS),
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer.private_key(), hashes.SHA256())
    )
    return Issued(pem(certificate), key_pem(key))


def issue_firmware_signing(issuer: Issued, common_name: str) -> Issued:
    """The certificate SignedUpdateFirmware names as ``signingCertificate`` (section 5)."""
    key = new_key("ecdsa")
    now = _now()
    certificate = (
        _leaf_builder(
            _name(common_name),
            key.public_key(),
            issuer,
            not_before=now - datetime.timedelta(minutes=5),
            not_after=now + datetime.timedelta(days=LEAF_DAYS),
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(issuer.private_key(), hashes.SHA256())
    )
    return Issued(pem(certificate), key_pem(key))


# --- Reading certificates ----------------------------------------------------------------


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """Raises ValueError for text that is not one PEM certificate."""
    data = pem.encode() if isinstance(pem, str) else pem
    return x509.load_pem_x509_certificate(data)


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 over the DER encoding, lower-case hex."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def describe(certificate: x509.Certificate) -> dict[str, Any]:
    """What connection evidence keeps of a certificate: subject and issuer (RFC 4514),
    serial (hex), validity (ISO 8601, UTC), SHA-256 fingerprint, key type and size."""
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type = f"RSA {key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type = f"EC {key.curve.name}"
    else:
        key_type = type(key).__name__
    return {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "serial": format(certificate.serial_number, "x"),
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "sha256": fingerprint(certificate),
        "key": key_type,
    }


# --- Checking a charger's certificate ----------------------------------------------------


def verify_chain(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: list[x509.Certificate],
    *,
    at: datetime.datetime | None = None,
) -> str | None:
    """None when ``leaf`` chains to one of ``roots`` and every certificate is valid at
    ``at``; otherwise the reason, in the words a refusal records: ``expired certificate``,
    ``certificate not yet valid``, ``unknown CA``, or OpenSSL's own words for the rest.

    OpenSSL's verifier (the one TLS itself uses), not a Web-PKI policy: chargers'
    certificates often lack the extensions a browser would insist on."""
    at = at or _now()
    if leaf.not_valid_after_utc < at:
        return f"expired certificate (not after {leaf.not_valid_after_utc.isoformat()})"
    if leaf.not_valid_before_utc > at:
        return f"certificate not yet valid (not before {leaf.not_valid_before_utc.isoformat()})"
    store = crypto.X509Store()
    for root in roots:
        store.add_cert(crypto.X509.from_cryptography(root))
    store.set_time(at.replace(tzinfo=None))
    context = crypto.X509StoreContext(
        store,
        crypto.X509.from_cryptography(leaf),
        [crypto.X509.from_cryptography(c) for c in intermediates],
    )
    try:
        context.verify_certificate()
    except crypto.X509StoreContextError as error:
        code = error.errors[0] if error.errors else None
        if code in UNKNOWN_ISSUER_ERRORS:
            return f"unknown CA ({error.errors[2] if len(error.errors) > 2 else code})"
        if code == X509_V_ERR_CERT_HAS_EXPIRED:
            return "expired certificate in the chain"
        return f"certificate rejected: {error.errors[2] if len(error.errors) > 2 else error}"
    return None


# OpenSSL's X509_V_ERR_* codes (x509_vfy.h) for "no trusted issuer found".
UNKNOWN_ISSUER_ERRORS = frozenset({2, 18, 19, 20, 21})
X509_V_ERR_CERT_HAS_EXPIRED = 10


def subject_mismatch(
    certificate: x509.Certificate, charge_point_id: str, organization: str = ""
) -> str | None:
    """None when the subject names this charge point (CN = chargePointId) and, if the lab
    set a CpoName, O = CpoName (whitepaper 4.1.3); otherwise the reason."""
    cn = common_name(certificate.subject)
    if cn != charge_point_id:
        return f"subject mismatch: CN={cn!r}, expected the chargePointId {charge_point_id!r}"
    if organization:
        values = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        o = str(values[0].value) if values else ""
        if o != organization:
            return f"subject mismatch: O={o!r}, expected the CpoName {organization!r}"
    return None


# --- Signing a charger's CSR (SignCertificate) -------------------------------------------


class CsrRefused(ValueError):
    """A CSR the lab CA will not sign; the message says why."""


def sign_csr(
    csr_pem: str,
    issuer: Issued,
    charge_point_id: str,
    organization: str = "",
    *,
    days: int = LEAF_DAYS,
) -> str:
    """Sign a charge point's CSR (SignCertificate.req.csr, PEM) as the lab CA, after
    checking its signature and its subject (CN = chargePointId, O = CpoName when set).
    Returns the certificate chain for CertificateSigned (leaf, then the root), PEM.

    Raises CsrRefused when the CSR is unreadable, its signature is wrong, or its subject
    does not name this charge point (TC_077's invalid charge point certificate)."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as error:
        raise CsrRefused(f"not a PEM certificate signing request: {error}") from None
    if not csr.is_signature_valid:
        raise CsrRefused("the CSR's signature does not match its public key")
    cn = common_name(csr.subject)
    if cn != charge_point_id:
        raise CsrRefused(f"CSR subject CN={cn!r} is not the chargePointId {charge_point_id!r}")
    if organization:
        values = csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        o = str(values[0].value) if values else ""
        if o != organization:
            raise CsrRefused(f"CSR subject O={o!r} is not the CpoName {organization!r}")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise CsrRefused(f"RSA key of {key.key_size} bits; at least 2048 required")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 224:
        raise CsrRefused(f"EC key of {key.curve.key_size} bits; at least 224 required")
    now = _now()
    certificate = (
        _leaf_builder(
            csr.subject,
            key,
            issuer,
            not_before=now - datetime.timedelta(minutes=5),
            not_after=now + datetime.timedelta(days=days),
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer.private_key(), hashes.SHA256())
    )
    return pem(certificate) + issuer.certificate_pem


def make_csr(key_pem: str, charge_point_id: str, organization: str = "") -> str:
    """A CSR as a charger makes it for SignCertificate (the simulator's side)."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(charge_point_id, organization))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


# --- Signed firmware (SignedUpdateFirmware) ----------------------------------------------


def sign_firmware(image: bytes, signer: Issued) -> str:
    """The base64 signature SignedUpdateFirmware carries: ECDSA with SHA-256 over the
    image (whitepaper 5.2), DER-encoded, base64."""
    import base64

    key = signer.private_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(image, ec.ECDSA(hashes.SHA256()))
    else:
        signature = key.sign(image, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify_firmware(image: bytes, signature_b64: str, signing_certificate_pem: str) -> bool:
    """Whether ``signature_b64`` is the signing certificate's signature over ``image``."""
    import base64
    import binascii

    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key = load_certificate(signing_certificate_pem).public_key()
    except (ValueError, binascii.Error):
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, image, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, image, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def certificate_hash_data(
    certificate: x509.Certificate, issuer: x509.Certificate
) -> dict[str, str]:
    """CertificateHashDataType of GetInstalledCertificateIds / DeleteCertificate (SHA256):
    hashes of the issuer's DN (DER) and of the issuer's public key, and the serial, hex."""
    issuer_key = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": hashlib.sha256(certificate.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": hashlib.sha256(issuer_key).hexdigest(),
        "serialNumber": format(certificate.serial_number, "x"),
    }
