"""The full plan's rules (Local Auth List Management, Reservation, Smart Charging, the
remaining Core cases), each over plain frames: the sequence that passes and the deviation
a certification engineer would fail or remark."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from certification.judge import judge
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import START, Wire, absolute_profile, stamp

CARD = "CERT-TAG-1"


def messages(judgement: Any) -> str:
    return " | ".join(f"[{f.severity}] {f.message}" for f in judgement.findings)


# --- Local Auth List Management -------------------------------------------------------------


def full_list(version_after: int = 1) -> Wire:
    wire = Wire()
    wire.command("GetLocalListVersion", {}, {"listVersion": 0})
    wire.command(
        "SendLocalList",
        {
            "listVersion": 1,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": CARD, "idTagInfo": {"status": "Accepted"}}],
        },
        {"status": "Accepted"},
    )
    wire.command("GetLocalListVersion", {}, {"listVersion": version_after})
    return wire


def test_a_full_list_update_reads_back_its_version() -> None:
    judgement = judge("local_list_full", full_list().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements["version_before"] == 0
    assert judgement.measurements["version_after"] == 1
    assert judgement.findings == ()
    assert judgement.measurements == {
        "list_version_sent": 1,
        "entries_sent": 1,
        "version_before": 0,
        "version_after": 1,
    }


def test_a_full_list_whose_version_does_not_change_fails() -> None:
    judgement = judge("local_list_full", full_list(version_after=0).context())
    assert judgement.verdict == "N"
    assert "GetLocalListVersion answered 0 after SendLocalList(Full, 1)" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="GetLocalListVersion answered 0 after SendLocalList(Full, 1) was Accepted",
            frame_ids=(5, 6),
        ),
    )
    assert judgement.measurements == {
        "list_version_sent": 1,
        "entries_sent": 1,
        "version_before": 0,
        "version_after": 0,
    }


def differential(stale_answer: str = "VersionMismatch") -> Wire:
    wire = Wire()
    entries = [{"idTag": "CERT-TAG-2", "idTagInfo": {"status": "Accepted"}}]
    update = {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": entries}
    wire.command("SendLocalList", update, {"status": "Accepted"})
    wire.command("SendLocalList", update, {"status": stale_answer})
    wire.command("GetLocalListVersion", {}, {"listVersion": 2})
    return wire


def test_a_differential_update_applies_and_a_stale_one_is_a_version_mismatch() -> None:
    judgement = judge("local_list_differential", differential().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "stale_version_sent": 2,
        "accepted_version": 2,
        "version_after": 2,
    }
    assert judgement.findings == ()


def test_a_stale_differential_update_accepted_fails() -> None:
    judgement = judge("local_list_differential", differential("Accepted").context())
    assert judgement.verdict == "N"
    assert (
        "SendLocalList(Differential, 2) after version 2 answered Accepted where "
        "VersionMismatch was expected" in messages(judgement)
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="SendLocalList(Differential, 2) after version 2 answered Accepted where "
            "VersionMismatch was expected",
            frame_ids=(3, 4),
        ),
    )
    assert judgement.measurements == {
        "stale_version_sent": 2,
        "accepted_version": 2,
        "version_after": 2,
    }


def listed_card(authorize_first: bool) -> Wire:
    wire = Wire()
    wire.command(
        "SendLocalList",
        {
            "listVersion": 10,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": CARD, "idTagInfo": {"status": "Accepted"}}],
        },
        {"status": "Accepted"},
    )
    wire.status(1, "Preparing")
    if authorize_first:
        wire.authorize(CARD)
    wire.start_transaction(id_tag=CARD)
    return wire


def test_a_listed_card_starts_without_authorize() -> None:
    judgement = judge("local_list_authorizes", listed_card(False).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {"id_tag": CARD, "authorized": False}
    assert judgement.findings == ()


def test_authorize_for_a_listed_card_fails() -> None:
    judgement = judge("local_list_authorizes", listed_card(True).context())
    assert judgement.verdict == "N"
    assert "Authorize was sent for CERT-TAG-1" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Authorize was sent for CERT-TAG-1, which is Accepted in the Local "
            "Authorization List: with LocalPreAuthorize the charger starts without "
            "asking",
            frame_ids=(5,),
        ),
    )
    assert judgement.measurements == {"id_tag": "CERT-TAG-1", "authorized": True}


# --- Reservation ----------------------------------------------------------------------------


def reserve(wire: Wire, reservation_id: int = 101, expiry_s: float = 3600) -> None:
    from datetime import timedelta

    wire.command(
        "ReserveNow",
        {
            "connectorId": 1,
            "expiryDate": stamp(wire.now + timedelta(seconds=expiry_s)),
            "idTag": CARD,
            "reservationId": reservation_id,
        },
        {"status": "Accepted"},
    )
    wire.status(1, "Reserved")


def reserved_session(with_reservation_id: bool) -> Wire:
    wire = Wire()
    reserve(wire)
    wire.wait(10)
    wire.authorize(CARD)
    payload = {"connectorId": 1, "idTag": CARD, "meterStart": 0, "timestamp": stamp(wire.now)}
    if with_reservation_id:
        payload["reservationId"] = 101
    wire.request(
        "StartTransaction", payload, {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}
    )
    wire.status(1, "Charging")
    return wire


def test_a_reserved_connector_is_used_with_the_reservation_id() -> None:
    judgement = judge("reserve_now_start", reserved_session(True).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {"reservation_id": 101, "reserve_to_start_s": 10.0}
    assert judgement.findings == ()


def test_a_start_without_the_reservation_id_fails() -> None:
    judgement = judge("reserve_now_start", reserved_session(False).context())
    assert judgement.verdict == "N"
    assert "carried reservationId None where the reservation 101 was expected" in messages(
        judgement
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StartTransaction for CERT-TAG-1 carried reservationId None where the "
            "reservation 101 was expected",
            frame_ids=(7,),
        ),
    )
    assert judgement.measurements == {"reservation_id": 101, "reserve_to_start_s": 10.0}


def reserved_for_group(parent_of_child: str) -> Wire:
    wire = Wire()
    wire.command(
        "ReserveNow",
        {
            "connectorId": 1,
            "expiryDate": stamp(wire.now + timedelta(hours=1)),
            "idTag": CARD,
            "reservationId": 109,
            "parentIdTag": "CERT-GROUP",
        },
        {"status": "Accepted"},
    )
    wire.status(1, "Reserved")
    wire.request(
        "Authorize",
        {"idTag": "CERT-TAG-CHILD"},
        {"idTagInfo": {"status": "Accepted", "parentIdTag": parent_of_child}},
    )
    wire.request(
        "StartTransaction",
        {
            "connectorId": 1,
            "idTag": "CERT-TAG-CHILD",
            "meterStart": 0,
            "timestamp": stamp(wire.now),
            "reservationId": 109,
        },
        {"transactionId": 7, "idTagInfo": {"status": "Accepted", "parentIdTag": parent_of_child}},
    )
    return wire


def test_a_card_of_the_reservations_parent_id_tag_uses_it() -> None:
    judgement = judge("reserve_now_start", reserved_for_group("CERT-GROUP").context())
    assert judgement.verdict == "Y" and not judgement.minor, messages(judgement)
    assert "CERT-TAG-CHILD, a card of the reservation's parentIdTag CERT-GROUP" in messages(
        judgement
    )
    other = judge("reserve_now_start", reserved_for_group("OTHER-GROUP").context())
    assert other.minor
    assert "not by the reserving card CERT-TAG-1 nor a card of its parentIdTag CERT-GROUP" in (
        messages(other)
    )


def expiring(available_after_s: float | None) -> Wire:
    wire = Wire()
    reserve(wire, 102, expiry_s=30)
    if available_after_s is not None:
        wire.wait(available_after_s)
        wire.status(1, "Available")
    return wire


def test_a_reservation_expires_on_time() -> None:
    judgement = judge("reservation_expiry", expiring(31).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements["available_after_expiry_s"] == 1.0
    assert judgement.findings == ()
    assert judgement.measurements == {"available_after_expiry_s": 1.0}


def test_a_reservation_that_never_expires_fails_and_an_early_end_too() -> None:
    never = judge("reservation_expiry", expiring(None).context())
    assert never.verdict == "N"
    assert "never became Available again" in messages(never)
    early = judge("reservation_expiry", expiring(10).context())
    assert early.verdict == "N" and "20 s before the reservation's expiryDate" in messages(early)


def cancelled(unknown_answer: str = "Rejected") -> Wire:
    wire = Wire()
    reserve(wire, 103)
    wire.command("CancelReservation", {"reservationId": 103}, {"status": "Accepted"})
    wire.wait(1)
    wire.status(1, "Available")
    wire.command("CancelReservation", {"reservationId": 999}, {"status": unknown_answer})
    return wire


def test_cancel_reservation_frees_the_connector_and_refuses_an_unknown_id() -> None:
    judgement = judge("cancel_reservation", cancelled().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {"cancel_to_available_s": 1.0}
    assert judgement.findings == ()


def test_cancelling_an_unknown_reservation_accepted_fails() -> None:
    judgement = judge("cancel_reservation", cancelled("Accepted").context())
    assert judgement.verdict == "N"
    assert "CancelReservation(999) of no reservation answered Accepted" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="CancelReservation(999) of no reservation answered Accepted where "
            "Rejected was expected",
            frame_ids=(9, 10),
        ),
    )
    assert judgement.measurements == {"cancel_to_available_s": 1.0}


def refusals_wire(
    occupied: str = "Occupied", faulted: str = "Faulted", reserved_after: bool = False
) -> Wire:
    """Occupied, Unavailable and Faulted in turn, each with its ReserveNow."""
    wire = Wire()
    for number, (status, answer) in enumerate(
        [("Preparing", occupied), ("Unavailable", "Unavailable"), ("Faulted", faulted)],
        start=1,
    ):
        wire.status(1, status, "GroundFailure" if status == "Faulted" else "NoError")
        wire.command(
            "ReserveNow",
            {
                "connectorId": 1,
                "expiryDate": stamp(wire.now),
                "idTag": CARD,
                "reservationId": number,
            },
            {"status": answer},
        )
        if reserved_after and number == 2:
            wire.status(1, "Reserved")
        wire.status(1, "Available")
    return wire


def test_reservations_are_refused_for_the_connectors_state() -> None:
    judgement = judge("reserve_now_refusals", refusals_wire().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "answers": [
            {"connector": 1, "answer": "Occupied", "state": "Preparing"},
            {"connector": 1, "answer": "Unavailable", "state": "Unavailable"},
            {"connector": 1, "answer": "Faulted", "state": "Faulted"},
        ]
    }


def test_a_reservation_accepted_on_an_occupied_connector_fails() -> None:
    judgement = judge("reserve_now_refusals", refusals_wire(occupied="Accepted").context())
    assert judgement.verdict == "N"
    assert (
        "ReserveNow(connector 1) while it was Preparing answered Accepted where Occupied"
        in messages(judgement)
    )
    assert "No ReserveNow was refused Occupied in the step: TC_048_2" in messages(judgement)


def test_a_wrong_refusal_or_a_reserved_status_after_a_refusal_fails() -> None:
    wrong = judge("reserve_now_refusals", refusals_wire(faulted="Occupied").context())
    assert wrong.verdict == "N"
    assert "while it was Faulted answered Occupied where Faulted was expected" in messages(wrong)
    reserved = judge("reserve_now_refusals", refusals_wire(reserved_after=True).context())
    assert reserved.verdict == "N"
    assert "Connector 1 reported Reserved after ReserveNow was answered Unavailable" in (
        messages(reserved)
    )


def test_an_unknown_connector_and_connector_zero_unsupported_are_rejected() -> None:
    wire = Wire()
    for connector, answer in ((9, "Accepted"), (0, "Accepted")):
        wire.command(
            "ReserveNow",
            {
                "connectorId": connector,
                "expiryDate": stamp(wire.now),
                "idTag": CARD,
                "reservationId": 5,
            },
            {"status": answer},
        )
    judgement = judge("reserve_now_refusals", wire.context(RunSettings(connectors=2), refusals=[]))
    assert judgement.verdict == "N"
    assert "ReserveNow(connector 9) while it was a connector the charger does not have" in (
        messages(judgement)
    )
    assert "connector 0 without ReserveConnectorZeroSupported answered Accepted" in (
        messages(judgement)
    )
    supported = judge(
        "reserve_now_refusals",
        wire.context(
            RunSettings(connectors=2),
            refusals=[],
            configuration={"ReserveConnectorZeroSupported": "true"},
        ),
    )
    assert "connector 0" not in messages(supported)


# --- Smart Charging -------------------------------------------------------------------------


def profile(purpose: str, limit: float, **extra: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": 201,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
        **extra,
    }


def default_profile(composite_limit: float) -> Wire:
    wire = Wire()
    wire.command(
        "SetChargingProfile",
        {"connectorId": 0, "csChargingProfiles": profile("TxDefaultProfile", 6000.0)},
        {"status": "Accepted"},
    )
    wire.command(
        "GetCompositeSchedule",
        {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        {
            "status": "Accepted",
            "connectorId": 1,
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": composite_limit}],
            },
        },
    )
    wire.command("ClearChargingProfile", {"id": 201}, {"status": "Accepted"})
    return wire


def test_a_default_profile_is_read_back_and_cleared() -> None:
    judgement = judge("tx_default_profile", default_profile(6000.0).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {"limit_set": 6000.0, "unit": "W", "composite_limit": 6000.0}
    assert judgement.findings == ()


def test_a_composite_schedule_above_the_profile_fails() -> None:
    judgement = judge("tx_default_profile", default_profile(11000.0).context())
    assert judgement.verdict == "N"
    assert "allows 11000 W where the TxDefaultProfile limits to 6000 W" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="The composite schedule allows 11000 W where the TxDefaultProfile "
            "limits to 6000 W",
            frame_ids=(3, 4),
        ),
    )
    assert judgement.measurements == {"limit_set": 6000.0, "unit": "W", "composite_limit": 11000.0}


def limited_session(power_w: int) -> Wire:
    wire = Wire()
    wire.start_transaction(transaction_id=42)
    wire.command(
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile("TxProfile", 3000.0, transactionId=42)},
        {"status": "Accepted"},
    )
    for _ in range(2):
        wire.wait(10)
        wire.request(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [
                    {
                        "timestamp": stamp(wire.now),
                        "sampledValue": [
                            {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"}
                        ],
                    }
                ],
            },
            {},
        )
    return wire


def test_the_power_follows_a_tx_profile() -> None:
    judgement = judge("tx_profile", limited_session(3000).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {"limit_w": 3000.0, "powers_w": [3000.0, 3000.0]}
    assert judgement.findings == ()


def test_power_above_the_tx_profile_fails() -> None:
    judgement = judge("tx_profile", limited_session(11000).context())
    assert judgement.verdict == "N"
    assert "reported 11000 W after the TxProfile limited connector 1 to 3000 W" in messages(
        judgement
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="MeterValues reported 11000 W after the TxProfile limited connector 1 "
            "to 3000 W",
            frame_ids=(5,),
        ),
    )
    assert judgement.measurements == {"limit_w": 3000.0, "powers_w": [11000.0, 11000.0]}


# --- The remaining Core cases ---------------------------------------------------------------


def refusals(read_only_answer: str = "Rejected") -> Wire:
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "NumberOfConnectors", "value": "9"},
        {"status": read_only_answer},
    )
    wire.command(
        "ChangeConfiguration",
        {"key": "CertPortalUnknownKey", "value": "1"},
        {"status": "NotSupported"},
    )
    wire.command(
        "GetConfiguration",
        {"key": ["CertPortalUnknownKey"]},
        {"configurationKey": [], "unknownKey": ["CertPortalUnknownKey"]},
    )
    return wire


def test_read_only_and_unknown_keys_are_refused() -> None:
    judgement = judge("configuration_refusals", refusals().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.findings == ()
    assert judgement.measurements == {}


def test_a_read_only_key_accepted_fails() -> None:
    judgement = judge("configuration_refusals", refusals("Accepted").context())
    assert judgement.verdict == "N"
    assert "ChangeConfiguration of read-only NumberOfConnectors answered Accepted" in messages(
        judgement
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="ChangeConfiguration of read-only NumberOfConnectors answered Accepted "
            "where Rejected was expected",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == {}


def unlocks(connector_1: str, connector_99: str) -> Wire:
    wire = Wire()
    wire.command("UnlockConnector", {"connectorId": 1}, {"status": connector_1})
    wire.command("UnlockConnector", {"connectorId": 99}, {"status": connector_99})
    return wire


def test_unlock_follows_the_outlet_and_an_unknown_connector_is_never_unlocked() -> None:
    fixed = RunSettings(connectors=2, can_unlock_connector=False)
    socket = RunSettings(connectors=2, can_unlock_connector=True)
    assert (
        judge(
            "unlock_connector_idle", unlocks("NotSupported", "UnlockFailed").context(fixed)
        ).verdict
        == "Y"
    )
    assert (
        judge("unlock_connector_idle", unlocks("Unlocked", "NotSupported").context(socket)).verdict
        == "Y"
    )
    wrong = judge("unlock_connector_idle", unlocks("NotSupported", "Unlocked").context(socket))
    assert wrong.verdict == "N"
    assert "UnlockConnector(connector 1) answered NotSupported where Unlocked" in messages(wrong)
    assert "connector 99), which does not exist, answered Unlocked" in messages(wrong)


def test_data_transfer_to_an_unknown_vendor_is_unknown_vendor_id_not_an_error() -> None:
    wire = Wire()
    wire.command("DataTransfer", {"vendorId": "org.example.unknown"}, {"status": "UnknownVendorId"})
    assert judge("data_transfer_unknown_vendor", wire.context()).verdict == "Y"
    wrong = Wire()
    call = wrong.call_out("DataTransfer", {"vendorId": "org.example.unknown"})
    wrong.error_in(call, "NotImplemented")
    judgement = judge("data_transfer_unknown_vendor", wrong.context())
    assert judgement.verdict == "N"
    assert "answered CALLERROR NotImplemented where UnknownVendorId" in messages(judgement)


def test_remote_commands_that_cannot_be_done_are_rejected() -> None:
    wire = Wire()
    wire.command("RemoteStopTransaction", {"transactionId": 999999}, {"status": "Rejected"})
    wire.command(
        "RemoteStartTransaction", {"connectorId": 99, "idTag": CARD}, {"status": "Rejected"}
    )
    assert judge("remote_refusals", wire.context()).verdict == "Y"
    wrong = Wire()
    wrong.command("RemoteStopTransaction", {"transactionId": 999999}, {"status": "Accepted"})
    judgement = judge("remote_refusals", wrong.context())
    assert judgement.verdict == "N"
    assert "RemoteStopTransaction(999999) answered Accepted where Rejected" in messages(judgement)


# --- Offline transactions (Core) and the local list offline ---------------------------------


def offline_start(wire: Wire, id_tag: str, started_at: Any, status: str = "Accepted") -> None:
    wire.request(
        "StartTransaction",
        {"connectorId": 1, "idTag": id_tag, "meterStart": 1000, "timestamp": stamp(started_at)},
        {"transactionId": 42, "idTagInfo": {"status": status}},
    )


def offline_transaction(
    *,
    stop_id: int = 42,
    stop_first: bool = False,
    reason: str | None = "Local",
    stop_offline: bool = True,
) -> Wire:
    """Online, then 60 s offline: the card starts at +10 s and stops at +40 s; replayed."""
    wire = Wire()
    wire.heartbeat()
    wire.event("closed")
    lost = wire.now
    wire.wait(60)
    wire.event("connected")
    stop: dict[str, Any] = {
        "transactionId": stop_id,
        "meterStop": 1500,
        "timestamp": stamp(lost + timedelta(seconds=40 if stop_offline else 70)),
        "idTag": CARD,
    }
    if reason is not None:
        stop["reason"] = reason
    if stop_first:
        wire.request("StopTransaction", stop, {})
    offline_start(wire, CARD, lost + timedelta(seconds=10))
    wire.request(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 42,
            "meterValue": [
                {
                    "timestamp": stamp(lost + timedelta(seconds=20)),
                    "sampledValue": [{"value": "1200"}],
                }
            ],
        },
        {},
    )
    if not stop_first:
        wire.request("StopTransaction", stop, {})
    wire.status(1, "Available")
    return wire


def test_a_transaction_started_and_stopped_offline_is_replayed_in_order() -> None:
    judgement = judge("offline_transaction", offline_transaction().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "offline_s": 60.0,
        "transaction_id": 42,
        "id_tag": CARD,
        "started_at": "2023-09-22T10:00:10Z",
        "stopped_at": "2023-09-22T10:00:40Z",
        "queued_meter_values": 1,
    }
    assert judgement.findings == ()


def test_an_offline_stop_with_the_chargers_own_transaction_id_fails() -> None:
    judgement = judge("offline_transaction", offline_transaction(stop_id=-1).context())
    assert judgement.verdict == "N"
    assert "carries transactionId -1, where StartTransaction.conf gave 42" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StopTransaction of the transaction stopped offline carries "
            "transactionId -1, where StartTransaction.conf gave 42: the Central "
            "System cannot close the transaction",
            frame_ids=(9, 5, 6),
        ),
    )
    assert judgement.measurements == {
        "offline_s": 60.0,
        "transaction_id": 42,
        "id_tag": "CERT-TAG-1",
        "started_at": "2023-09-22T10:00:10Z",
    }


def test_an_offline_stop_replayed_before_its_start_fails() -> None:
    judgement = judge("offline_transaction", offline_transaction(stop_first=True).context())
    assert judgement.verdict == "N"
    assert "arrived before its StartTransaction was answered" in messages(judgement)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StopTransaction of transaction 42 arrived before its StartTransaction "
            "was answered: queued messages go in chronological order",
            frame_ids=(5, 7, 8),
        ),
    )
    assert judgement.measurements == {
        "offline_s": 60.0,
        "transaction_id": 42,
        "id_tag": "CERT-TAG-1",
        "started_at": "2023-09-22T10:00:10Z",
        "stopped_at": "2023-09-22T10:00:40Z",
        "queued_meter_values": 1,
    }


def test_an_offline_transaction_stopped_online_or_for_another_reason_fails() -> None:
    online = judge("offline_transaction", offline_transaction(stop_offline=False).context())
    assert online.verdict == "N"
    assert "after the reconnect: the step needs the stop while offline" in messages(online)
    remote = judge("offline_transaction", offline_transaction(reason="Remote").context())
    assert remote.verdict == "N"
    assert "StopTransaction reason Remote" in messages(remote)
    omitted = judge("offline_transaction", offline_transaction(reason=None).context())
    assert omitted.verdict == "Y", messages(omitted)


def test_a_step_without_a_connection_loss_or_an_offline_start_fails() -> None:
    online = Wire()
    online.start_transaction(id_tag=CARD)
    online.stop_transaction()
    judgement = judge("offline_transaction", online.context())
    assert judgement.verdict == "N"
    assert "No connection loss in the evidence" in messages(judgement)
    late = Wire()
    late.heartbeat()
    late.event("closed")
    late.wait(60)
    late.event("connected")
    late.start_transaction(id_tag=CARD)  # started after the reconnect
    judgement = judge("offline_transaction", late.context())
    assert judgement.verdict == "N"
    assert "No StartTransaction of a transaction started while the charger was offline" in (
        messages(judgement)
    )


def invalid_start(reason: str | None, key: str = "true") -> Wire:
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "StopTransactionOnInvalidId", "value": key},
        {"status": "Accepted"},
    )
    wire.event("closed")
    lost = wire.now
    wire.wait(30)
    wire.event("connected")
    offline_start(wire, "CERT-TAG-UNKNOWN", lost + timedelta(seconds=5), status="Invalid")
    if reason is not None:
        wire.wait(1)
        wire.stop_transaction(reason=reason)
    return wire


def test_a_transaction_answered_invalid_stops_deauthorized() -> None:
    judgement = judge("stop_transaction_on_invalid_id", invalid_start("DeAuthorized").context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "transaction_id": 42,
        "id_tag_status": "Invalid",
        "stop_transaction_on_invalid_id": True,
        "stopped_after_s": 1.0,
    }
    assert judgement.findings == ()


def test_a_transaction_answered_invalid_that_goes_on_or_stops_otherwise_fails() -> None:
    going = judge("stop_transaction_on_invalid_id", invalid_start(None).context())
    assert going.verdict == "N"
    assert "No StopTransaction for transaction 42, whose idTag was answered Invalid" in (
        messages(going)
    )
    local = judge("stop_transaction_on_invalid_id", invalid_start("Local").context())
    assert local.verdict == "N"
    assert "gives reason Local where DeAuthorized was expected" in messages(local)


def test_with_the_key_false_a_deauthorized_stop_fails_and_going_on_passes() -> None:
    going = judge("stop_transaction_on_invalid_id", invalid_start(None, "false").context())
    assert going.verdict == "Y", messages(going)
    stopped = judge(
        "stop_transaction_on_invalid_id", invalid_start("DeAuthorized", "false").context()
    )
    assert stopped.verdict == "N"
    assert "although StopTransactionOnInvalidId is false" in messages(stopped)


def test_no_start_answered_invalid_fails() -> None:
    wire = Wire()
    wire.start_transaction(id_tag=CARD)
    judgement = judge("stop_transaction_on_invalid_id", wire.context())
    assert judgement.verdict == "N"
    assert "No StartTransaction was answered with an idTag status other than Accepted" in (
        messages(judgement)
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No StartTransaction was answered with an idTag status other than "
            "Accepted: the charger was never told its transaction is not authorized",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {}


def list_offline(started: list[str], charging: bool = True) -> Wire:
    wire = Wire()
    wire.command(
        "SendLocalList",
        {
            "listVersion": 11,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idTag": CARD, "idTagInfo": {"status": "Accepted"}},
                {"idTag": "CERT-TAG-BLOCKED", "idTagInfo": {"status": "Blocked"}},
            ],
        },
        {"status": "Accepted"},
    )
    wire.event("closed")
    lost = wire.now
    wire.wait(30)
    wire.event("connected")
    for offset, id_tag in enumerate(started):
        offline_start(wire, id_tag, lost + timedelta(seconds=5 + offset))
    if charging:
        wire.status(1, "Charging")
    return wire


def test_offline_the_local_list_starts_its_accepted_card() -> None:
    judgement = judge("local_list_offline", list_offline([CARD]).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "id_tag": CARD,
        "refused_cards": ["CERT-TAG-BLOCKED"],
        "offline_s": 30.0,
        "transaction_id": 42,
        "started_at": "2023-09-22T10:00:05Z",
    }
    assert judgement.findings == ()


def test_offline_a_blocked_card_started_or_the_listed_card_refused_fails() -> None:
    blocked = judge("local_list_offline", list_offline(["CERT-TAG-BLOCKED", CARD]).context())
    assert blocked.verdict == "N"
    assert "A transaction of CERT-TAG-BLOCKED, Blocked in the Local Authorization List" in (
        messages(blocked)
    )
    refused = judge("local_list_offline", list_offline([]).context())
    assert refused.verdict == "N"
    assert "No transaction of CERT-TAG-1, Accepted in the Local Authorization List" in (
        messages(refused)
    )


def test_a_transaction_started_offline_and_running_reports_charging_after_the_reconnect() -> None:
    judgement = judge("local_list_offline", list_offline([CARD], charging=False).context())
    assert judgement.verdict == "N"
    assert "No StatusNotification Charging for connector 1 after the reconnect" in (
        messages(judgement)
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No StatusNotification Charging for connector 1 after the reconnect, "
            "while the transaction started offline was running",
            frame_ids=(5, 6),
        ),
    )
    assert judgement.measurements == {
        "id_tag": "CERT-TAG-1",
        "refused_cards": ["CERT-TAG-BLOCKED"],
        "offline_s": 30.0,
        "transaction_id": 42,
        "started_at": "2023-09-22T10:00:05Z",
    }


# --- Clock-aligned meter data (Core) ----------------------------------------------------------


def clock_aligned(
    offset_s: float = 0, measurand: str = "Energy.Active.Import.Register", skip: bool = False
) -> Wire:
    """ClockAlignedDataInterval 15 at 10:00:00, then Sample.Clock values for the intervals
    starting 10:00:00, 10:00:15 (unless skipped) and 10:00:30, sent at their ends."""
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValuesAlignedData", "value": "Energy.Active.Import.Register"},
        {"status": "Accepted"},
    )
    wire.command(
        "ChangeConfiguration",
        {"key": "ClockAlignedDataInterval", "value": "15"},
        {"status": "Accepted"},
    )
    for start in (0, 15, 30):
        wire.wait(15)
        if skip and start == 15:
            continue
        wire.request(
            "MeterValues",
            {
                "connectorId": 1,
                "meterValue": [
                    {
                        "timestamp": stamp(START + timedelta(seconds=start + offset_s)),
                        "sampledValue": [
                            {"value": "1000", "context": "Sample.Clock", "measurand": measurand}
                        ],
                    }
                ],
            },
            {},
        )
    return wire


def test_clock_aligned_values_fall_on_the_interval_boundaries() -> None:
    judgement = judge("clock_aligned_meter_values", clock_aligned().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "interval_s": 15,
        "clock_aligned_values": 3,
        "sample_times": [
            "2023-09-22T10:00:00+00:00",
            "2023-09-22T10:00:15+00:00",
            "2023-09-22T10:00:30+00:00",
        ],
        "largest_offset_s": 0.0,
        "intervals_s": [15.0, 15.0],
    }


def test_clock_aligned_values_off_the_boundaries_or_lacking_a_measurand_fail() -> None:
    off = judge("clock_aligned_meter_values", clock_aligned(offset_s=7).context())
    assert off.verdict == "N"
    assert "timestamped 10:00:07, 7 s off the 15 s boundaries counted from midnight" in (
        messages(off)
    )
    lacking = judge("clock_aligned_meter_values", clock_aligned(measurand="Voltage").context())
    assert lacking.verdict == "N"
    assert "3 clock-aligned MeterValues lack Energy.Active.Import.Register" in messages(lacking)


def test_a_skipped_interval_is_minor_and_no_clock_aligned_value_fails() -> None:
    skipped = judge("clock_aligned_meter_values", clock_aligned(skip=True).context())
    assert skipped.verdict == "Y" and skipped.minor
    assert "1 clock-aligned interval(s) of 15 s without MeterValues" in messages(skipped)
    none = Wire()
    none.command(
        "ChangeConfiguration",
        {"key": "ClockAlignedDataInterval", "value": "15"},
        {"status": "Accepted"},
    )
    none.wait(30)
    none.meter_values()  # Sample.Periodic only
    judgement = judge("clock_aligned_meter_values", none.context())
    assert judgement.verdict == "N"
    assert "No MeterValues with context Sample.Clock after ClockAlignedDataInterval" in (
        messages(judgement)
    )


# --- Smart Charging: stacking, validity, ChargePointMaxProfile --------------------------------


def stacked(composite: list[tuple[int, float]]) -> Wire:
    """Stack 0 (6, 8, 10 kW at 0, 100, 200 s for 400 s), stack 1 (4 kW for 150 s), a 7 kW
    ChargePointMaxProfile and a stack 2 profile valid only an hour later (1 kW)."""
    wire = Wire()
    later = stamp(START + timedelta(hours=1))
    for connector, profile in [
        (
            1,
            absolute_profile(
                "TxDefaultProfile", 301, 0, [(0, 6000), (100, 8000), (200, 10000)], 400
            ),
        ),
        (1, absolute_profile("TxDefaultProfile", 302, 1, [(0, 4000)], 150)),
        (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 7000)])),
        (1, absolute_profile("TxDefaultProfile", 304, 2, [(0, 1000)], validFrom=later)),
    ]:
        wire.command(
            "SetChargingProfile",
            {"connectorId": connector, "csChargingProfiles": profile},
            {"status": "Accepted"},
        )
    wire.command(
        "GetCompositeSchedule",
        {"connectorId": 1, "duration": 400, "chargingRateUnit": "W"},
        {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": stamp(START),
            "chargingSchedule": {
                "duration": 400,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": s, "limit": x} for s, x in composite],
            },
        },
    )
    return wire


def test_the_composite_schedule_follows_stack_levels_validity_and_the_max_profile() -> None:
    judgement = judge("stacked_profiles", stacked([(0, 4000), (150, 7000)]).context())
    assert judgement.verdict == "Y", messages(judgement)
    assert judgement.measurements == {
        "expected": [(0.0, 4000.0), (100.0, 4000.0), (150.0, 7000.0), (200.0, 7000.0)],
        "reported": [(0.0, 4000.0), (100.0, 4000.0), (150.0, 7000.0), (200.0, 7000.0)],
    }


def test_a_composite_ignoring_the_stack_level_the_validity_or_the_max_profile_fails() -> None:
    lower = judge("stacked_profiles", stacked([(0, 6000), (100, 7000)]).context())
    assert lower.verdict == "N"
    assert (
        "allows 6000 W 0 s after its start, where TxDefaultProfile 302 (stack level 1) sets "
        "4000 W" in messages(lower)
    )
    early = judge("stacked_profiles", stacked([(0, 1000)]).context())
    assert early.verdict == "N"
    assert "allows 1000 W 0 s after its start" in messages(early)
    uncapped = judge("stacked_profiles", stacked([(0, 4000), (150, 8000), (200, 10000)]).context())
    assert uncapped.verdict == "N"
    assert (
        "allows 8000 W 150 s after its start, where ChargePointMaxProfile 303 (stack level 0) "
        "sets 7000 W" in messages(uncapped)
    )


def test_no_composite_schedule_or_a_short_one_fails() -> None:
    wire = stacked([(0, 4000), (150, 7000)])
    without = Wire()
    without.frames = [f for f in wire.frames if f.action != "GetCompositeSchedule"]
    judgement = judge("stacked_profiles", without.context())
    assert judgement.verdict == "N"
    assert "No GetCompositeSchedule after the profiles were set" in messages(judgement)
    short = stacked([(0, 4000)])
    judgement = judge("stacked_profiles", short.context())
    assert judgement.verdict == "N"
    assert "allows 4000 W 150 s after its start" in messages(judgement)


def tx_profiles(no_transaction: str = "Rejected", another: str = "Rejected") -> Wire:
    wire = Wire()
    wire.command(
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile("TxProfile", 3000.0)},
        {"status": no_transaction},
    )
    wire.start_transaction(transaction_id=42)
    wire.command(
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile("TxProfile", 3000.0, transactionId=999)},
        {"status": another},
    )
    wire.command(
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile("TxProfile", 3000.0, transactionId=42)},
        {"status": "Accepted"},
    )
    wire.stop_transaction(transaction_id=42)
    return wire


def test_tx_profiles_without_their_transaction_are_rejected() -> None:
    judgement = judge("tx_profile_refusals", tx_profiles().context())
    assert judgement.verdict == "Y", messages(judgement)
    assert [a["answer"] for a in judgement.measurements["answers"]] == [
        "Rejected",
        "Rejected",
        "Accepted",
    ]


def test_a_tx_profile_accepted_without_its_transaction_fails() -> None:
    none = judge("tx_profile_refusals", tx_profiles(no_transaction="Accepted").context())
    assert none.verdict == "N"
    assert (
        "SetChargingProfile(TxProfile) with no transaction on connector 1 answered Accepted"
        in messages(none)
    )
    other = judge("tx_profile_refusals", tx_profiles(another="Accepted").context())
    assert other.verdict == "N"
    assert "for transaction 999 while transaction 42 runs answered Accepted" in messages(other)


def test_a_refusal_the_step_did_not_show_fails() -> None:
    wire = Wire()
    wire.command(
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile("TxProfile", 3000.0)},
        {"status": "Rejected"},
    )
    judgement = judge("tx_profile_refusals", wire.context())
    assert judgement.verdict == "N"
    assert "No TxProfile was sent with another transaction in the step" in messages(judgement)
