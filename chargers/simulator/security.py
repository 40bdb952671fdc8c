"""The simulated charger's side of the OCPP 1.6 security whitepaper (edition 3).

Security profiles 2 and 3 are in the station's TLS context (``tls_context``): the lab root
it pins (``ChargerConfig.ca_certificates``) and its client certificate; a handshake it
refuses becomes a SecurityEventNotification (InvalidCentralSystemCertificate,
InvalidTLSVersion) sent once it is connected again. The messages of the extension are
answered here: ExtendedTriggerMessage (SignChargePointCertificate leads to SignCertificate
with a CSR), CertificateSigned (checked against the pinned root and the chargePointId),
InstallCertificate, GetInstalledCertificateIds, DeleteCertificate, GetLog (an upload with
LogStatusNotification) and SignedUpdateFirmware (the signature checked before installing).

Deviations on request (misbehaviours): ``accept-invalid-server-certificate``,
``no-security-event``, ``install-bad-signature``.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
import tempfile
from typing import TYPE_CHECKING, Any

from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargers import pki
from chargers.simulator import transfers

logger = logging.getLogger(__name__)


def tls_context(
    ca_file: str | None,
    ca_certificates: str | None,
    client_certificate: str | None,
    *,
    accept_invalid: bool,
) -> ssl.SSLContext:
    """The TLS side of a wss:// connection: TLS 1.2 or newer (whitepaper 4.1.1), the pinned
    root(s) (a file, PEM text, or else the system's), and the client certificate (PEM
    certificate + key) of security profile 3. ``accept_invalid`` is the deviation TC_078
    catches."""
    context = ssl.create_default_context(cafile=ca_file, cadata=ca_certificates or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if accept_invalid:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_certificate:
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
            pem.write(client_certificate)
            pem.flush()
            context.load_cert_chain(pem.name)
    return context


def security_event_for(error: BaseException) -> tuple[str, str] | None:
    """The security event a refused TLS handshake is reported as, with its techInfo."""
    text = str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        return "InvalidCentralSystemCertificate", text[:255]
    if isinstance(error, ssl.SSLError) and (
        "protocol version" in text or "unsupported protocol" in text or "no protocols" in text
    ):
        return "InvalidTLSVersion", text[:255]
    return None


class SecurityExtension:
    """Mixed into SimulatedCharger: the handlers of the security extension's messages."""

    id: str
    config: Any
    misbehaviours: frozenset[str]
    _accepted_calls: set[str]

    if TYPE_CHECKING:  # provided by the station it is mixed into

        def _spawn(self, coroutine: Any) -> asyncio.Task[Any]: ...

        async def request(self, payload: Any, *, skip_schema_validation: bool = False) -> Any: ...

    def _security_state(self) -> dict[str, Any]:
        state = getattr(self, "_security", None)
        if state is None:
            state = {"events": [], "installed": [], "key": None}
            self._security = state
        return state

    # --- security events ------------------------------------------------------------

    def note_security_event(self, kind: str, tech_info: str = "") -> None:
        """Remember an event to report once connected (after a refused handshake)."""
        self._security_state()["events"].append((kind, tech_info, _now()))

    async def report_security_events(self) -> None:
        """Send the events noted while offline (none with ``no-security-event``)."""
        events = self._security_state()["events"]
        while events:
            kind, tech_info, at = events.pop(0)
            if "no-security-event" in self.misbehaviours:
                continue
            await self.request(
                call.SecurityEventNotification(type=kind, timestamp=at, tech_info=tech_info or None)
            )

    # --- certificates ---------------------------------------------------------------

    @on(Action.extended_trigger_message)
    def on_extended_trigger_message(
        self, requested_message: str, call_unique_id: str, **_: Any
    ) -> call_result.ExtendedTriggerMessage:
        if requested_message not in {"SignChargePointCertificate", "Heartbeat"}:
            return call_result.ExtendedTriggerMessage(status="NotImplemented")
        self._accepted_calls.add(call_unique_id)
        return call_result.ExtendedTriggerMessage(status="Accepted")

    @after(Action.extended_trigger_message)
    def after_extended_trigger_message(
        self, requested_message: str, call_unique_id: str, **_: Any
    ) -> None:
        if call_unique_id not in self._accepted_calls:
            return
        self._accepted_calls.discard(call_unique_id)
        if requested_message == "Heartbeat":
            self._spawn(self.request(call.Heartbeat()))
        else:
            self._spawn(self.renew_certificate())

    async def renew_certificate(self) -> None:
        """SignCertificate with a CSR for a new key (CN = chargePointId, O = CpoName)."""
        key = pki.key_pem(pki.new_key("ecdsa"))
        self._security_state()["key"] = key
        csr = pki.make_csr(key, self.id, self.config.cpo_name)
        await self.request(call.SignCertificate(csr=csr))

    @on(Action.certificate_signed)
    def on_certificate_signed(
        self, certificate_chain: str, **_: Any
    ) -> call_result.CertificateSigned:
        """Whitepaper 4.1.7: the chain must be valid, chain to the pinned root and name
        this charge point; otherwise Rejected and InvalidChargePointCertificate."""
        problem = self._check_signed(certificate_chain)
        key = self._security_state()["key"]
        if problem is None and key is not None:
            # The new certificate is used from the next connection on.
            self.config.client_certificate = certificate_chain + key
            return call_result.CertificateSigned(status="Accepted")
        self.note_security_event("InvalidChargePointCertificate", problem or "no pending CSR")
        self._spawn(self.report_security_events())
        return call_result.CertificateSigned(status="Rejected")

    def _check_signed(self, chain_pem: str) -> str | None:
        try:
            certificates = _split_chain(chain_pem)
        except ValueError as error:
            return f"unreadable certificate chain: {error}"
        if not certificates:
            return "empty certificate chain"
        leaf, *rest = certificates
        roots = _split_chain(self.config.ca_certificates or "")
        if not roots:
            return "no pinned root to check against"
        return pki.verify_chain(leaf, rest, roots) or pki.subject_mismatch(leaf, self.id)

    @on(Action.install_certificate)
    def on_install_certificate(
        self, certificate_type: str, certificate: str, **_: Any
    ) -> call_result.InstallCertificate:
        try:
            pki.load_certificate(certificate)
        except ValueError:
            return call_result.InstallCertificate(status="Rejected")
        self._security_state()["installed"].append((certificate_type, certificate))
        return call_result.InstallCertificate(status="Accepted")

    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(
        self, certificate_type: str, **_: Any
    ) -> call_result.GetInstalledCertificateIds:
        hashes = [_hash_data(pem) for kind, pem in self._installed() if kind == certificate_type]
        if not hashes:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data=hashes
        )

    @on(Action.delete_certificate)
    def on_delete_certificate(
        self, certificate_hash_data: dict[str, Any], **_: Any
    ) -> call_result.DeleteCertificate:
        wanted = {k: certificate_hash_data.get(k) for k in ("issuer_name_hash", "serial_number")}
        installed = self._security_state()["installed"]
        for entry in list(installed):
            data = _hash_data(entry[1])
            if data["issuer_name_hash"] == wanted["issuer_name_hash"] and (
                data["serial_number"] == wanted["serial_number"]
            ):
                installed.remove(entry)
                return call_result.DeleteCertificate(status="Accepted")
        return call_result.DeleteCertificate(status="NotFound")

    def _installed(self) -> list[tuple[str, str]]:
        pinned = [
            ("CentralSystemRootCertificate", pki.pem(c))
            for c in _split_chain(self.config.ca_certificates or "")
        ]
        return pinned + list(self._security_state()["installed"])

    # --- the security log -------------------------------------------------------------

    @on(Action.get_log)
    def on_get_log(
        self, log_type: str, request_id: int, call_unique_id: str, **_: Any
    ) -> call_result.GetLog:
        self._accepted_calls.add(call_unique_id)
        return call_result.GetLog(status="Accepted", filename=self._log_name(log_type))

    def _log_name(self, log_type: str) -> str:
        return f"{log_type}-{self.id}.log"

    @after(Action.get_log)
    def after_get_log(
        self, log_type: str, request_id: int, log: dict[str, Any], call_unique_id: str, **_: Any
    ) -> None:
        if call_unique_id in self._accepted_calls:
            self._accepted_calls.discard(call_unique_id)
            self._spawn(self._upload_log(log_type, request_id, log["remote_location"]))

    async def _upload_log(self, log_type: str, request_id: int, location: str) -> None:
        await self.request(call.LogStatusNotification(status="Uploading", request_id=request_id))
        content = f"{log_type} of {self.id}, {_now()}\n".encode()
        try:
            await asyncio.to_thread(
                transfers.upload_diagnostics,
                location,
                self._log_name(log_type),
                content,
                self.config.transfer_timeout,
            )
        except transfers.TransferFailed as error:
            logger.warning("%s: %s", self.id, error)
            status = "UploadFailure"
        else:
            status = "Uploaded"
        await self.request(call.LogStatusNotification(status=status, request_id=request_id))

    # --- signed firmware ------------------------------------------------------------

    @on(Action.signed_update_firmware)
    def on_signed_update_firmware(
        self, request_id: int, firmware: dict[str, Any], call_unique_id: str, **_: Any
    ) -> call_result.SignedUpdateFirmware:
        try:
            pki.load_certificate(firmware["signing_certificate"])
        except ValueError:
            return call_result.SignedUpdateFirmware(status="InvalidCertificate")
        self._accepted_calls.add(call_unique_id)
        return call_result.SignedUpdateFirmware(status="Accepted")

    @after(Action.signed_update_firmware)
    def after_signed_update_firmware(
        self, request_id: int, firmware: dict[str, Any], call_unique_id: str, **_: Any
    ) -> None:
        if call_unique_id in self._accepted_calls:
            self._accepted_calls.discard(call_unique_id)
            self._spawn(self._signed_update(request_id, firmware))

    async def _signed_update(self, request_id: int, firmware: dict[str, Any]) -> None:
        """Downloading -> Downloaded -> SignatureVerified -> Installing -> Installed, or
        InvalidSignature (whitepaper 5.3; TC_080, TC_081)."""

        async def status(value: str) -> None:
            await self.request(
                call.SignedFirmwareStatusNotification(status=value, request_id=request_id)
            )

        await status("Downloading")
        try:
            image = await asyncio.to_thread(
                transfers.fetch_firmware, firmware["location"], self.config.transfer_timeout
            )
        except transfers.TransferFailed as error:
            logger.warning("%s: %s", self.id, error)
            await status("DownloadFailed")
            return
        await status("Downloaded")
        valid = pki.verify_firmware(
            image.content, firmware["signature"], firmware["signing_certificate"]
        )
        if not valid and "install-bad-signature" not in self.misbehaviours:
            await status("InvalidSignature")
            self.note_security_event("InvalidFirmwareSignature", "signature does not match")
            await self.report_security_events()
            return
        if valid:
            await status("SignatureVerified")
        await status("Installing")
        await status("Installed")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _split_chain(text: str) -> list[Any]:
    marker = "-----END CERTIFICATE-----"
    parts = [p + marker for p in text.split(marker) if "-----BEGIN CERTIFICATE-----" in p]
    return [pki.load_certificate(p.strip()) for p in parts]


def _hash_data(pem: str) -> dict[str, str]:
    certificate = pki.load_certificate(pem)
    # A root is its own issuer; the simulator holds roots only.
    data = pki.certificate_hash_data(certificate, certificate)
    return {
        "hash_algorithm": data["hashAlgorithm"],
        "issuer_name_hash": data["issuerNameHash"],
        "issuer_key_hash": data["issuerKeyHash"],
        "serial_number": data["serialNumber"],
    }
