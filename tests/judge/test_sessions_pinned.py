"""Steps 6, 7, 8 and 13 with their whole judgements pinned: the portal's answers that do not
open the session, messages inconsistent with each other, and each bound of the step's
thresholds (issue 15, item 14: tests that kill the mutants of certification/judge/sessions.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from certification.judge.remote import remote_start_stop_cable_first
from certification.judge.sessions import (
    find_gap,
    local_id_first_connection_loss,
    local_id_first_connection_timeout,
    local_plugin_first,
    local_unauthorized,
)
from certification.judge.types import Finding, Frame, Judgement, RunSettings
from tests.judge.expected import timeout_measurements
from tests.judge.frames import START, Wire, cited, stamp


def plugin_first_with_answers(
    authorize_reply: dict[str, Any] | None = None,
    start_reply: dict[str, Any] | str | None = None,
) -> tuple[Wire, Frame, Frame]:
    """Step 6 on connector 1, with the portal's Authorize and StartTransaction replies given:
    a CALLRESULT payload, "error" for a CALLERROR InternalError, None for no reply.
    Returns the wire, the Authorize CALL and the StartTransaction CALL."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.wait(5)
    authorize = wire.call_in("Authorize", {"idTag": "CARD-1"})
    if authorize_reply is not None:
        wire.result_out(authorize, authorize_reply)
    start = wire.call_in(
        "StartTransaction",
        {"connectorId": 1, "idTag": "CARD-1", "meterStart": 1000, "timestamp": stamp(wire.now)},
    )
    if start_reply == "error":
        wire.error_out(start, "InternalError", "db down")
    elif isinstance(start_reply, dict):
        wire.result_out(start, start_reply)
    wire.status(1, "Charging")
    wire.wait(60)
    wire.meter_values()
    wire.wait(60)
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.wait(30)
    wire.status(1, "Available")
    return wire, authorize, start


ACCEPTED = {"idTagInfo": {"status": "Accepted"}}
OPENED = {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}


@pytest.mark.parametrize(
    ("reply", "answer"), [({"idTagInfo": {"status": "Blocked"}}, "Blocked"), (None, "no reply")]
)
def test_an_authorize_the_portal_did_not_accept_fails_naming_its_answer(
    reply: dict[str, Any] | None, answer: str
) -> None:
    wire, authorize, _ = plugin_first_with_answers(reply, OPENED)

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            f"Authorize for idTag CARD-1 answered {answer} where Accepted was expected",
            wire.exchange_ids(authorize),
        ),
    )
    assert judgement.measurements["transaction_id"] == 42


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("error", "StartTransaction got CALLERROR InternalError (db down) from the portal"),
        (None, "StartTransaction got no reply from the portal"),
        ({"idTagInfo": {"status": "Accepted"}}, "StartTransaction reply carries no transactionId"),
    ],
)
def test_a_start_the_portal_did_not_open_fails_and_counts_no_meter_values(
    reply: str | dict[str, Any] | None, message: str
) -> None:
    """Without a transactionId from the portal, no MeterValues belong to the session."""
    wire, _, start = plugin_first_with_answers(ACCEPTED, reply)
    stop = next(frame for frame in wire.frames if frame.action == "StopTransaction")

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding("fail", message, wire.exchange_ids(start)),
        Finding("minor", "No MeterValues received during the transaction", cited(start, stop)),
    )
    assert judgement.measurements["transaction_id"] is None
    assert judgement.measurements["meter_values"] == 0


def test_a_start_answered_invalid_fails_with_the_card_and_the_answer() -> None:
    wire, _, start = plugin_first_with_answers(
        ACCEPTED, {"transactionId": 42, "idTagInfo": {"status": "Invalid"}}
    )

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "StartTransaction for idTag CARD-1 answered Invalid where Accepted was expected",
            wire.exchange_ids(start),
        ),
    )


TWO_CONNECTORS = RunSettings(connectors=2)


