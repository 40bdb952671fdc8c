"""Steps 6, 7, 8 and 13: local charging sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from certification.judge.sessions import (
    local_id_first_connection_loss,
    local_id_first_connection_timeout,
    local_plugin_first,
    local_unauthorized,
)
from certification.judge.types import Finding, RunSettings
from tests.judge.expected import timeout_measurements, transaction_measurements, wrong_stop_reason
from tests.judge.frames import Wire


def plugin_first_measurements(id_tag: str = "CARD-1", meter_values: int = 1) -> dict[str, Any]:
    """Step 6's measurements of a `quick_session`, in which no time passes."""
    return {
        **transaction_measurements(id_tag),
        "charging_s": 0.0,
        "energy_wh": 1500,
        "meter_values": meter_values,
        "finishing_to_available_s": 0.0,
    }


def quick_session(
    start_card: str = "CARD-1", stop_reason: str | None = "Local", meter_values: bool = True
) -> Wire:
    """Step 6's plug-in-first session in order, all in the same second."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("CARD-1")
    wire.start_transaction(id_tag=start_card)
    wire.status(1, "Charging")
    if meter_values:
        wire.meter_values()
    wire.stop_transaction(reason=stop_reason)
    wire.status(1, "Finishing")
    wire.status(1, "Available")
    return wire


def plugin_first_session(charging_first: bool = False, finishing_first: bool = False) -> Wire:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.wait(5)
    wire.authorize()
    if charging_first:
        wire.status(1, "Charging")
        wire.start_transaction()
    else:
        wire.start_transaction()
        wire.status(1, "Charging")
    wire.wait(60)
    wire.meter_values()
    wire.wait(60)
    if finishing_first:
        wire.status(1, "Finishing")
        wire.stop_transaction()
    else:
        wire.stop_transaction()
        wire.status(1, "Finishing")
    wire.wait(30)
    wire.status(1, "Available")
    return wire


@pytest.mark.parametrize("charging_first", [False, True])
@pytest.mark.parametrize("finishing_first", [False, True])
def test_plugin_first_session_passes_in_either_order(
    charging_first: bool, finishing_first: bool
) -> None:
    wire = plugin_first_session(charging_first, finishing_first)

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements["transaction_id"] == 42
    assert judgement.measurements["energy_wh"] == 1500
    assert judgement.measurements["meter_values"] == 1
    assert judgement.measurements["finishing_to_available_s"] == 30.0


def test_plugin_first_session_fails_when_authorize_comes_before_plug_in() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.meter_values()
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert "Authorize arrived before StatusNotification Preparing" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Authorize arrived before StatusNotification Preparing, where it was "
            "expected after it: the cable was to be plugged in first",
            frame_ids=(1, 3),
        ),
    )
    assert judgement.measurements == plugin_first_measurements()


def test_plugin_first_session_fails_on_a_wrong_stop_reason() -> None:
    wire = quick_session(stop_reason="EVDisconnected")

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert (
        "reason EVDisconnected where Local or omitted was expected" in judgement.findings[0].message
    )
    assert judgement.findings == (wrong_stop_reason("EVDisconnected", "Local or omitted", 11),)
    assert judgement.measurements == plugin_first_measurements()


def test_plugin_first_session_accepts_an_omitted_stop_reason() -> None:
    wire = quick_session(stop_reason=None)

    assert local_plugin_first(wire.context()).verdict == "Y"


def test_plugin_first_session_without_meter_values_is_minor() -> None:
    wire = quick_session(meter_values=False)

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert "No MeterValues" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="minor",
            message="No MeterValues received during the transaction",
            frame_ids=(5, 9),
        ),
    )
    assert judgement.measurements == plugin_first_measurements(meter_values=0)


def test_plugin_first_session_fails_without_the_final_available() -> None:
    wire = plugin_first_session()
    wire.frames.pop()
    wire.frames.pop()

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert "Expected StatusNotification Available after StopTransaction and " in (
        judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Expected StatusNotification Available after StopTransaction and "
            "StatusNotification Finishing; none was recorded",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        **transaction_measurements(),
        "charging_s": 120.0,
        "energy_wh": 1500,
        "meter_values": 1,
    }


def test_plugin_first_session_fails_when_start_uses_another_card() -> None:
    wire = quick_session(start_card="CARD-2")

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert "idTag CARD-2 where CARD-1 was expected" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StartTransaction carries idTag CARD-2 where CARD-1 was expected",
            frame_ids=(5,),
        ),
    )
    assert judgement.measurements == plugin_first_measurements(id_tag="CARD-2")


def test_plugin_first_session_flags_a_schema_violation() -> None:
    wire = plugin_first_session()
    wire.call_in(
        "MeterValues", {"connectorId": 1}, validation_error="'meterValue' is a required property"
    )

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert "MeterValues request from the charger violates the OCPP 1.6 schema" in (
        judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="MeterValues request from the charger violates the OCPP 1.6 schema: "
            "'meterValue' is a required property",
            frame_ids=(17,),
        ),
    )
    assert judgement.measurements == {
        **transaction_measurements(),
        "charging_s": 120.0,
        "energy_wh": 1500,
        "meter_values": 1,
        "finishing_to_available_s": 30.0,
    }


# Step 7 ------------------------------------------------------------------------------------


def connection_loss_session(
    queued_in_order: bool = True, offline_stop: bool = True, preparing_after_start: bool = False
) -> Wire:
    wire = Wire()
    wire.authorize()
    if not preparing_after_start:
        wire.status(1, "Preparing")
    wire.start_transaction()
    if preparing_after_start:
        wire.wait(0.3)
        wire.status(1, "Preparing")
    wire.status(1, "Charging")
    wire.wait(30)
    wire.meter_values()
    wire.event("closed")
    cut = wire.now
    wire.wait(100)
    stop_time = wire.now
    wire.wait(20)
    wire.event("connected")
    samples = [
        cut + timedelta(seconds=30),
        cut + timedelta(seconds=60),
        cut + timedelta(seconds=90),
    ]
    if not queued_in_order:
        samples = [samples[1], samples[0], samples[2]]
    for sampled in samples:
        wire.meter_values(sampled=sampled)
    if offline_stop:
        wire.stop_transaction(timestamp=stop_time)
    return wire


def test_connection_loss_passes_with_gap_and_ordered_catch_up() -> None:
    wire = connection_loss_session()

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:30+00:00",
        "reconnected_at": "2023-09-22T10:02:30+00:00",
        "queued_meter_values": 3,
        "new_meter_values": 0,
        "stopped_offline": True,
        "queued_sample_times": [
            "2023-09-22T10:01:00+00:00",
            "2023-09-22T10:01:30+00:00",
            "2023-09-22T10:02:00+00:00",
        ],
        "queued_sample_intervals_s": [30.0, 30.0],
    }


def test_connection_loss_passes_with_preparing_reported_just_after_start_transaction() -> None:
    """Module docstring: StatusNotification and StartTransaction may come in either order.
    A Preparing 0.3 s after StartTransaction is reported as what arrived and when, and the
    session across the connection loss is judged as usual."""
    wire = connection_loss_session(preparing_after_start=True)
    start, preparing = wire.ids("StartTransaction")[0], wire.ids("StatusNotification")[0]

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "StatusNotification Preparing arrived 0.3 s after StartTransaction, not before it; "
            "OCPP 1.6 sets no order between a StatusNotification and other messages",
            (start, preparing),
        ),
    )
    assert judgement.measurements["queued_meter_values"] == 3


def test_connection_loss_fails_when_queued_values_arrive_out_of_order() -> None:
    wire = connection_loss_session(queued_in_order=False)

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "Queued MeterValues arrived out of chronological order: sampled at 10:01:00 after "
            "one sampled at 10:01:30",
            (wire.ids("MeterValues")[2],),
        ),
    )
    assert judgement.measurements["queued_sample_intervals_s"] == [-30.0, 60.0]
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:30+00:00",
        "reconnected_at": "2023-09-22T10:02:30+00:00",
        "queued_meter_values": 3,
        "new_meter_values": 0,
        "stopped_offline": True,
        "queued_sample_times": [
            "2023-09-22T10:01:30+00:00",
            "2023-09-22T10:01:00+00:00",
            "2023-09-22T10:02:00+00:00",
        ],
        "queued_sample_intervals_s": [-30.0, 60.0],
    }


def test_connection_loss_fails_when_a_new_value_overtakes_the_queue() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.meter_values()
    wire.meter_values(sampled=cut + timedelta(seconds=30))

    judgement = local_id_first_connection_loss(wire.context())

    new, queued = wire.ids("MeterValues")
    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "Queued MeterValues sampled at 10:00:30 arrived after new MeterValues sampled at "
            "10:02:00; queued values must come first",
            (queued, new),
        ),
    )
    assert (
        judgement.measurements["queued_meter_values"],
        judgement.measurements["new_meter_values"],
    ) == (1, 1)
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:00+00:00",
        "reconnected_at": "2023-09-22T10:02:00+00:00",
        "queued_meter_values": 1,
        "new_meter_values": 1,
        "stopped_offline": False,
        "queued_sample_times": ["2023-09-22T10:00:30+00:00"],
        "queued_sample_intervals_s": [],
    }


def test_connection_loss_fails_without_a_gap_in_the_evidence() -> None:
    wire = Wire()
    wire.start_card_first()
    for _ in range(3):
        wire.wait(10)
        wire.meter_values()

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "No connection loss in the evidence: no closed connection after StartTransaction "
            "and no silence of 60 s or more",
            tuple(wire.ids("StartTransaction")),
        ),
    )
    assert judgement.measurements == {
        **transaction_measurements(),
    }


def test_connection_loss_detects_a_gap_from_silence_alone() -> None:
    wire = Wire()
    wire.start_card_first()
    silent_from = wire.now
    wire.wait(180)
    wire.meter_values(sampled=silent_from + timedelta(seconds=60))
    wire.meter_values()

    judgement = local_id_first_connection_loss(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["gap_s"] == 180.0
    assert judgement.measurements["connection_lost_at"] == "2023-09-22T10:00:00+00:00"
    assert judgement.measurements["reconnected_at"] == "2023-09-22T10:03:00+00:00"
    assert judgement.measurements["queued_meter_values"] == 1
    assert judgement.measurements["new_meter_values"] == 1
    assert judgement.measurements["stopped_offline"] is False
    assert judgement.findings == ()
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 180.0,
        "connection_lost_at": "2023-09-22T10:00:00+00:00",
        "reconnected_at": "2023-09-22T10:03:00+00:00",
        "queued_meter_values": 1,
        "new_meter_values": 1,
        "stopped_offline": False,
        "queued_sample_times": ["2023-09-22T10:01:00+00:00"],
        "queued_sample_intervals_s": [],
    }


def test_connection_loss_fails_without_queued_meter_values() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.event("closed")
    wire.wait(120)
    wire.meter_values()

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "No queued MeterValues arrived after the connection was restored; values sampled "
            "during the gap were expected first",
            (),
        ),
    )
    assert (
        judgement.measurements["queued_meter_values"],
        judgement.measurements["new_meter_values"],
    ) == (0, 1)
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:00+00:00",
        "reconnected_at": "2023-09-22T10:02:00+00:00",
        "queued_meter_values": 0,
        "new_meter_values": 1,
        "stopped_offline": False,
        "queued_sample_times": [],
        "queued_sample_intervals_s": [],
    }


def test_connection_loss_fails_when_offline_stop_overtakes_queued_values() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.stop_transaction(timestamp=cut + timedelta(seconds=90))
    wire.meter_values(sampled=cut + timedelta(seconds=30))

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "1 queued MeterValues sampled before the offline stop arrived after "
            "StopTransaction; they were expected before it",
            (*wire.ids("StopTransaction"), *wire.ids("MeterValues")),
        ),
    )
    assert judgement.measurements["stopped_offline"] is True
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:00+00:00",
        "reconnected_at": "2023-09-22T10:02:00+00:00",
        "queued_meter_values": 1,
        "new_meter_values": 0,
        "stopped_offline": True,
        "queued_sample_times": ["2023-09-22T10:00:30+00:00"],
        "queued_sample_intervals_s": [],
    }


def test_connection_loss_shorter_than_three_sample_intervals_is_minor() -> None:
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "60"},
        {"status": "Accepted"},
    )
    wire.start_card_first()
    wire.event("closed")
    cut = wire.now
    wire.wait(90)
    wire.meter_values(sampled=cut + timedelta(seconds=60))

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "minor",
            "The connection was lost for 90 s, less than 3 sample intervals (3 x 60 s)",
            (),
        ),
    )
    assert judgement.measurements == {
        **transaction_measurements(),
        "gap_s": 90.0,
        "connection_lost_at": "2023-09-22T10:00:00+00:00",
        "reconnected_at": "2023-09-22T10:01:30+00:00",
        "queued_meter_values": 1,
        "new_meter_values": 0,
        "stopped_offline": False,
        "queued_sample_times": ["2023-09-22T10:01:00+00:00"],
        "queued_sample_intervals_s": [],
    }


# Step 8 ------------------------------------------------------------------------------------


def timeout_not_applied(configured: int, measured: int, frame_ids: tuple[int, ...]) -> Finding:
    """The fail that the connector went back to Available after `measured` s where the
    charger accepted a ConnectionTimeOut of `configured` s."""
    return Finding(
        severity="fail",
        message=f"ConnectionTimeOut is {configured} s (accepted by the charger) but the "
        f"connector returned to Available after {measured} s: the charger does not apply "
        "the value it accepted",
        frame_ids=frame_ids,
    )


def timeout_session(configured: int | None, measured: float) -> Wire:
    wire = Wire()
    if configured is not None:
        wire.command(
            "ChangeConfiguration",
            {"key": "ConnectionTimeOut", "value": str(configured)},
            {"status": "Accepted"},
        )
    wire.authorize()
    wire.wait(1)
    wire.status(1, "Preparing")
    wire.wait(measured)
    wire.status(1, "Available")
    return wire


def test_connection_timeout_passes_when_measured_matches_configured() -> None:
    judgement = local_id_first_connection_timeout(timeout_session(60, 61).context())

    assert judgement.verdict == "Y"
    assert not judgement.minor
    assert judgement.measurements["connection_timeout_s"] == 61.0
    assert judgement.measurements["configured_timeout_s"] == 60
    assert judgement.measurements["authorize_to_available_s"] == 62.0
    assert judgement.findings == ()
    assert judgement.measurements == timeout_measurements(60, 61.0, 62.0)


def test_connection_timeout_accepted_but_not_applied_fails_naming_both_values() -> None:
    # The seed's charger accepts 30 s and keeps 60 s: it does not do what it accepted.
    wire = timeout_session(30, 60)

    judgement = local_id_first_connection_timeout(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (timeout_not_applied(30, 60, (5, 7)),)
    assert judgement.measurements == timeout_measurements(30, 60.0, 61.0)


@pytest.mark.parametrize(
    ("measured", "verdict"), [(25.999, "N"), (26, "Y"), (30, "Y"), (34, "Y"), (34.001, "N")]
)
def test_connection_timeout_tolerance_is_the_runs_four_seconds_either_way(
    measured: float, verdict: str
) -> None:
    judgement = local_id_first_connection_timeout(timeout_session(30, measured).context())

    assert judgement.verdict == verdict


def test_connection_timeout_tolerance_follows_the_lab_setting() -> None:
    wire = timeout_session(30, 37)

    judgement = local_id_first_connection_timeout(wire.context(RunSettings(timing_tolerance_s=8)))

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements == timeout_measurements(30, 37.0, 38.0)


def test_connection_timeout_uses_the_value_accepted_in_an_earlier_step() -> None:
    wire = timeout_session(None, 60)

    judgement = local_id_first_connection_timeout(
        wire.context(configuration={"ConnectionTimeOut": "30"})
    )

    assert judgement.verdict == "N"
    assert judgement.measurements["configured_timeout_s"] == 30
    assert judgement.findings == (timeout_not_applied(30, 60, (3, 5)),)
    assert judgement.measurements == timeout_measurements(30, 60.0, 61.0)


def test_connection_timeout_without_authorize_is_a_locally_authorized_card() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.wait(30)
    wire.status(1, "Available")

    judgement = local_id_first_connection_timeout(
        wire.context(configuration={"ConnectionTimeOut": "30"})
    )

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements == {
        "authorized_by": "Charge Point (authorization cache or local list)",
        "configured_timeout_s": 30,
        "connection_timeout_s": 30.0,
    }


def test_connection_timeout_reads_the_configured_value_from_get_configuration() -> None:
    wire = Wire()
    wire.command(
        "GetConfiguration",
        {"key": ["ConnectionTimeOut"]},
        {"configurationKey": [{"key": "ConnectionTimeOut", "readonly": False, "value": "45"}]},
    )
    wire.authorize()
    wire.status(1, "Preparing")
    wire.wait(45)
    wire.status(1, "Available")

    judgement = local_id_first_connection_timeout(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["configured_timeout_s"] == 45
    assert judgement.findings == ()
    assert judgement.measurements == timeout_measurements(45, 45.0, 45.0)


def test_connection_timeout_param_overrides_the_frames() -> None:
    judgement = local_id_first_connection_timeout(
        timeout_session(None, 90).context(configured_timeout_s=90)
    )

    assert judgement.verdict == "Y"
    assert not judgement.minor
    assert judgement.findings == ()
    assert judgement.measurements == timeout_measurements(90, 90.0, 91.0)


def test_connection_timeout_unknown_configuration_is_reported_as_information() -> None:
    judgement = local_id_first_connection_timeout(timeout_session(None, 60).context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["configured_timeout_s"] is None
    assert "not known" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="info",
            message="ConnectionTimeOut is not known for this step; the connector returned "
            "to Available after 60 s",
            frame_ids=(3, 5),
        ),
    )
    assert judgement.measurements == timeout_measurements(None, 60.0, 61.0)


def test_connection_timeout_fails_when_a_transaction_starts() -> None:
    wire = timeout_session(60, 10)
    wire.start_transaction()

    judgement = local_id_first_connection_timeout(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "StartTransaction received although no cable" in f.message for f in judgement.findings
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StartTransaction received although no cable was plugged in; the "
            "session was expected to time out",
            frame_ids=(9,),
        ),
        timeout_not_applied(60, 10, (5, 7)),
    )
    assert judgement.measurements == timeout_measurements(60, 10.0, 11.0)


def test_connection_timeout_fails_when_the_connector_never_returns_to_available() -> None:
    wire = Wire()
    wire.authorize()
    wire.status(1, "Preparing")

    judgement = local_id_first_connection_timeout(wire.context())

    assert judgement.verdict == "N"
    assert "Expected StatusNotification Available" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Expected StatusNotification Available after StatusNotification "
            "Preparing; none was recorded",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "authorized_by": "Central System (Authorize)",
        "configured_timeout_s": None,
    }


# Step 13 -----------------------------------------------------------------------------------


def test_unauthorized_card_passes_when_no_transaction_starts() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("BLOCKED-1", status="Blocked")

    judgement = local_unauthorized(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements == {"id_tag": "BLOCKED-1", "authorize_status": "Blocked"}
    assert judgement.findings == ()


def test_unauthorized_card_fails_when_a_transaction_starts_anyway() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("UNKNOWN-1", status="Invalid")
    wire.start_transaction(id_tag="UNKNOWN-1")

    judgement = local_unauthorized(wire.context())

    assert judgement.verdict == "N"
    assert "StartTransaction received after Authorize was answered Invalid" in (
        judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StartTransaction received after Authorize was answered Invalid; no "
            "transaction may start",
            frame_ids=(5,),
        ),
    )
    assert judgement.measurements == {"id_tag": "UNKNOWN-1", "authorize_status": "Invalid"}


def test_unauthorized_step_fails_when_the_card_was_accepted() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("CARD-1", status="Accepted")

    judgement = local_unauthorized(wire.context())

    assert judgement.verdict == "N"
    assert "answered Accepted; the step needs an unknown" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Authorize for idTag CARD-1 answered Accepted; the step needs an "
            "unknown, blocked or expired card",
            frame_ids=(3, 4),
        ),
    )
    assert judgement.measurements == {"id_tag": "CARD-1", "authorize_status": "Accepted"}


def test_unauthorized_step_fails_without_authorize() -> None:
    wire = Wire()
    wire.status(1, "Preparing")

    judgement = local_unauthorized(wire.context())

    assert judgement.verdict == "N"
    assert "Expected Authorize after StatusNotification Preparing" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Expected Authorize after StatusNotification Preparing; none was recorded",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {}
