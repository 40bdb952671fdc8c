"""Steps 14 and 15: charging sessions the portal starts and stops remotely."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, known_setting, step_rule
from certification.judge.sequence import (
    Expect,
    as_int,
    between,
    calls,
    charger_call,
    exchange_of,
    first,
    match_in_order,
    payload_of,
    portal_call,
    seconds_between,
    status_in,
    status_is,
)
from certification.judge.sessions import (
    check_meter_values_transaction,
    check_start,
    check_stop,
    in_session,
    note_optional_status,
    on_connector,
    session_connector,
    session_measurements,
)
from certification.judge.types import Judgement, StepContext


def _as_flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


@step_rule("StatusNotification Preparing received")
def remote_start_stop_cable_first(context: StepContext) -> Judgement:
    """Step 14, Remote Start and Stop Transaction - Cable first (TC_010, TC_012).

    [plug in] -> SN Preparing -> RemoteStartTransaction(idTag, connectorId) -> Accepted ->
    Authorize only if AuthorizeRemoteTxRequests is true -> StartTransaction and SN Charging
    in either order -> RemoteStopTransaction(transactionId) -> Accepted -> StopTransaction
    reason Remote and SN Finishing in either order.

    OCPP 1.6 §5.11 (Remote Start Transaction) on AuthorizeRemoteTxRequests: "If set to true,
    the Charge Point SHALL behave as if in response to a local action at the Charge Point to
    start a transaction with the idTag given in the RemoteStartTransaction.req message. This
    means that the Charge Point will first try to authorize the idTag, using the Local
    Authorization List, Authorization Cache and/or an Authorize.req request" (so a cached
    card needs no Authorize: information); "If set to false, the Charge Point SHALL
    immediately try to start a transaction" (an Authorize then is minor). §5.12
    (Remote Stop Transaction): the charger "SHALL stop the transaction in the same way as
    described in Stop Transaction with reason Remote"; the RemoteStopTransaction must name
    the transactionId the portal assigned. Preparing may be absent, SuspendedEV/SuspendedEVSE
    stand for Charging, and Available (cable out) stands for Finishing (sessions module).

    Params: `authorize_remote_tx_requests` (default: the AuthorizeRemoteTxRequests value set
    or read in the step; unknown means Authorize is optional).
    Measures: transactionId, whether the charger authorized, the delays from
    RemoteStartTransaction to StartTransaction and from RemoteStopTransaction to
    StopTransaction.
    """
    frames, findings = context.frames, Findings()
    remote_start_call = first(frames, portal_call("RemoteStartTransaction"))
    connector = session_connector(frames, remote_start_call, first(frames, status_is("Preparing")))
    match = match_in_order(
        frames,
        [
            on_connector("Preparing", connector, optional=True),
            Expect("RemoteStartTransaction", portal_call("RemoteStartTransaction")),
            (
                Expect("StartTransaction", charger_call("StartTransaction")),
                in_session(connector),
            ),
            Expect("RemoteStopTransaction", portal_call("RemoteStopTransaction")),
            (
                Expect("StopTransaction", charger_call("StopTransaction")),
                Expect(
                    "StatusNotification Finishing",
                    status_in(("Finishing", "Available"), connector),
                ),
            ),
        ],
    )
    findings.report_sequence(match)
    note_optional_status(
        findings,
        match.get("StatusNotification Preparing"),
        "Preparing",
        connector,
        "before the remote start",
    )
    remote_start = exchange_of(frames, match.get("RemoteStartTransaction"))
    start = exchange_of(frames, match.get("StartTransaction"))
    stop = match.get("StopTransaction")
    id_tag = None
    if remote_start is not None:
        findings.expect_reply(remote_start, ("Accepted",), "RemoteStartTransaction")
        id_tag = remote_start.request.get("idTag")
    transaction_id = check_start(findings, start, id_tag, connector)
    measurements = session_measurements(frames, start, stop)
    check_meter_values_transaction(findings, frames, start, stop)

    if remote_start is not None and start is not None:
        measurements["remote_start_to_start_s"] = seconds_between(remote_start.call, start.call)
        authorized = calls(between(frames, remote_start.call, start.call), "Authorize")
        measurements["authorized"] = bool(authorized)
        setting = context.params.get("authorize_remote_tx_requests")
        if setting is None:
            # The value in force when the RemoteStartTransaction arrived, not the one the
            # step leaves behind (OCPP 1.6 §9.1.1 AuthorizeRemoteTxRequests).
            setting = known_setting(context, "AuthorizeRemoteTxRequests", before=remote_start.call)
        required = _as_flag(setting)
        if required is True and not authorized:
            findings.info(
                "AuthorizeRemoteTxRequests is true and no Authorize came between "
                "RemoteStartTransaction and StartTransaction: the charger authorized the idTag "
                "from its authorization cache or local list, as OCPP 1.6 allows",
                remote_start.call,
                start.call,
            )
        elif required is False and authorized:
            findings.minor(
                "Authorize sent after RemoteStartTransaction although AuthorizeRemoteTxRequests "
                "is false",
                *authorized,
            )

    remote_stop = exchange_of(frames, match.get("RemoteStopTransaction"))
    if remote_stop is not None:
        findings.expect_reply(remote_stop, ("Accepted",), "RemoteStopTransaction")
        asked = as_int(remote_stop.request.get("transactionId"))
        if transaction_id is not None and asked != transaction_id:
            findings.fail(
                f"RemoteStopTransaction asked to stop transaction {asked} where transaction "
                f"{transaction_id} was started",
                remote_stop.call,
            )
        if stop is not None:
            measurements["remote_stop_to_stop_s"] = seconds_between(remote_stop.call, stop)
    check_stop(findings, stop, transaction_id, ("Remote",))
    return findings.judgement(measurements)


def remote_start_unlock(context: StepContext) -> Judgement:
    """Step 15, Remote Start Transaction - Request first - Unlock Connector (TC_011_1, TC_018_1).

    RemoteStartTransaction -> Accepted -> SN Preparing -> [plug in] -> StartTransaction and
    SN Charging in either order -> UnlockConnector -> Unlocked -> StopTransaction reason
    UnlockCommand and SN Finishing in either order -> [unplug] -> SN Available.
    Not applicable (NA) when the run's charger cannot unlock (fixed cable, e.g. DC) or when
    it answers UnlockConnector with NotSupported.

    OCPP 1.6 §5.18 (Unlock Connector): "If there was an ongoing transaction on the connector
    the Charge Point SHALL stop the transaction" first, with reason UnlockCommand (§7.42);
    "NotSupported: Charge Point has no connector lock". Preparing may be absent and
    SuspendedEV/SuspendedEVSE stand for Charging (sessions module).

    Measures: transactionId, the delay from UnlockConnector to StopTransaction.
    """
    if not context.settings.can_unlock_connector:
        return Findings().not_applicable(
            "Not applicable: the charger has a fixed cable and cannot unlock its connector"
        )
    return _remote_start_unlock(context)


@step_rule("RemoteStartTransaction sent to the charger")
def _remote_start_unlock(context: StepContext) -> Judgement:
    frames, findings = context.frames, Findings()
    unlock = exchange_of(frames, first(frames, portal_call("UnlockConnector")))
    if unlock is not None and unlock.status == "NotSupported":
        return findings.not_applicable(
            "Not applicable: the charger answered UnlockConnector with NotSupported",
            *unlock.frames,
        )
    remote_start_call = first(frames, portal_call("RemoteStartTransaction"))
    connector = session_connector(frames, remote_start_call, first(frames, status_is("Preparing")))
    match = match_in_order(
        frames,
        [
            Expect("RemoteStartTransaction", portal_call("RemoteStartTransaction")),
            on_connector("Preparing", connector, optional=True),
            (
                Expect("StartTransaction", charger_call("StartTransaction")),
                in_session(connector),
            ),
            Expect("UnlockConnector", portal_call("UnlockConnector")),
            (
                Expect("StopTransaction", charger_call("StopTransaction")),
                on_connector("Finishing", connector, optional=True),
            ),
            on_connector("Available", connector),
        ],
    )
    findings.report_sequence(match)
    remote_start = exchange_of(frames, match.get("RemoteStartTransaction"))
    id_tag = None
    if remote_start is not None:
        findings.expect_reply(remote_start, ("Accepted",), "RemoteStartTransaction")
        id_tag = remote_start.request.get("idTag")
    start = exchange_of(frames, match.get("StartTransaction"))
    stop = match.get("StopTransaction")
    transaction_id = check_start(findings, start, id_tag, connector)
    unlock = exchange_of(frames, match.get("UnlockConnector"))
    measurements: dict[str, Any] = session_measurements(frames, start, stop)
    check_meter_values_transaction(findings, frames, start, stop)
    if unlock is not None:
        unlocked = payload_of(unlock.call).get("connectorId")
        findings.expect_reply(unlock, ("Unlocked",), f"UnlockConnector(connector {unlocked})")
        if stop is not None:
            measurements["unlock_to_stop_s"] = seconds_between(unlock.call, stop)
    check_stop(findings, stop, transaction_id, ("UnlockCommand",))
    return findings.judgement(measurements)