def remote_session(
    remote_start: dict[str, Any], connector: int, id_tag: str = "CARD-1", preparing: bool = False
) -> tuple[Wire, Frame]:
    """Step 14 where the charger starts on `connector` with `id_tag`; returns the wire and
    the StartTransaction CALL. The helpers of the sessions module judge its start."""
    wire = Wire()
    if preparing:
        wire.status(connector, "Preparing")
    wire.command("RemoteStartTransaction", remote_start, {"status": "Accepted"})
    wire.wait(3)
    start = wire.start_transaction(connector=connector, id_tag=id_tag, transaction_id=6)
    wire.status(connector, "Charging")
    wire.wait(60)
    wire.command("RemoteStopTransaction", {"transactionId": 6}, {"status": "Accepted"})
    wire.wait(2)
    wire.stop_transaction(transaction_id=6, reason="Remote")
    wire.status(connector, "Finishing")
    return wire, start


def test_a_remote_start_without_connector_runs_on_the_connector_the_charger_started() -> None:
    """RemoteStartTransaction.connectorId is optional (OCPP 1.6 §6.33): without it and
    without Preparing, the session's connector is the one StartTransaction names."""
    wire, _ = remote_session({"idTag": "CARD-1"}, connector=2)

    judgement = remote_start_stop_cable_first(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "No StatusNotification Preparing for connector 2 before the remote start; OCPP 1.6 "
            "does not require the connector to report this state",
            (),
        ),
    )
    assert judgement.measurements == {
        "transaction_id": 6,
        "connector_id": 2,
        "id_tag": "CARD-1",
        "charging_s": 62.0,
        "energy_wh": 1500,
        "meter_values": 0,
        "remote_start_to_start_s": 3.0,
        "authorized": False,
        "remote_stop_to_stop_s": 2.0,
    }


def test_a_start_on_another_connector_than_the_remote_start_named_fails() -> None:
    wire, start = remote_session({"idTag": "CARD-1", "connectorId": 1}, connector=2)

    judgement = remote_start_stop_cable_first(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "Expected StatusNotification Charging after RemoteStartTransaction; none was recorded",
            (),
        ),
        Finding(
            "fail",
            "Expected StatusNotification Finishing after RemoteStopTransaction; none was recorded",
            (),
        ),
        Finding(
            "info",
            "No StatusNotification Preparing for connector 1 before the remote start; OCPP 1.6 "
            "does not require the connector to report this state",
            (),
        ),
        Finding(
            "fail", "StartTransaction on connector 2 where connector 1 was expected", cited(start)
        ),
    )


def test_a_start_with_another_card_than_the_remote_start_named_fails() -> None:
    wire, start = remote_session(
        {"idTag": "CARD-1", "connectorId": 2}, connector=2, id_tag="CARD-2", preparing=True
    )

    judgement = remote_start_stop_cable_first(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail", "StartTransaction carries idTag CARD-2 where CARD-1 was expected", cited(start)
        ),
    )
    assert judgement.measurements["id_tag"] == "CARD-2"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (None, "StopTransaction reason omitted (Local) where Remote was expected"),
        ("Local", "StopTransaction reason Local where Remote was expected"),
    ],
)
def test_a_remote_stop_answered_with_a_local_stop_fails(reason: str | None, message: str) -> None:
    """OCPP 1.6 §5.12: a remote stop is a StopTransaction with reason Remote; an omitted
    reason means Local (§4.10)."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command(
        "RemoteStartTransaction", {"idTag": "CARD-1", "connectorId": 1}, {"status": "Accepted"}
    )
    wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    wire.command("RemoteStopTransaction", {"transactionId": 6}, {"status": "Accepted"})
    stop = wire.stop_transaction(transaction_id=6, reason=reason)
    wire.status(1, "Finishing")

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.findings == (Finding("fail", message, cited(stop)),)


def test_a_local_session_stopped_for_another_reason_names_both() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.meter_values()
    stop = wire.stop_transaction(reason="Remote")
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail", "StopTransaction reason Remote where Local or omitted was expected", cited(stop)
        ),
    )


@pytest.mark.parametrize("after", ["Charging", "SuspendedEV", "StartTransaction"])
def test_a_session_after_a_refused_card_fails_naming_what_started_it(after: str) -> None:
    """OCPP 1.6 §4.1: "The Charge Point SHALL only supply energy after authorization"; a
    session status or a StartTransaction after Blocked is a session started anyway."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("BLOCKED-1", status="Blocked")
    if after == "StartTransaction":
        started = wire.start_transaction(id_tag="BLOCKED-1")
        words = "StartTransaction"
    else:
        started = wire.status(1, after)
        words = f"StatusNotification {after}"

    judgement = local_unauthorized(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            f"{words} received after Authorize was answered Blocked; no transaction may start",
            cited(started),
        ),
    )
    assert judgement.measurements == {"id_tag": "BLOCKED-1", "authorize_status": "Blocked"}


