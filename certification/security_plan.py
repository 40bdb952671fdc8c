"""The "OCPP 1.6 Security" plan: the security whitepaper's (edition 3) charge point test
cases TC_073..TC_088 as steps, run against the portal's own TLS port (``PORTAL_TLS_PORT``)
with its lab CA. Data only, like default_plan.py; installed by
certification.services.install_security_plan.

The portal follows an accepted ChangeConfiguration of SecurityProfile or AuthorizationKey
itself (chargers.security.follow_accepted): the next connection is judged against the new
setting. Server-side certificate faults are armed on the charge point (its page or
``POST /api/charge-points/{id}/tls-fault/``) before the charger reconnects.
"""

from __future__ import annotations

from typing import Any

from certification.default_plan import PAST, cmd

PLAN_NAME = "OCPP 1.6 Security"
PLAN_DESCRIPTION = (
    "Security profiles 2 and 3, certificate management, security events, the security log "
    "and signed firmware: the OCPP 1.6 security whitepaper (edition 3) and the OCA "
    "compliance tool's test cases TC_073..TC_088, over the portal's own TLS port."
)
PRECONDITIONS = (
    "The charge station runs the security extension, trusts the lab root (Charge points → "
    "lab root CA) and is connected and Accepted; no transaction running."
)


def configure(key: str, value: str) -> dict[str, Any]:
    return cmd(f"{key} = {value}", "ChangeConfiguration", {"key": key, "value": value})


