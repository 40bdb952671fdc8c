"""The deviations the simulator can be told to commit, one line each.

They reproduce what real chargers did during certification (the seed report's remarks) and a
few protocol slips, so that the portal's judge can be shown to notice each of them.
"""

from __future__ import annotations

MISBEHAVIOURS: dict[str, str] = {
    "download-failed-instead-of-installation-failed": (
        "a corrupt firmware image is reported as DownloadFailed, not InstallationFailed"
    ),
    "preparing-after-reset": (
        "after a reboot with the cable still in, the connector reports Preparing, not Finishing"
    ),
    "no-unavailable-during-reset": "no StatusNotification Unavailable while resetting",
    "double-reboot": "a hard reset reboots twice (two BootNotifications)",
    "connection-timeout-floor-60": "a ConnectionTimeOut below 60 s behaves as 60 s",
    "battery-datatransfer": "frequent vendor DataTransfer messages with a battery status",
    "no-metervalues-trigger-when-idle": (
        "TriggerMessage MeterValues is Rejected when no transaction is running"
    ),
    "skip-heartbeat": "never sends a Heartbeat",
    "schema-violation": "after booting, sends one StatusNotification whose status is not in 1.6",
    "unknown-action": "after booting, sends a CALL of an action OCPP 1.6 does not have",
    "boot-retry-too-soon": "after a Pending/Rejected boot, retries after a tenth of the interval",
    "meter-values-out-of-order": "MeterValues queued while offline are delivered newest first",
    "accept-invalid-server-certificate": (
        "over wss://, accepts any server certificate (unknown CA, expired, another host name)"
    ),
    "no-security-event": "sends no SecurityEventNotification (e.g. after a refused handshake)",
    "install-bad-signature": "installs a firmware image whose signature does not verify",
    "ignores-charging-limit": "charges at full power whatever charging profile is in effect",
    "reservation-never-expires": "a reservation stays Reserved after its expiryDate",
    "heartbeat-ignores-interval": (
        "accepts a HeartbeatInterval but heartbeats three times as often as it says"
    ),
    "sample-interval-ignored": (
        "accepts a MeterValueSampleInterval but samples at three times that interval"
    ),
    "ignores-sampled-data": (
        "accepts a MeterValuesSampledData but always samples energy and power only"
    ),
    "transaction-survives-reboot": (
        "a hard reset neither stops the transactions nor ends them: they keep metering after "
        "the reboot"
    ),
    "meter-values-after-offline-stop": (
        "after a session stopped while offline, one more MeterValues of the stopped "
        "transaction, sampled after the stop"
    ),
    "no-transaction-message-retry": (
        "a transaction message answered with a CALLERROR is discarded at once, never resent "
        "(TransactionMessageAttempts ignored)"
    ),
    "transaction-message-retry-too-soon": (
        "resends a transaction message answered with a CALLERROR after a tenth of "
        "TransactionMessageRetryInterval x its transmissions so far"
    ),
    "offline-stop-keeps-local-id": (
        "a transaction started while offline is stopped, after the reconnect, with the "
        "charger's own local transactionId instead of the one StartTransaction.conf gave"
    ),
    "ignores-invalid-start-answer": (
        "keeps a transaction running when StartTransaction.conf answers its idTag Invalid, "
        "whatever StopTransactionOnInvalidId says"
    ),
    "deauthorizes-whatever-the-key": (
        "stops a transaction answered Invalid in StartTransaction.conf (DeAuthorized) even "
        "when StopTransactionOnInvalidId is false"
    ),
    "offline-authorizes-any-card": (
        "while offline, starts a transaction for any card, even one Blocked in the Local "
        "Authorization List"
    ),
    "reservation-ignores-connector-state": (
        "accepts a ReserveNow (and reports Reserved) for a connector that is occupied, "
        "unavailable or faulted"
    ),
    "clock-aligned-off-boundary": (
        "sends its clock-aligned MeterValues (ClockAlignedDataInterval) half an interval off "
        "the clock's interval boundaries"
    ),
    "charging-profile-validity-ignored": (
        "counts every charging profile in its composite schedule, whatever its validFrom and "
        "validTo"
    ),
    "tx-profile-without-transaction": (
        "accepts a TxProfile with no transaction on its connector, or naming another transaction"
    ),
    "reservation-ignores-parent-id-tag": (
        "a reservation is taken only by its own idTag, never by a card of its parentIdTag"
    ),
    "ftp-only-diagnostics": (
        "supports only FTP for diagnostics: an HTTP(S) location ends in UploadFailed (allowed "
        "by OCPP 1.6, SupportedFileTransferProtocols)"
    ),
}


def check_misbehaviours(names: set[str] | frozenset[str]) -> None:
    """Refuse unknown names early: a typo would otherwise make a test pass for nothing."""
    unknown = sorted(set(names) - MISBEHAVIOURS.keys())
    if unknown:
        known = ", ".join(sorted(MISBEHAVIOURS))
        raise ValueError(f"unknown misbehaviour(s) {', '.join(unknown)}; known: {known}")