def test_a_session_after_a_refused_card_cites_its_start_transaction_and_statuses() -> None:
    """A status first and the StartTransaction after it: the finding names and cites both,
    so the report shows the transaction that was started, not only the status before it."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("BLOCKED-1", status="Blocked")
    suspended = wire.status(1, "SuspendedEV")
    start = wire.start_transaction(id_tag="BLOCKED-1")
    charging = wire.status(1, "Charging")

    judgement = local_unauthorized(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "StatusNotification SuspendedEV and StartTransaction and StatusNotification "
            "Charging received after Authorize was answered Blocked; no transaction may start",
            cited(suspended, start, charging),
        ),
    )


def test_a_session_status_before_the_refused_authorize_is_not_a_start_after_it() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.status(1, "Charging")
    wire.authorize("BLOCKED-1", status="Blocked")

    judgement = local_unauthorized(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())


def test_an_unanswered_authorize_of_an_unknown_card_fails() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    authorize = wire.call_in("Authorize", {"idTag": "UNKNOWN-1"})

    judgement = local_unauthorized(wire.context())

    assert judgement.findings == (
        Finding("fail", "Authorize for idTag UNKNOWN-1 got no reply", cited(authorize)),
    )
    assert judgement.measurements == {"id_tag": "UNKNOWN-1", "authorize_status": None}


def test_an_unknown_card_without_preparing_passes_with_information() -> None:
    wire = Wire()
    wire.authorize("UNKNOWN-1", status="Invalid")

    judgement = local_unauthorized(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "No StatusNotification Preparing before Authorize; OCPP 1.6 does not require the "
            "connector to report this state",
            (),
        ),
    )


def metered_session(gaps: list[float], interval: str, fractional: bool = False) -> Wire:
    """Step 6 with a periodic MeterValues after each of `gaps` seconds (sample timestamps
    with microseconds when `fractional`), MeterValueSampleInterval `interval` accepted
    earlier (param `configuration`)."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    for gap in gaps:
        wire.wait(gap)
        if fractional:
            sampled = wire.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            wire.request(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": 42,
                    "meterValue": [{"timestamp": sampled, "sampledValue": [{"value": "1"}]}],
                },
                {},
            )
        else:
            wire.meter_values()
    wire.wait(5)
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")
    return wire


def judge_metered(wire: Wire, interval: str) -> Judgement:
    return local_plugin_first(wire.context(configuration={"MeterValueSampleInterval": interval}))


def test_a_one_second_sample_interval_is_judged_with_every_measurement() -> None:
    judgement = judge_metered(metered_session([1, 1, 1], "1"), "1")

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "transaction_id": 42,
        "connector_id": 1,
        "id_tag": "CARD-1",
        "charging_s": 8.0,
        "energy_wh": 1500,
        "meter_values": 3,
        "authorized_by": "Central System (Authorize)",
        "sample_interval_s": 1,
        "sample_gaps_s": [1.0, 1.0],
        "tolerance_s": 4.0,
        "finishing_to_available_s": 0.0,
    }