STEPS: list[dict[str, Any]] = [
    {
        "profile": "Security",
        "title": "Security profile 2: TLS with Basic authentication",
        "description": "From profile 1 to 2: the charger reconnects over wss:// with TLS 1.2 "
        "or newer and a whitepaper cipher suite, and Basic credentials. [TC_083, TC_085, "
        "TC_086]",
        "manual_actions": "Send SecurityProfile = 2 (the portal then demands profile 2), "
        "then Reset; the charger reconnects to wss://HOST:PORTAL_TLS_PORT/ocpp/<id>.",
        "expected_sequence": "ChangeConfiguration(SecurityProfile, 2) → Accepted → Reset → "
        "a TLS connection (TLS ≥ 1.2) with HTTP Basic → BootNotification.",
        "commands": [configure("SecurityProfile", "2"), cmd("Reset", "Reset", {"type": "Hard"})],
        "judge_rule": "tls_connection",
        "judge_params": {"profile": 2},
    },
    {
        "profile": "Security",
        "title": "AuthorizationKey update",
        "description": "A new AuthorizationKey is accepted and used at the next connection. "
        "[TC_073]",
        "manual_actions": "Send the new key, then Reset (or wait for the reconnect).",
        "expected_sequence": "ChangeConfiguration(AuthorizationKey) → Accepted → the charger "
        "reconnects with the new key (no 'wrong AuthorizationKey' refusal).",
        "commands": [
            configure("AuthorizationKey", "0123456789abcdef0123"),
            cmd("Reset", "Reset", {"type": "Soft"}),
        ],
        "judge_rule": "authorization_key_change",
    },
    {
        "profile": "Security",
        "title": "Certificate renewal through SignCertificate",
        "description": "The charger requests a certificate; the lab CA signs its CSR. [TC_074]",
        "expected_sequence": "ExtendedTriggerMessage(SignChargePointCertificate) → Accepted → "
        "SignCertificate(csr) → Accepted → CertificateSigned(chain) → Accepted.",
        "commands": [
            cmd(
                "Trigger SignCertificate",
                "ExtendedTriggerMessage",
                {"requestedMessage": "SignChargePointCertificate"},
            )
        ],
        "judge_rule": "certificate_renewal",
    },
    {
        "profile": "Security",
        "title": "Security profile 3: TLS with a client certificate",
        "description": "From profile 2 to 3: the charger presents its certificate, chaining "
        "to the lab CA, CN = chargePointId. [TC_083, TC_087]",
        "expected_sequence": "ChangeConfiguration(SecurityProfile, 3) → Accepted → Reset → a "
        "TLS connection with the client certificate → BootNotification.",
        "commands": [configure("SecurityProfile", "3"), cmd("Reset", "Reset", {"type": "Hard"})],
        "judge_rule": "tls_connection",
        "judge_params": {"profile": 3},
    },
    {
        "profile": "Security",
        "title": "Security profile downgrade refused",
        "description": "A lower security profile is Rejected. [TC_084]",
        "expected_sequence": "ChangeConfiguration(SecurityProfile, 1) → Rejected.",
        "commands": [configure("SecurityProfile", "1")],
        "judge_rule": "security_profile_downgrade",
        "judge_params": {"current_profile": 3},
    },
    {
        "profile": "Security",
        "title": "Install and list a central system root certificate",
        "description": "[TC_075, TC_076] Judged by the engineer from the answers.",
        "expected_sequence": "InstallCertificate(CentralSystemRootCertificate) → Accepted → "
        "GetInstalledCertificateIds → Accepted with its hash data.",
        "commands": [
            cmd(
                "Install the lab root",
                "InstallCertificate",
                {"certificateType": "CentralSystemRootCertificate", "certificate": "{lab:root}"},
            ),
            cmd(
                "List roots",
                "GetInstalledCertificateIds",
                {"certificateType": "CentralSystemRootCertificate"},
            ),
        ],
        "mandatory": False,
    },
    {
        "profile": "Security",
        "title": "Invalid charge point certificate",
        "description": "A certificate that is not valid is refused and reported. [TC_077]",
        "expected_sequence": "CertificateSigned(invalid chain) → Rejected → "
        "SecurityEventNotification InvalidChargePointCertificate.",
        "commands": [
            cmd(
                "Trigger SignCertificate",
                "ExtendedTriggerMessage",
                {"requestedMessage": "SignChargePointCertificate"},
            ),
            cmd(
                "Send an invalid certificate",
                "CertificateSigned",
                {
                    "certificateChain": "-----BEGIN CERTIFICATE-----\nnot a certificate\n"
                    "-----END CERTIFICATE-----"
                },
            ),
        ],
        "judge_rule": "certificate_renewal",
        "judge_params": {"expect_rejected": True},
    },
    {
        "profile": "Security",
        "title": "Invalid central system certificate",
        "description": "The charger refuses an invalid server certificate and reports it. [TC_078]",
        "manual_actions": "Arm a TLS fault on the charge point (unknown CA, expired, another "
        "host name, TLS 1.0/1.1 only), then Reset: the next handshake gets it.",
        "expected_sequence": "TLS handshake refused by the charger, nothing sent over it → a "
        "proper connection → SecurityEventNotification InvalidCentralSystemCertificate.",
        "commands": [cmd("Reset", "Reset", {"type": "Soft"})],
        "judge_rule": "invalid_server_certificate",
    },
    {
        "profile": "Security",
        "title": "Security log upload",
        "description": "GetLog SecurityLog uploads through the run's transfer location. [TC_079]",
        "expected_sequence": "GetLog(SecurityLog) → Accepted → LogStatusNotification "
        "Uploading → Uploaded (same requestId); the file arrives.",
        "commands": [
            cmd(
                "GetLog SecurityLog",
                "GetLog",
                {
                    "logType": "SecurityLog",
                    "requestId": 1,
                    "log": {"remoteLocation": "{diagnostics:ftp}"},
                },
            )
        ],
        "judge_rule": "security_log",
    },
    {
        "profile": "Security",
        "title": "Signed firmware update",
        "description": "An image signed by the lab's firmware-signing certificate installs. "
        "[TC_080]",
        "expected_sequence": "SignedUpdateFirmware → Accepted → SignedFirmwareStatusNotification "
        "Downloading → Downloaded → SignatureVerified → Installing → Installed.",
        "commands": [
            cmd(
                "Signed update",
                "SignedUpdateFirmware",
                {
                    "requestId": 1,
                    "firmware": {
                        "location": "{firmware:valid}",
                        "retrieveDateTime": PAST,
                        "signingCertificate": "{firmware:signing-certificate}",
                        "signature": "{firmware:signature}",
                    },
                },
            )
        ],
        "judge_rule": "signed_firmware",
    },
    {
        "profile": "Security",
        "title": "Signed firmware update, invalid signature",
        "description": "An image whose signature does not verify is not installed. [TC_081]",
        "expected_sequence": "SignedUpdateFirmware → Accepted → Downloading → Downloaded → "
        "InvalidSignature, no Installing; SecurityEventNotification InvalidFirmwareSignature.",
        "commands": [
            cmd(
                "Badly signed update",
                "SignedUpdateFirmware",
                {
                    "requestId": 2,
                    "firmware": {
                        "location": "{firmware:valid}",
                        "retrieveDateTime": PAST,
                        "signingCertificate": "{firmware:signing-certificate}",
                        "signature": "{firmware:bad-signature}",
                    },
                },
            )
        ],
        "judge_rule": "signed_firmware",
        "judge_params": {"invalid_signature": True},
    },
]
