"""What real chargers do, judged against OCPP 1.6: allowed behaviour passes, and behaviour
the charger accepted and then did not carry out fails (issue 15, one section per item)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certification.judge.availability import change_availability
from certification.judge.boot import boot
from certification.judge.cache import clear_cache
from certification.judge.diagnostics import diagnostics_upload
from certification.judge.resets import hard_reset_charging, soft_reset_charging
from certification.judge.sessions import (
    local_id_first_connection_loss,
    local_id_first_connection_timeout,
    local_plugin_first,
)
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire, stamp

TWO_CONNECTORS = RunSettings(connectors=2)
LOCAL = "Charge Point (authorization cache or local list)"


# 1. Authorize is not mandatory --------------------------------------------------------------


def connection_loss_session(wire: Wire, authorize: bool = True) -> None:
    """Card (Authorize unless cached), Preparing, the session, a 120 s loss, the catch-up."""
    if authorize:
        wire.authorize()
    wire.status(1, "Preparing")
    wire.wait(2)
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.wait(30)
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.event("connected")
    for offset in (30, 60, 90):
        wire.meter_values(sampled=cut + timedelta(seconds=offset))
    wire.wait(30)
    wire.meter_values()


def test_connection_loss_without_authorize_judges_the_session_across_the_loss() -> None:
    wire = Wire()
    connection_loss_session(wire, authorize=False)

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "No Authorize before StartTransaction: idTag CARD-1 was authorized by the charger "
            "from its authorization cache or local list (LocalPreAuthorize), as OCPP 1.6 allows",
            (3,),
        ),
    )
    assert judgement.measurements == {
        "transaction_id": 42,
        "connector_id": 1,
        "id_tag": "CARD-1",
        "authorized_by": LOCAL,
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:32+00:00",
        "reconnected_at": "2023-09-22T10:02:32+00:00",
        "queued_meter_values": 3,
        "new_meter_values": 1,
        "stopped_offline": False,
        "queued_sample_times": [
            "2023-09-22T10:01:02+00:00",
            "2023-09-22T10:01:32+00:00",
            "2023-09-22T10:02:02+00:00",
        ],
        "queued_sample_intervals_s": [30.0, 30.0],
    }


def test_connection_loss_with_authorize_reports_the_backend_as_the_source() -> None:
    wire = Wire()
    connection_loss_session(wire)

    judgement = local_id_first_connection_loss(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["authorized_by"] == "Central System (Authorize)"


def test_starting_without_authorize_while_local_pre_authorize_is_false_fails() -> None:
    wire = Wire()
    connection_loss_session(wire, authorize=False)

    judgement = local_id_first_connection_loss(
        wire.context(configuration={"LocalPreAuthorize": "false"})
    )

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "StartTransaction for idTag CARD-1 without Authorize although LocalPreAuthorize is "
            "false: the charger must wait for the Central System's Authorize.conf",
            (3,),
        ),
    )


def test_plugin_first_session_seen_only_as_charging_without_authorize_passes() -> None:
    # Cached card, no Preparing, no Finishing: Available -> Charging -> Available.
    wire = Wire()
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.wait(60)
    wire.meter_values()
    wire.wait(60)
    wire.stop_transaction(reason=None)
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "Y"
    assert [f.severity for f in judgement.findings] == ["info", "info", "info"]
    assert [f.message for f in judgement.findings] == [
        "No StatusNotification Preparing for connector 1 before the session; OCPP 1.6 does "
        "not require the connector to report this state",
        "No Authorize before StartTransaction: idTag CARD-1 was authorized by the charger "
        "from its authorization cache or local list (LocalPreAuthorize), as OCPP 1.6 allows",
        "No StatusNotification Finishing for connector 1 after the stop; OCPP 1.6 does not "
        "require the connector to report this state",
    ]
    assert judgement.measurements["authorized_by"] == LOCAL


@pytest.mark.parametrize("status", ["SuspendedEV", "SuspendedEVSE", "Charging"])
def test_a_suspended_session_stands_for_charging(status: str) -> None:
    wire = Wire()
    wire.status(2, "Preparing")
    wire.authorize()
    wire.start_transaction(connector=2)
    wire.status(2, status)
    wire.meter_values(connector=2)
    wire.stop_transaction()
    wire.status(2, "Finishing")
    wire.status(2, "Available")

    judgement = local_plugin_first(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["connector_id"] == 2


def test_a_session_status_on_the_other_connector_does_not_count() -> None:
    wire = Wire()
    wire.status(2, "Preparing")
    wire.authorize()
    wire.start_transaction(connector=2)
    wire.status(1, "Charging")
    wire.stop_transaction()
    wire.status(2, "Finishing")
    wire.status(2, "Available")

    judgement = local_plugin_first(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "N"
    assert "Expected StatusNotification Charging after" in judgement.findings[0].message


# 2. A StatusNotification before the CALLRESULT -----------------------------------------------


def test_status_before_the_change_availability_reply_counts_and_is_worded_with_its_timing() -> None:
    wire = Wire()
    inoperative = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    unavailable = wire.status(1, "Unavailable")
    wire.wait(0.004)
    reply = wire.result_in(inoperative, {"status": "Accepted"})
    wire.wait(5)
    operative = wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.wait(0.3)
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "StatusNotification Unavailable for connector 1 arrived 0.004 s before the reply to "
            "ChangeAvailability, which OCPP 1.6 allows",
            (unavailable.id or 0, reply.id or 0),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {
                "connector_id": 1,
                "type": "Inoperative",
                "answer": "Accepted",
                "status_delay_s": {"1": -0.004},
            },
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.3},
            },
        ]
    }
    assert operative.id == 5


def test_a_connector_already_in_the_requested_state_owes_no_status() -> None:
    wire = Wire()
    wire.status(1, "Available")
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.status(1, "Unavailable")
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(1, "Available")
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )

    judgement = change_availability(wire.context())

    assert judgement.verdict == "Y"
    assert [f.message for f in judgement.findings] == [
        "ChangeAvailability(connector 1, Operative): connector 1 was already Available, so no "
        "StatusNotification was due"
    ]


def test_missing_status_is_worded_as_what_arrived_and_when() -> None:
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.wait(1.5)
    wire.status(1, "Faulted", "GroundFailure")
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "ChangeAvailability(connector 1, Inoperative) was accepted but connector 1 sent no "
            "StatusNotification Unavailable; it reported Faulted 1.5 s after the reply",
            (1, 2),
        ),
    )


def test_connector_zero_takes_every_connector_out_of_service() -> None:
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}, {"status": "Accepted"}
    )
    for connector in (0, 1, 2):
        wire.status(connector, "Unavailable")
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(1, "Available")

    judgement = change_availability(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "N"
    assert [f.message for f in judgement.findings] == [
        "ChangeAvailability(connector 0, Operative) was accepted but connector 2 sent no "
        "StatusNotification Available"
    ]


# 3. Every GetDiagnostics of the attempt ------------------------------------------------------


def diagnostics_attempt(wire: Wire, location: str, outcome: str) -> None:
    wire.command("GetDiagnostics", {"location": location}, {"fileName": "diag.zip"})
    if outcome == "Uploaded":
        wire.diagnostics_status("Uploading")
        wire.wait(4)
    wire.diagnostics_status(outcome)
    wire.wait(10)


def test_an_ftp_only_charger_passes_with_the_http_attempt_as_information() -> None:
    wire = Wire()
    diagnostics_attempt(wire, "http://portal/diag/", "UploadFailed")
    diagnostics_attempt(wire, "ftp://portal/diag/", "Uploaded")

    judgement = diagnostics_upload(wire.context(received_file_names=["diag.zip"]))

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "GetDiagnostics to http://portal/diag/ did not upload (DiagnosticsStatusNotification "
            "UploadFailed received where Uploaded was expected); a later GetDiagnostics did, "
            "over a protocol the charger supports",
        ),
    )
    assert judgement.measurements == {
        "attempts": [
            {
                "location": "http://portal/diag/",
                "answer": "a reply without status",
                "file_name": "diag.zip",
                "status": "UploadFailed",
            },
            {
                "location": "ftp://portal/diag/",
                "answer": "a reply without status",
                "file_name": "diag.zip",
                "status": "Uploaded",
                "total_s": 4.0,
                "upload_s": 4.0,
            },
        ],
        "file_name": "diag.zip",
        "total_s": 4.0,
        "upload_s": 4.0,
    }


def test_diagnostics_fail_when_no_attempt_uploads() -> None:
    wire = Wire()
    diagnostics_attempt(wire, "http://portal/diag/", "UploadFailed")
    diagnostics_attempt(wire, "ftp://portal/diag/", "UploadFailed")

    judgement = diagnostics_upload(wire.context(received_file_names=[]))

    assert judgement.verdict == "N"
    assert [f.message for f in judgement.findings] == [
        "DiagnosticsStatusNotification UploadFailed received where Uploaded was expected",
        "DiagnosticsStatusNotification UploadFailed received where Uploaded was expected",
        "None of the 2 GetDiagnostics uploaded a diagnostics file",
    ]


def test_a_claimed_upload_whose_file_never_arrived_is_no_success() -> None:
    wire = Wire()
    diagnostics_attempt(wire, "http://portal/diag/", "Uploaded")

    judgement = diagnostics_upload(wire.context(received_file_names=["other.zip"]))

    assert judgement.verdict == "N"
    assert judgement.findings[0].message == (
        "The diagnostics file diag.zip never arrived at the upload location"
    )


# 4. The status after a reboot follows the cable ----------------------------------------------


def charging_then_reset(
    wire: Wire, kind: str, connector: int = 1, transaction_id: int = 42
) -> None:
    wire.status(connector, "Preparing")
    wire.start_transaction(connector=connector, transaction_id=transaction_id)
    wire.status(connector, "Charging")
    wire.wait(30)
    wire.command("Reset", {"type": kind}, {"status": "Accepted"})


def test_soft_reset_with_the_cable_already_out_expects_available_after_the_reboot() -> None:
    wire = Wire()
    charging_then_reset(wire, "Soft")
    wire.stop_transaction(reason="SoftReset")
    wire.status(1, "Finishing")
    wire.status(0, "Unavailable")
    wire.wait(2)
    wire.status(1, "Available")  # unplugged before the reboot
    wire.wait(5)
    wire.boot()
    for connector in (0, 1):
        wire.status(connector, "Available")

    judgement = soft_reset_charging(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["statuses_after_reboot"] == {"0": "Available", "1": "Available"}


def test_hard_reset_with_the_cable_still_in_expects_finishing_not_available() -> None:
    wire = Wire()
    charging_then_reset(wire, "Hard")
    wire.stop_transaction(reason="HardReset")
    wire.status(1, "Unavailable")
    wire.boot()
    for connector in (0, 1):
        wire.status(connector, "Available")

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "N"
    assert [f.message for f in judgement.findings] == [
        "Connector 1 reported Available after the reboot where Finishing was expected"
    ]


# 5. Step 1's durations and the triggered boot ------------------------------------------------


def test_a_triggered_boot_needs_no_statuses() -> None:
    wire = Wire()
    trigger = wire.command(
        "TriggerMessage", {"requestedMessage": "BootNotification"}, {"status": "Accepted"}
    )
    boot_call = wire.boot(interval=60)

    judgement = boot(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "BootNotification carries no ICCID; it is recommended when the charger connects "
            "over a SIM card, as it helps troubleshooting",
            (boot_call.id or 0,),
        ),
        Finding(
            "info",
            "The BootNotification was triggered by TriggerMessage, not sent by a reboot: "
            "StatusNotifications need not follow it",
            (trigger.id or 0, boot_call.id or 0),
        ),
        Finding(
            "info",
            "No Heartbeat yet: the step lasted 0 s after the accepted BootNotification, and the "
            "charger was never silent for longer than the 60 s interval",
        ),
    )
    assert judgement.measurements["triggered"] is True


def test_the_step_lasts_until_its_recorded_end_not_its_last_frame() -> None:
    wire = Wire()
    wire.boot(interval=60)
    for connector in (0, 1):
        wire.status(connector, "Available")
    end = wire.now + timedelta(seconds=20)

    judgement = boot(wire.context(finished_at=end))

    assert judgement.verdict == "Y"
    assert judgement.findings[-1].message == (
        "No Heartbeat yet: the step lasted 20 s after the accepted BootNotification, and the "
        "charger was never silent for longer than the 60 s interval"
    )


@pytest.mark.parametrize(("silence", "verdict"), [(64, "Y"), (64.001, "N")])
def test_no_heartbeat_fails_only_after_a_silence_beyond_the_interval(
    silence: float, verdict: str
) -> None:
    wire = Wire()
    wire.boot(interval=60)
    for connector in (0, 1):
        wire.status(connector, "Available")
    wire.wait(50)
    wire.request("DataTransfer", {"vendorId": "XCharge"}, {"status": "Accepted"})
    end = wire.now + timedelta(seconds=silence)

    judgement = boot(wire.context(finished_at=end))

    assert judgement.verdict == verdict


# 6. Accepted configuration that is not applied -----------------------------------------------


def metered_session(wire: Wire, every: float, samples: int) -> None:
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    for _ in range(samples):
        wire.wait(every)
        wire.meter_values()
    wire.wait(5)
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")


@pytest.mark.parametrize(
    ("every", "verdict"), [(25, "N"), (26, "Y"), (30, "Y"), (34, "Y"), (35, "N")]
)
def test_periodic_meter_values_follow_the_accepted_sample_interval(
    every: float, verdict: str
) -> None:
    # 30 s accepted in step 4 (param `configuration`); the tolerance is the run's, 4 s by
    # default, either way (sample timestamps carry whole seconds).
    wire = Wire()
    metered_session(wire, every, 4)

    judgement = local_plugin_first(wire.context(configuration={"MeterValueSampleInterval": "30"}))

    assert judgement.verdict == verdict, judgement.findings


def test_meter_values_every_5_s_under_an_accepted_30_s_interval_fail() -> None:
    wire = Wire()
    metered_session(wire, 5, 3)

    judgement = local_plugin_first(wire.context(configuration={"MeterValueSampleInterval": "30"}))

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "Periodic MeterValues came every 5 s where MeterValueSampleInterval is 30 s: the "
            "charger does not apply the interval it accepted",
            (9, 11, 13),
        ),
    )
    assert judgement.measurements["sample_gaps_s"] == [5.0, 5.0]


def test_clock_aligned_values_are_not_held_to_the_sample_interval() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    for _ in range(3):
        wire.wait(5)
        wire.request(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [
                    {
                        "timestamp": stamp(wire.now),
                        "sampledValue": [{"value": "1", "context": "Sample.Clock"}],
                    }
                ],
            },
            {},
        )
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context(configuration={"MeterValueSampleInterval": "30"}))

    assert (judgement.verdict, judgement.findings) == ("Y", ())


def test_an_accepted_value_read_back_as_another_fails_in_any_step() -> None:
    wire = Wire()
    change = wire.command(
        "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "30"}, {"status": "Accepted"}
    )
    read = wire.command(
        "GetConfiguration",
        {"key": ["ConnectionTimeOut"]},
        {"configurationKey": [{"key": "ConnectionTimeOut", "readonly": False, "value": "60"}]},
    )
    wire.authorize()
    wire.status(1, "Preparing")
    wire.wait(60)
    wire.status(1, "Available")

    judgement = local_id_first_connection_timeout(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings[0] == Finding(
        "fail",
        "ChangeConfiguration of ConnectionTimeOut to 30 was answered Accepted, but "
        "GetConfiguration afterwards reads ConnectionTimeOut as 60: the charger did not apply "
        "the value it accepted",
        (change.id or 0, 2, 4),
    )
    assert read.id == 3


@pytest.mark.parametrize(("read", "verdict"), [("30", "Y"), (" 30 ", "Y"), ("31", "N")])
def test_read_back_compares_values_not_spellings(read: str, verdict: str) -> None:
    wire = Wire()
    wire.command(
        "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "30"}, {"status": "Accepted"}
    )
    wire.command(
        "GetConfiguration",
        {"key": ["ConnectionTimeOut"]},
        {"configurationKey": [{"key": "ConnectionTimeOut", "readonly": False, "value": read}]},
    )
    wire.authorize()
    wire.status(1, "Preparing")
    wire.wait(30)
    wire.status(1, "Available")

    assert local_id_first_connection_timeout(wire.context()).verdict == verdict


# 8. After the reconnect: the connection event, and values after an offline stop --------------


def test_a_live_value_sampled_after_the_reconnect_is_new_even_before_the_first_frame() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.wait(10)
    wire.event("closed")
    cut = wire.now
    wire.wait(100)
    wire.event("connected")
    back = wire.now
    wire.wait(2)  # the first frame comes 2 s after the websocket is back
    for offset in (30, 60, 90):
        wire.meter_values(sampled=cut + timedelta(seconds=offset))
    wire.meter_values(sampled=back + timedelta(seconds=1))  # live, sampled after reconnecting
    wire.wait(30)
    wire.meter_values()

    judgement = local_id_first_connection_loss(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["queued_meter_values"] == 3
    assert judgement.measurements["new_meter_values"] == 2
    assert judgement.measurements["gap_s"] == 100.0


def test_values_sampled_after_an_offline_stop_fail() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.wait(10)
    wire.event("closed")
    cut = wire.now
    wire.wait(100)
    wire.event("connected")
    wire.meter_values(sampled=cut + timedelta(seconds=30))
    stop = wire.stop_transaction(timestamp=cut + timedelta(seconds=40))
    late = wire.meter_values(sampled=cut + timedelta(seconds=60))

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings[0] == Finding(
        "fail",
        "1 MeterValues for transaction 42 sampled after its StopTransaction (10:00:50); a "
        "stopped transaction reports no further values",
        (stop.id or 0, late.id or 0),
    )


# 9. A transaction that survives a reboot -----------------------------------------------------


def test_a_transaction_metering_after_the_reboot_without_a_stop_fails_citing_the_frames() -> None:
    wire = Wire()
    charging_then_reset(wire, "Hard")
    wire.status(1, "Unavailable")
    wire.wait(10)
    boot_call = wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Finishing")
    wire.wait(60)
    survivor = wire.meter_values()

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "No StopTransaction for transaction 42 after Reset(Hard); one with reason HardReset "
            "was expected",
            (7,),
        ),
        Finding(
            "fail",
            "Transaction 42 survived the reboot: 1 MeterValues for it were sampled after the "
            "BootNotification, where the reset was to end it",
            (boot_call.id or 0, survivor.id or 0),
        ),
    )


def test_a_queued_value_sampled_before_the_reset_may_arrive_after_the_reboot() -> None:
    wire = Wire()
    charging_then_reset(wire, "Hard")
    sampled = wire.now
    wire.status(1, "Unavailable")
    wire.boot()
    wire.stop_transaction(reason="HardReset", timestamp=sampled)
    wire.meter_values(sampled=sampled - timedelta(seconds=1))
    wire.status(0, "Available")
    wire.status(1, "Finishing")

    judgement = hard_reset_charging(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())


def test_a_stop_of_another_transaction_does_not_close_the_running_one() -> None:
    wire = Wire()
    charging_then_reset(wire, "Hard", transaction_id=6)
    wire.stop_transaction(transaction_id=1, reason="HardReset")
    wire.status(1, "Unavailable")
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Finishing")

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "N"
    assert [f.message for f in judgement.findings] == [
        "StopTransaction for transaction 1 where transaction 6 was running"
    ]


def test_every_transaction_of_two_connectors_must_stop_on_reset() -> None:
    wire = Wire()
    wire.start_transaction(connector=1, transaction_id=7)
    wire.status(1, "Charging")
    wire.start_transaction(connector=2, transaction_id=8)
    wire.status(2, "SuspendedEV")
    wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.stop_transaction(transaction_id=7, reason="SoftReset")
    wire.status(1, "Finishing")
    wire.status(2, "Unavailable")

    judgement = soft_reset_charging(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "N"
    assert [f.message for f in judgement.findings] == [
        "No StopTransaction for transaction 8 after Reset(Soft); one with reason SoftReset was "
        "expected"
    ]


# 10. Step 22: which card, and whether it was cached -----------------------------------------


def test_clear_cache_reports_the_presented_card_cached_in_an_earlier_step() -> None:
    wire = Wire()
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.wait(12)
    wire.authorize("CARD-7")

    judgement = clear_cache(wire.context(last_authorized_id_tag="CARD-7"))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "id_tag": "CARD-7",
        "cached_id_tag": "CARD-7",
        "cached": True,
        "authorized_after_clear": True,
        "clear_to_authorize_s": 12.0,
    }


def test_clear_cache_names_the_card_even_when_nothing_shows_it_was_cached() -> None:
    wire = Wire()
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.authorize("CARD-9")

    judgement = clear_cache(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["id_tag"] == "CARD-9"
    assert judgement.measurements["cached"] is False


@pytest.mark.parametrize(
    ("after_stop_s", "context", "verdict"),
    [(1, "Sample.Periodic", "Y"), (1.001, "Sample.Periodic", "N"), (30, "Transaction.End", "Y")],
)
def test_a_reading_at_the_stop_is_not_a_value_after_it(
    after_stop_s: float, context: str, verdict: str
) -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.wait(60)
    stopped = wire.now
    wire.stop_transaction()
    wire.request(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 42,
            "meterValue": [
                {
                    "timestamp": (stopped + timedelta(seconds=after_stop_s)).isoformat(),
                    "sampledValue": [{"value": "2500", "context": context}],
                }
            ],
        },
        {},
    )
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    assert local_plugin_first(wire.context()).verdict == verdict