def test_sample_gaps_are_measured_to_the_millisecond() -> None:
    judgement = judge_metered(metered_session([30.00012, 30.00049], "30", fractional=True), "30")

    assert judgement.measurements["sample_gaps_s"] == [30.0]


@pytest.mark.parametrize(
    ("gaps", "verdict"),
    [
        ([30, 30, 10, 10, 30, 30], "Y"),  # 2 of 5 gaps off the interval
        ([30, 30, 10, 10, 30], "Y"),  # 2 of 4: half is not a majority
        ([30, 30, 10, 10], "N"),  # 2 of 3
    ],
)
def test_the_sample_interval_fails_only_when_most_gaps_are_off(
    gaps: list[float], verdict: str
) -> None:
    """A gap off by more than the tolerance now and then (a queued value, a restart of the
    sampling) is not a charger ignoring MeterValueSampleInterval; most gaps off is."""
    judgement = judge_metered(metered_session(gaps, "30"), "30")

    assert judgement.verdict == verdict


def test_the_gap_reported_for_a_wrong_interval_is_the_median() -> None:
    wire = metered_session([30, 4, 5, 6, 7, 30], "30")

    judgement = judge_metered(wire, "30")

    assert judgement.findings == (
        Finding(
            "fail",
            "Periodic MeterValues came every 6 s where MeterValueSampleInterval is 30 s: the "
            "charger does not apply the interval it accepted",
            tuple(wire.ids("MeterValues")),
        ),
    )
    assert judgement.measurements["sample_gaps_s"] == [4.0, 5.0, 6.0, 7.0, 30.0]


def test_an_empty_step_says_what_the_step_waits_for() -> None:
    judgement = local_plugin_first(Wire().context())

    assert judgement.findings == (
        Finding(
            "fail", "No StatusNotification Preparing received: the step recorded no frames", ()
        ),
    )


