"""The full plan's remaining Core cases: what a charger must refuse, and how."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import as_int, exchanges
from certification.judge.types import Judgement, StepContext


@step_rule("ChangeConfiguration sent to the charger")
def configuration_refusals(context: StepContext) -> Judgement:
    """Core: refused configuration changes and unknown keys (TC_040_1, TC_040_2, TC_019_2).

    ChangeConfiguration(a read-only key) -> Rejected; ChangeConfiguration(an unknown key) ->
    NotSupported; GetConfiguration([an unknown key]) -> the key in unknownKey.

    OCPP 1.6 §5.3 (Change Configuration): "If the key does not exist, the Charge Point SHALL
    respond with status NotSupported"; ConfigurationStatus Rejected: "Configuration key
    supported, but setting could not be changed" (a read-only key). §5.8 (Get
    Configuration): "Unknown keys SHALL be put in the unknownKey list".

    Params: `read_only_key` (default NumberOfConnectors), `unknown_key` (default
    CertPortalUnknownKey).
    """
    frames, findings = context.frames, Findings()
    read_only = str(context.params.get("read_only_key", "NumberOfConnectors"))
    unknown = str(context.params.get("unknown_key", "CertPortalUnknownKey"))
    changes = exchanges(frames, "ChangeConfiguration")
    checked: set[str] = set()
    for change in changes:
        key = change.request.get("key")
        if key == read_only:
            checked.add(read_only)
            findings.expect_reply(change, ("Rejected",), f"ChangeConfiguration of read-only {key}")
        elif key == unknown:
            checked.add(unknown)
            findings.expect_reply(
                change, ("NotSupported",), f"ChangeConfiguration of unknown {key}"
            )
    if checked != {read_only, unknown}:
        findings.fail(
            f"ChangeConfiguration of {read_only} (read-only) and of {unknown} (unknown) were "
            "both expected in the step"
        )
    reads = [
        e for e in exchanges(frames, "GetConfiguration") if unknown in (e.request.get("key") or [])
    ]
    if not reads:
        findings.fail(f"No GetConfiguration asking for {unknown}")
    elif findings.expect_result(reads[0], f"GetConfiguration([{unknown}])"):
        listed = reads[0].response.get("unknownKey") or []
        known = [e.get("key") for e in reads[0].response.get("configurationKey") or []]
        if unknown in known:
            findings.fail(f"GetConfiguration reported {unknown} as a known key", *reads[0].frames)
        elif unknown not in listed:
            findings.fail(
                f"GetConfiguration did not list {unknown} in unknownKey", *reads[0].frames
            )
    return findings.judgement({})


@step_rule("UnlockConnector sent to the charger")
def unlock_connector_idle(context: StepContext) -> Judgement:
    """Core: UnlockConnector with no session, and for a connector that does not exist
    (TC_017_1, TC_017_2, TC_031).

    UnlockConnector(1) with no transaction -> Unlocked (socket) or NotSupported (fixed cable,
    from the run's settings); UnlockConnector(a connector the charger does not have) ->
    UnlockFailed or NotSupported, never Unlocked.

    OCPP 1.6 §5.18 (Unlock Connector): UnlockStatus Unlocked: "Connector has successfully
    been unlocked"; NotSupported: "Charge Point has no connector lock"; UnlockFailed: "Failed
    to unlock the connector".
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    unlocks = exchanges(frames, "UnlockConnector")
    if not unlocks:
        findings.fail("No UnlockConnector was sent to the charger")
        return findings.judgement(measurements)
    connectors = context.settings.connectors
    socket = context.settings.can_unlock_connector
    for unlock in unlocks:
        connector = as_int(unlock.request.get("connectorId"))
        what = f"UnlockConnector(connector {connector})"
        if connector is not None and 1 <= connector <= connectors:
            expected = ("Unlocked",) if socket else ("NotSupported",)
            measurements[f"connector_{connector}"] = unlock.answer
            findings.expect_reply(unlock, expected, what)
        else:
            measurements["unknown_connector"] = unlock.answer
            findings.expect_reply(
                unlock, ("UnlockFailed", "NotSupported"), f"{what}, which does not exist,"
            )
    return findings.judgement(measurements)


@step_rule("DataTransfer sent to the charger")
def data_transfer_unknown_vendor(context: StepContext) -> Judgement:
    """Core: DataTransfer for a vendorId the charger does not know (TC_062).

    DataTransfer(vendorId unknown to the charger) -> a CALLRESULT with status UnknownVendorId.

    OCPP 1.6 §5.6 (Data Transfer): "If the recipient of the request has no implementation for
    the specific vendorId it SHALL return a status 'UnknownVendor'" (DataTransferStatus
    UnknownVendorId); a business answer is a CALLRESULT, never a CALLERROR.
    """
    frames, findings = context.frames, Findings()
    transfers = exchanges(frames, "DataTransfer")
    if not transfers:
        findings.fail("No DataTransfer was sent to the charger")
    for transfer in transfers:
        findings.expect_reply(
            transfer,
            ("UnknownVendorId",),
            f"DataTransfer(vendorId {transfer.request.get('vendorId')})",
        )
    return findings.judgement({})


@step_rule("RemoteStopTransaction sent to the charger")
def remote_refusals(context: StepContext) -> Judgement:
    """Core: remote commands the charger must refuse (TC_026, TC_028).

    RemoteStopTransaction(a transactionId that is not running) -> Rejected;
    RemoteStartTransaction(a connector that cannot start: unknown, unavailable or occupied)
    -> Rejected.

    OCPP 1.6 §5.12 (Remote Stop Transaction): "If the Charge Point has a transaction matching
    the transactionId in the request ... it SHALL return 'Accepted' ... Otherwise it SHALL
    return 'Rejected'"; §5.11: a Charge Point that cannot start SHALL answer Rejected.
    """
    frames, findings = context.frames, Findings()
    stops = exchanges(frames, "RemoteStopTransaction")
    starts = exchanges(frames, "RemoteStartTransaction")
    if not stops:
        findings.fail("No RemoteStopTransaction of a transaction that is not running was sent")
    for stop in stops:
        findings.expect_reply(
            stop, ("Rejected",), f"RemoteStopTransaction({stop.request.get('transactionId')})"
        )
    if not starts:
        findings.info("No RemoteStartTransaction refused in the step: TC_026 not checked")
    for start in starts:
        findings.expect_reply(
            start,
            ("Rejected",),
            f"RemoteStartTransaction(connector {start.request.get('connectorId')})",
        )
    return findings.judgement({})