def test_an_authorize_to_stop_with_another_card_is_not_the_sessions_authorize() -> None:
    """OCPP 1.6 §4.10: a session may be stopped with another idTag, which the charger then
    authorizes; the card that started the session is the one before StartTransaction."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.meter_values()
    wire.authorize("CARD-2", "Invalid")
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())


def test_a_session_that_never_started_is_looked_for_on_the_connector_that_was_plugged_in() -> None:
    wire = Wire()
    wire.status(2, "Preparing")
    wire.authorize()
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context(TWO_CONNECTORS))

    assert judgement.findings == tuple(
        Finding(
            "fail", f"Expected {label} after StatusNotification Preparing; none was recorded", ()
        )
        for label in (
            "StartTransaction",
            "StatusNotification Charging",
            "StopTransaction",
            "StatusNotification Available",
        )
    )
    assert judgement.measurements == {"authorized_by": "Central System (Authorize)"}


def test_without_preparing_the_missing_messages_are_expected_from_the_start_of_the_step() -> None:
    wire = Wire()
    wire.authorize()

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "info",
            "No StatusNotification Preparing before the session; OCPP 1.6 does not require the "
            "connector to report this state",
            (),
        ),
        *(
            Finding("fail", f"Expected {label} after the start of the step; none was recorded", ())
            for label in (
                "StartTransaction",
                "StatusNotification Charging",
                "StopTransaction",
                "StatusNotification Available",
            )
        ),
    )


def test_authorize_before_preparing_cites_both() -> None:
    wire = Wire()
    authorize = wire.authorize()
    preparing = wire.status(1, "Preparing")
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.meter_values()
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "Authorize arrived before StatusNotification Preparing, where it was expected after "
            "it: the cable was to be plugged in first",
            cited(authorize, preparing),
        ),
    )


def test_a_meter_stop_that_is_not_a_number_gives_no_energy_and_no_crash() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.meter_values()
    stop = wire.call_in(
        "StopTransaction",
        {"transactionId": 42, "meterStop": "n/a", "timestamp": stamp(wire.now)},
        validation_error="meterStop: 'n/a' is not of type 'integer'",
    )
    wire.result_out(stop, {})
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "StopTransaction request from the charger violates the OCPP 1.6 schema: meterStop: "
            "'n/a' is not of type 'integer'",
            cited(stop),
        ),
    )
    assert "energy_wh" not in judgement.measurements


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_a_replaced_connection_is_a_loss_until_the_next_connected_event() -> None:
    """A connection the charger replaced by a new one ends the old one ("replaced"); an
    earlier "connected" event is no loss."""
    wire = Wire()
    after = wire.heartbeat()
    wire.wait(5)
    wire.event("connected")
    wire.wait(5)
    wire.event("replaced")
    wire.wait(10)
    wire.heartbeat()
    wire.wait(5)
    wire.event("connected")

    assert find_gap(wire.frames, wire.events, after, 60) == (at(10), at(25))


def test_a_connected_event_recorded_with_the_loss_is_not_the_reconnect() -> None:
    """Without a "connected" event after the loss, the charger is back with its first frame
    (the portal's own frames do not count)."""
    wire = Wire()
    after = wire.heartbeat()
    wire.wait(5)
    wire.event("connected")
    wire.event("replaced")
    wire.wait(4)
    wire.call_out("TriggerMessage", {"requestedMessage": "Heartbeat"})
    wire.wait(3)
    wire.heartbeat()

    assert find_gap(wire.frames, wire.events, after, 60) == (at(5), at(12))


def test_a_reconnect_recorded_in_the_same_instant_as_the_loss_ends_it() -> None:
    wire = Wire()
    after = wire.heartbeat()
    wire.wait(5)
    wire.event("closed")
    wire.event("connected")
    wire.wait(1)
    wire.heartbeat()

    assert find_gap(wire.frames, wire.events, after, 60) == (at(5), at(5))


@pytest.mark.parametrize(("min_gap_s", "found"), [(60, True), (60.001, False)])
def test_a_silence_counts_as_a_loss_from_min_gap_s_on(min_gap_s: float, found: bool) -> None:
    """A closed connection before `after` does not count; the longest silence after it does
    when it lasts `min_gap_s` or more."""
    wire = Wire()
    wire.event("closed")
    wire.wait(1)
    after = wire.heartbeat()
    wire.wait(5)
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()

    gap = find_gap(wire.frames, wire.events, after, min_gap_s)

    assert gap == ((at(6), at(66)) if found else None)


@pytest.mark.parametrize(
    ("silences", "longest"), [((60, 60), (at(1), at(61))), ((90, 61), (at(1), at(91)))]
)
def test_the_loss_found_in_silence_is_the_longest_and_the_first_of_equals(
    silences: tuple[float, float], longest: tuple[datetime, datetime]
) -> None:
    wire = Wire()
    after = wire.heartbeat()
    wire.wait(1)
    wire.heartbeat()
    for silence in silences:
        wire.wait(silence)
        wire.heartbeat()

    assert find_gap(wire.frames, wire.events, after, 60) == longest


def connection_loss_on_connector_2(wire: Wire, preparing: bool, charging: bool) -> None:
    """Step 7 on connector 2: Authorize, [Preparing], StartTransaction 6, [Charging], a
    120 s loss, three queued MeterValues."""
    wire.authorize()
    if preparing:
        wire.status(2, "Preparing")
    wire.wait(2)
    wire.start_transaction(connector=2, transaction_id=6)
    if charging:
        wire.status(2, "Charging")
    wire.wait(30)
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.event("connected")
    for offset in (30, 60, 90):
        wire.meter_values(connector=2, transaction_id=6, sampled=cut + timedelta(seconds=offset))


def test_a_connection_loss_on_connector_2_without_preparing_passes_with_every_measurement() -> None:
    wire = Wire()
    connection_loss_on_connector_2(wire, preparing=False, charging=True)

    judgement = local_id_first_connection_loss(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "transaction_id": 6,
        "connector_id": 2,
        "id_tag": "CARD-1",
        "authorized_by": "Central System (Authorize)",
        "gap_s": 120.0,
        "connection_lost_at": "2023-09-22T10:00:32+00:00",
        "reconnected_at": "2023-09-22T10:02:32+00:00",
        "queued_meter_values": 3,
        "new_meter_values": 0,
        "stopped_offline": False,
        "queued_sample_times": [
            "2023-09-22T10:01:02+00:00",
            "2023-09-22T10:01:32+00:00",
            "2023-09-22T10:02:02+00:00",
        ],
        "queued_sample_intervals_s": [30.0, 30.0],
    }


def test_charging_on_the_other_connector_does_not_stand_for_the_sessions_status() -> None:
    wire = Wire()
    wire.status(1, "Charging")
    connection_loss_on_connector_2(wire, preparing=True, charging=False)

    judgement = local_id_first_connection_loss(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "Expected StatusNotification Charging after Authorize and StatusNotification "
            "Preparing; none was recorded",
            (),
        ),
    )


def test_a_connection_loss_session_started_with_another_card_than_authorized_fails() -> None:
    wire = Wire()
    wire.authorize("CARD-1")
    wire.status(1, "Preparing")
    start = wire.start_transaction(id_tag="CARD-2")
    wire.status(1, "Charging")
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.event("connected")
    wire.meter_values(sampled=cut + timedelta(seconds=30))

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.findings == (
        Finding(
            "fail", "StartTransaction carries idTag CARD-2 where CARD-1 was expected", cited(start)
        ),
    )


def test_a_connection_loss_step_without_a_start_looks_for_no_loss() -> None:
    wire = Wire()
    wire.authorize()
    wire.status(1, "Preparing")
    wire.wait(200)
    wire.heartbeat()

    judgement = local_id_first_connection_loss(wire.context())

    assert judgement.findings == tuple(
        Finding(
            "fail",
            f"Expected {label} after Authorize and StatusNotification Preparing; none was recorded",
            (),
        )
        for label in ("StartTransaction", "StatusNotification Charging")
    )
    assert judgement.measurements == {"authorized_by": "Central System (Authorize)"}


@pytest.mark.parametrize(("min_gap_s", "verdict"), [(180, "Y"), (200, "N")])
def test_min_gap_s_is_the_silence_that_counts_as_a_connection_loss(
    min_gap_s: float, verdict: str
) -> None:
    wire = Wire()
    wire.authorize()
    wire.status(1, "Preparing")
    start = wire.start_transaction()
    wire.status(1, "Charging")
    silent_from = wire.now
    wire.wait(180)
    wire.meter_values(sampled=silent_from + timedelta(seconds=60))
    wire.meter_values()

    judgement = local_id_first_connection_loss(wire.context(min_gap_s=min_gap_s))

    assert judgement.verdict == verdict
    if verdict == "N":
        assert judgement.findings == (
            Finding(
                "fail",
                "No connection loss in the evidence: no closed connection after "
                "StartTransaction and no silence of 200 s or more",
                cited(start),
            ),
        )


def connection_loss_with_interval(gap: float, extra: Any = None) -> Judgement:
    """Step 7 with MeterValueSampleInterval 60 accepted, a loss of `gap` seconds and one
    value queued 30 s into it; `extra(wire, cut)` adds frames after it."""
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "60"},
        {"status": "Accepted"},
    )
    wire.start_card_first()
    wire.event("closed")
    cut = wire.now
    wire.wait(gap)
    wire.event("connected")
    wire.meter_values(sampled=cut + timedelta(seconds=30))
    if extra is not None:
        extra(wire, cut)
    return local_id_first_connection_loss(wire.context())


@pytest.mark.parametrize(
    ("gap", "measured", "shown"),
    [(179, 179.0, "179 s"), (180, 180.0, None), (200, 200.0, None), (120.0004, 120.0, "120 s")],
)
def test_a_loss_shorter_than_three_sample_intervals_is_minor(
    gap: float, measured: float, shown: str | None
) -> None:
    """The plan's loss lasts 3 sample intervals or more; the gap is measured to the ms."""
    judgement = connection_loss_with_interval(gap)

    assert judgement.verdict == "Y"
    assert judgement.measurements["gap_s"] == measured
    expected = (
        Finding(
            "minor",
            f"The connection was lost for {shown}, less than 3 sample intervals (3 x 60 s)",
            (),
        ),
    )
    assert judgement.findings == (expected if shown else ())


def test_a_value_sampled_at_the_reconnect_instant_is_new_not_queued() -> None:
    judgement = connection_loss_with_interval(
        180, lambda wire, cut: wire.meter_values(sampled=cut + timedelta(seconds=180))
    )

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert (
        judgement.measurements["queued_meter_values"],
        judgement.measurements["new_meter_values"],
    ) == (1, 1)


def test_values_queued_by_the_other_connectors_session_are_not_this_sessions() -> None:
    """A two-connector charger replays both sessions' queues after a loss; transaction 7 on
    connector 2 is no wrong transactionId of the session on connector 1 (judge fix: they
    were a fail)."""
    judgement = connection_loss_with_interval(
        180,
        lambda wire, cut: wire.meter_values(
            connector=2, transaction_id=7, sampled=cut + timedelta(seconds=60)
        ),
    )

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["queued_meter_values"] == 1
    assert judgement.measurements["queued_sample_times"] == ["2023-09-22T10:00:30+00:00"]


def test_a_value_on_the_sessions_connector_with_another_transaction_id_fails() -> None:
    judgement = connection_loss_with_interval(
        180,
        lambda wire, cut: wire.meter_values(transaction_id=7, sampled=cut + timedelta(seconds=90)),
    )

    assert judgement.verdict == "N"
    assert judgement.findings[0].message == (
        "Queued MeterValues carry transactionId 7 where the session's transaction is 42"
    )


def stopped_around_the_reconnect(stop_offset: float, sample_offset: float) -> Judgement:
    """Step 7: a 120 s loss; after the reconnect a StopTransaction stamped `stop_offset` s
    after the loss, then a value queued `sample_offset` s into it."""
    wire = Wire()
    wire.start_card_first()
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.event("connected")
    wire.stop_transaction(timestamp=cut + timedelta(seconds=stop_offset))
    wire.meter_values(sampled=cut + timedelta(seconds=sample_offset))
    return local_id_first_connection_loss(wire.context())


@pytest.mark.parametrize("stop_offset", [120, 130])
def test_a_stop_stamped_at_or_after_the_reconnect_was_not_stopped_offline(
    stop_offset: float,
) -> None:
    """Only a stop stamped before the reconnect was queued; a live stop may come before the
    replay ends."""
    judgement = stopped_around_the_reconnect(stop_offset, 30)

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["stopped_offline"] is False


def test_a_value_sampled_at_the_offline_stops_instant_belongs_before_it() -> None:
    judgement = stopped_around_the_reconnect(90, 90)

    stop, late = judgement.findings[0].frame_ids
    assert judgement.findings == (
        Finding(
            "fail",
            "1 queued MeterValues sampled before the offline stop arrived after "
            "StopTransaction; they were expected before it",
            (stop, late),
        ),
    )
    assert late > stop
    assert judgement.measurements["stopped_offline"] is True


def test_two_queued_values_of_the_same_instant_are_in_order() -> None:
    wire = Wire()
    wire.start_card_first()
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.event("connected")
    wire.meter_values(sampled=cut + timedelta(seconds=30))
    wire.meter_values(sampled=cut + timedelta(seconds=30))

    judgement = local_id_first_connection_loss(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["queued_meter_values"] == 2


def test_the_connection_timeout_is_timed_on_the_connector_that_was_preparing() -> None:
    wire = Wire()
    wire.authorize()
    wire.wait(1)
    wire.status(2, "Preparing")
    wire.wait(10)
    wire.status(1, "Available")
    wire.wait(20)
    wire.status(2, "Available")

    judgement = local_id_first_connection_timeout(
        wire.context(TWO_CONNECTORS, configured_timeout_s=30)
    )

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == timeout_measurements(30, 30.0, 31.0)


def test_a_card_presented_after_preparing_is_still_the_sessions_authorize() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.wait(2)
    wire.authorize()
    wire.wait(30)
    wire.status(1, "Available")

    judgement = local_id_first_connection_timeout(wire.context(configured_timeout_s=30))

    assert judgement.measurements == timeout_measurements(30, 32.0, 30.0)


def test_a_start_between_the_card_and_preparing_fails_the_timeout_step() -> None:
    wire = Wire()
    wire.authorize()
    start = wire.start_transaction()
    wire.status(1, "Preparing")
    wire.wait(30)
    wire.status(1, "Available")

    judgement = local_id_first_connection_timeout(wire.context(configured_timeout_s=30))

    assert judgement.findings == (
        Finding(
            "fail",
            "StartTransaction received although no cable was plugged in; the session was "
            "expected to time out",
            cited(start),
        ),
    )


def test_the_connection_loss_session_runs_where_start_transaction_says() -> None:
    """A Preparing on connector 1 does not move the session that StartTransaction opened on
    connector 2."""
    wire = Wire()
    wire.authorize()
    wire.status(1, "Preparing")
    wire.start_transaction(connector=2, transaction_id=6)
    wire.status(2, "Charging")
    wire.event("closed")
    cut = wire.now
    wire.wait(120)
    wire.event("connected")
    wire.meter_values(connector=2, transaction_id=6, sampled=cut + timedelta(seconds=30))

    judgement = local_id_first_connection_loss(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["connector_id"] == 2


def test_without_a_start_the_preparing_connector_is_the_sessions() -> None:
    wire = Wire()
    wire.authorize()
    wire.status(2, "Preparing")
    wire.status(1, "Charging")
    wire.wait(200)
    wire.heartbeat()

    judgement = local_id_first_connection_loss(wire.context(TWO_CONNECTORS))

    assert judgement.findings == tuple(
        Finding(
            "fail",
            f"Expected {label} after Authorize and StatusNotification Preparing; none was recorded",
            (),
        )
        for label in ("StartTransaction", "StatusNotification Charging")
    )


def test_the_timeout_steps_card_is_the_last_one_presented_before_preparing() -> None:
    wire = Wire()
    wire.authorize()
    wire.wait(5)
    wire.authorize()
    wire.wait(1)
    wire.status(1, "Preparing")
    wire.wait(30)
    wire.status(1, "Available")

    judgement = local_id_first_connection_timeout(wire.context(configured_timeout_s=30))

    assert judgement.measurements["authorize_to_available_s"] == 31.0


def test_an_accepted_card_that_then_charges_fails_only_for_the_card() -> None:
    """The step needs a refused card; with an accepted one the session that follows is
    what OCPP expects, so only the card is a finding."""
    wire = Wire()
    wire.status(1, "Preparing")
    authorize = wire.authorize("CARD-1")
    wire.start_transaction()
    wire.status(1, "Charging")

    judgement = local_unauthorized(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "Authorize for idTag CARD-1 answered Accepted; the step needs an unknown, blocked or "
            "expired card",
            wire.exchange_ids(authorize),
        ),
    )


def test_meter_values_naming_two_other_transactions_are_named_both() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    start = wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    wrong = [wire.meter_values(transaction_id=8), wire.meter_values(transaction_id=7)]
    wire.stop_transaction(6)
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "2 MeterValues on connector 1 for transaction 7, 8 where transaction 6 was started",
            cited(start, *wrong),
        ),
    )
