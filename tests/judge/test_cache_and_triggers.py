"""Steps 22 and 23: clearing the cache and triggered messages."""

from __future__ import annotations

from typing import Any

import pytest

from certification.judge.cache import clear_cache
from certification.judge.triggers import TRIGGER_KINDS, trigger_message
from certification.judge.types import Finding, Judgement, RunSettings
from tests.judge.frames import Wire, empty_step


def clear_measurements(
    id_tag: object, cached_id_tag: str | None, cached: bool, seconds: float | None = None
) -> dict[str, Any]:
    """Step 22's measurements; `seconds` from ClearCache to the new Authorize, if one came."""
    measured = {
        "id_tag": id_tag,
        "cached_id_tag": cached_id_tag,
        "cached": cached,
        "authorized_after_clear": seconds is not None,
    }
    return measured if seconds is None else {**measured, "clear_to_authorize_s": seconds}


def test_clear_cache_passes_when_the_same_card_is_authorized_again() -> None:
    wire = Wire()
    wire.authorize("CARD-1")
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.wait(15)
    wire.authorize("CARD-1")

    judgement = clear_cache(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements == clear_measurements("CARD-1", "CARD-1", True, 15.0)
    assert judgement.findings == ()


def test_clear_cache_fails_without_a_new_authorize() -> None:
    wire = Wire()
    wire.authorize("CARD-1")
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.start_transaction(id_tag="CARD-1")

    judgement = clear_cache(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings[0].message == (
        "StartTransaction for idTag CARD-1 after ClearCache without a new Authorize: the "
        "charger still authorized the card from its cache"
    )
    assert judgement.findings[0].frame_ids == (3, 4, 5)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StartTransaction for idTag CARD-1 after ClearCache without a new "
            "Authorize: the charger still authorized the card from its cache",
            frame_ids=(3, 4, 5),
        ),
    )
    assert judgement.measurements == clear_measurements("CARD-1", "CARD-1", True)


def test_clear_cache_fails_when_another_card_is_authorized() -> None:
    wire = Wire()
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.authorize("CARD-2")

    judgement = clear_cache(wire.context(id_tag="CARD-1"))

    assert judgement.verdict == "N"
    assert "idTag CARD-2 where the cached card CARD-1 was expected" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Authorize after ClearCache came for idTag CARD-2 where the cached card "
            "CARD-1 was expected",
            frame_ids=(3,),
        ),
    )
    assert judgement.measurements == clear_measurements("CARD-2", "CARD-1", False)


def test_clear_cache_rejected_fails() -> None:
    wire = Wire()
    wire.command("ClearCache", {}, {"status": "Rejected"})
    wire.authorize("CARD-1")

    judgement = clear_cache(wire.context())

    assert judgement.verdict == "N"
    assert (
        "ClearCache answered Rejected where Accepted was expected" in judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="ClearCache answered Rejected where Accepted was expected",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == clear_measurements("CARD-1", None, False, 0.0)


def trigger(wire: Wire, kind: str, answer: str = "Accepted", connector: int | None = None) -> None:
    payload: dict[str, object] = {"requestedMessage": kind}
    if connector is not None:
        payload["connectorId"] = connector
    wire.command("TriggerMessage", payload, {"status": answer})
    if answer != "Accepted":
        return
    wire.wait(1)
    if kind == "BootNotification":
        wire.boot()
    elif kind == "Heartbeat":
        wire.heartbeat()
    elif kind == "StatusNotification":
        wire.status(connector or 1, "Available")
    elif kind == "MeterValues":
        wire.meter_values(connector=connector or 1)
    elif kind == "DiagnosticsStatusNotification":
        wire.diagnostics_status("Idle")
    else:
        wire.firmware_status("Idle")


def all_triggers(wire: Wire, **answers: str) -> None:
    for kind in TRIGGER_KINDS:
        connector = 1 if kind in ("StatusNotification", "MeterValues") else None
        trigger(wire, kind, answers.get(kind, "Accepted"), connector)
    trigger(wire, "MeterValues", "Rejected", connector=3)


def trigger_measurements(
    *later: dict[str, Any], absent: str = "Rejected", **answers: str
) -> dict[str, Any]:
    """Step 23's measurements after `all_triggers(wire, **answers)`, then the `later` ones;
    `absent` answered the trigger for connector 3, which does not exist."""
    triggers: list[dict[str, Any]] = []
    for kind, connector in (
        ("BootNotification", None),
        ("Heartbeat", None),
        ("StatusNotification", 1),
        ("MeterValues", 1),
        ("DiagnosticsStatusNotification", None),
        ("FirmwareStatusNotification", None),
    ):
        answer = answers.get(kind, "Accepted")
        delay = {"delay_s": 1.0} if answer == "Accepted" else {}
        triggers.append({"kind": kind, "connector_id": connector, "answer": answer, **delay})
    triggers.append({"kind": "MeterValues", "connector_id": 3, "answer": absent})
    return {"triggers": [*triggers, *later], "max_delay_s": 1.0}


def test_trigger_message_passes_when_every_kind_is_accepted_and_follows() -> None:
    wire = Wire()
    all_triggers(wire)

    judgement = trigger_message(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements["max_delay_s"] == 1.0
    assert len(judgement.measurements["triggers"]) == 7
    assert judgement.measurements == trigger_measurements()


def test_trigger_message_names_the_rejected_kind() -> None:
    wire = Wire()
    all_triggers(wire, MeterValues="Rejected")

    judgement = trigger_message(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert (
        judgement.findings[0].message
        == "TriggerMessage MeterValues for connector 1 answered Rejected"
    )
    assert judgement.findings == (
        Finding(
            severity="minor",
            message="TriggerMessage MeterValues for connector 1 answered Rejected",
            frame_ids=(13, 14),
        ),
    )
    assert judgement.measurements == trigger_measurements(MeterValues="Rejected")


def test_trigger_message_rejected_can_be_a_fail() -> None:
    wire = Wire()
    all_triggers(wire, Heartbeat="Rejected")

    judgement = trigger_message(wire.context(rejected_is_fail=True))

    assert judgement.verdict == "N"
    assert "TriggerMessage Heartbeat answered Rejected" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail", message="TriggerMessage Heartbeat answered Rejected", frame_ids=(5, 6)
        ),
    )
    assert judgement.measurements == trigger_measurements(Heartbeat="Rejected")


def test_trigger_message_allows_firmware_status_not_implemented() -> None:
    wire = Wire()
    all_triggers(wire, FirmwareStatusNotification="NotImplemented")

    judgement = trigger_message(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings[0].severity == "info"
    assert judgement.findings == (
        Finding(
            severity="info",
            message="TriggerMessage FirmwareStatusNotification answered NotImplemented, "
            "which the plan allows",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == trigger_measurements(
        FirmwareStatusNotification="NotImplemented"
    )


def test_trigger_message_heartbeat_not_implemented_fails() -> None:
    wire = Wire()
    all_triggers(wire, Heartbeat="NotImplemented")

    judgement = trigger_message(wire.context())

    assert judgement.verdict == "N"
    assert "TriggerMessage Heartbeat answered NotImplemented" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="TriggerMessage Heartbeat answered NotImplemented where Accepted was expected",
            frame_ids=(5, 6),
        ),
    )
    assert judgement.measurements == trigger_measurements(Heartbeat="NotImplemented")


def test_trigger_message_for_a_missing_connector_must_be_rejected() -> None:
    wire = Wire()
    for kind in TRIGGER_KINDS:
        trigger(wire, kind, connector=1 if kind in ("StatusNotification", "MeterValues") else None)
    wire.command(
        "TriggerMessage",
        {"requestedMessage": "MeterValues", "connectorId": 3},
        {"status": "Accepted"},
    )

    judgement = trigger_message(wire.context(RunSettings(connectors=2)))

    assert judgement.verdict == "N"
    assert judgement.findings[0].message == (
        "TriggerMessage MeterValues for connector 3, which does not exist, answered Accepted "
        "where Rejected was expected"
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="TriggerMessage MeterValues for connector 3, which does not exist, "
            "answered Accepted where Rejected was expected",
            frame_ids=(25, 26),
        ),
    )
    assert judgement.measurements == trigger_measurements(absent="Accepted")


def test_trigger_message_fails_when_the_triggered_message_never_comes() -> None:
    wire = Wire()
    all_triggers(wire)
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})

    judgement = trigger_message(wire.context())

    assert judgement.verdict == "N"
    assert (
        "TriggerMessage Heartbeat was accepted but no Heartbeat followed"
        in judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="TriggerMessage Heartbeat was accepted but no Heartbeat followed",
            frame_ids=(27, 28),
        ),
    )
    assert judgement.measurements == trigger_measurements(
        {"kind": "Heartbeat", "connector_id": None, "answer": "Accepted"}
    )


def test_trigger_message_fails_when_a_kind_was_never_triggered() -> None:
    wire = Wire()
    trigger(wire, "Heartbeat")

    judgement = trigger_message(wire.context())

    assert judgement.verdict == "N"
    messages = [f.message for f in judgement.findings]
    assert "No TriggerMessage BootNotification sent" in messages
    assert any("connector that does not exist" in m for m in messages)
    assert judgement.findings == (
        Finding(severity="fail", message="No TriggerMessage BootNotification sent", frame_ids=()),
        Finding(severity="fail", message="No TriggerMessage StatusNotification sent", frame_ids=()),
        Finding(severity="fail", message="No TriggerMessage MeterValues sent", frame_ids=()),
        Finding(
            severity="fail",
            message="No TriggerMessage DiagnosticsStatusNotification sent",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="No TriggerMessage FirmwareStatusNotification sent",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="No TriggerMessage MeterValues for a connector that does not exist "
            "sent; Rejected was expected",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "triggers": [
            {"kind": "Heartbeat", "connector_id": None, "answer": "Accepted", "delay_s": 1.0}
        ],
        "max_delay_s": 1.0,
    }


def test_clear_cache_says_what_is_missing_in_an_empty_step_and_without_the_command() -> None:
    wire = Wire()
    wire.authorize("CARD-1")

    assert clear_cache(empty_step()).findings == (
        Finding("fail", "No ClearCache sent to the charger: the step recorded no frames"),
    )
    assert clear_cache(wire.context()).findings == (
        Finding("fail", "No ClearCache sent to the charger"),
    )


def test_clear_cache_reads_frames_in_capture_order_and_reports_schema_violations() -> None:
    wire = Wire()
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.call_in("Authorize", {"idTag": 7}, validation_error="7 is not of type 'string'")
    shuffled = wire.context()
    reversed_frames = type(shuffled)(frames=tuple(reversed(shuffled.frames)))

    judgement = clear_cache(reversed_frames)

    assert judgement.verdict == "N"
    assert judgement.findings[0] == Finding(
        "fail",
        "Authorize request from the charger violates the OCPP 1.6 schema: 7 is not of type "
        "'string'",
        (3,),
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Authorize request from the charger violates the OCPP 1.6 schema: 7 is "
            "not of type 'string'",
            frame_ids=(3,),
        ),
    )
    assert judgement.measurements == clear_measurements(7, None, False, 0.0)


def clear_between(before: Any, after: Any, **params: Any) -> tuple[Wire, Judgement]:
    """Step 22: `before(wire)`, ClearCache Accepted, 5 s, `after(wire)`; the judgement."""
    wire = Wire()
    before(wire)
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.wait(5)
    after(wire)
    return wire, clear_cache(wire.context(**params))


@pytest.mark.parametrize(("setting", "noted"), [("False", True), ("TRUE", False)])
def test_local_pre_authorize_other_than_true_is_noted(setting: str, noted: bool) -> None:
    _, judgement = clear_between(
        lambda w: w.authorize("CARD-1"),
        lambda w: w.authorize("CARD-1"),
        configuration={"LocalPreAuthorize": setting},
    )

    assert judgement.findings == (
        (
            Finding(
                "info",
                f"LocalPreAuthorize is {setting} in this step where true was expected: a new "
                "Authorize proves less without it",
            ),
        )
        if noted
        else ()
    )
    assert judgement.measurements == clear_measurements("CARD-1", "CARD-1", True, 5.0)


def test_a_card_that_started_a_transaction_before_the_clear_is_the_cached_one() -> None:
    _, judgement = clear_between(
        lambda w: w.start_transaction(id_tag="CARD-7"), lambda w: w.authorize("CARD-7")
    )

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["cached_id_tag"] == "CARD-7"


def test_only_the_chargers_authorize_and_start_name_the_cached_card() -> None:
    """A Heartbeat after the card does not make the cached card unknown."""
    wire, judgement = clear_between(
        lambda w: (w.authorize("CARD-1"), w.heartbeat()), lambda w: w.authorize("CARD-2")
    )

    assert judgement.findings == (
        Finding(
            "fail",
            "Authorize after ClearCache came for idTag CARD-2 where the cached card CARD-1 was "
            "expected",
            tuple(wire.ids("Authorize")[1:]),
        ),
    )


def test_authorizations_of_other_cards_are_named_all() -> None:
    wire, judgement = clear_between(
        lambda w: w.authorize("CARD-1"), lambda w: (w.authorize("CARD-3"), w.authorize("CARD-2"))
    )

    assert judgement.findings == (
        Finding(
            "fail",
            "Authorize after ClearCache came for idTag CARD-2, CARD-3 where the cached card "
            "CARD-1 was expected",
            tuple(wire.ids("Authorize")[1:]),
        ),
    )


def test_the_presented_card_is_the_authorized_one_not_a_later_start() -> None:
    _, judgement = clear_between(
        lambda w: w.authorize("CARD-1"),
        lambda w: (w.authorize("CARD-1"), w.start_transaction(id_tag="CARD-5")),
    )

    assert judgement.measurements["id_tag"] == "CARD-1"


def test_nothing_presented_after_the_clear_fails_citing_the_clear() -> None:
    wire, judgement = clear_between(lambda w: w.authorize("CARD-1"), lambda w: w.heartbeat())

    assert judgement.findings == (
        Finding(
            "fail",
            "No Authorize after ClearCache: presenting the same card again was expected to send "
            "a new Authorize, proving the cache is empty",
            wire.exchange_ids(wire.frames[2]),
        ),
    )


def send_trigger(
    wire: Wire, kind: str, answer: str = "Accepted", connector: int | None = None
) -> tuple[int, ...]:
    """A TriggerMessage of `kind` answered `answer`; the ids of the command and its reply."""
    payload: dict[str, Any] = {"requestedMessage": kind}
    if connector is not None:
        payload["connectorId"] = connector
    return wire.exchange_ids(wire.command("TriggerMessage", payload, {"status": answer}))


def test_a_trigger_step_without_trigger_message_fails_saying_so() -> None:
    wire = Wire()
    wire.heartbeat()

    judgement = trigger_message(wire.context())

    assert judgement == Judgement(
        "N", (Finding("fail", "No TriggerMessage sent to the charger"),), {}
    )


@pytest.mark.parametrize("firmware_management", [True, False])
def test_not_implemented_is_allowed_for_firmware_kinds_only_without_firmware_management(
    firmware_management: bool,
) -> None:
    """FirmwareStatusNotification may always be NotImplemented, DiagnosticsStatusNotification
    only when the run does not support Firmware Management (spelled as the plan does); other
    kinds and a CALLERROR are fails."""
    wire = Wire()
    diagnostics = send_trigger(wire, "DiagnosticsStatusNotification", "NotImplemented")
    send_trigger(wire, "FirmwareStatusNotification", "NotImplemented")
    status = send_trigger(wire, "StatusNotification", "NotImplemented")
    heartbeat = wire.call_out("TriggerMessage", {"requestedMessage": "Heartbeat"})
    wire.error_in(heartbeat, "InternalError")
    profiles = ("Core", "Firmware Management") if firmware_management else ("Core",)

    judgement = trigger_message(
        wire.context(
            RunSettings(supported_profiles=profiles), kinds=["DiagnosticsStatusNotification"]
        )
    )

    allowed = "answered NotImplemented, which the plan allows"
    assert judgement.findings == (
        Finding(
            "fail",
            "TriggerMessage DiagnosticsStatusNotification answered NotImplemented where Accepted "
            "was expected",
            diagnostics,
        )
        if firmware_management
        else Finding("info", f"TriggerMessage DiagnosticsStatusNotification {allowed}"),
        Finding("info", f"TriggerMessage FirmwareStatusNotification {allowed}"),
        Finding(
            "fail",
            "TriggerMessage StatusNotification answered NotImplemented where Accepted was expected",
            status,
        ),
        Finding(
            "fail",
            "TriggerMessage Heartbeat answered CALLERROR InternalError where Accepted was expected",
            wire.exchange_ids(heartbeat),
        ),
    )


def test_a_message_of_another_connector_does_not_answer_a_connector_trigger() -> None:
    wire = Wire()
    status = send_trigger(wire, "StatusNotification", connector=2)
    wire.status(1, "Available")
    meter = send_trigger(wire, "MeterValues", connector=2)
    wire.meter_values(connector=1)

    judgement = trigger_message(
        wire.context(RunSettings(connectors=2), kinds=["StatusNotification", "MeterValues"])
    )

    assert judgement.findings == (
        Finding(
            "fail",
            "TriggerMessage StatusNotification for connector 2 was accepted but no "
            "StatusNotification followed",
            status,
        ),
        Finding(
            "fail",
            "TriggerMessage MeterValues for connector 2 was accepted but no MeterValues followed",
            meter,
        ),
        Finding(
            "fail",
            "No TriggerMessage MeterValues for a connector that does not exist sent; Rejected "
            "was expected",
        ),
    )


def test_a_triggered_message_before_the_reply_is_minor() -> None:
    wire = Wire()
    call = wire.call_out(
        "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}
    )
    early = wire.status(1, "Available")
    wire.result_in(call, {"status": "Accepted"})

    judgement = trigger_message(wire.context(kinds=["StatusNotification"]))

    assert judgement.findings == (
        Finding(
            "minor",
            "StatusNotification arrived before the reply to TriggerMessage StatusNotification for "
            "connector 1",
            (early.id or 0,),
        ),
    )


def test_earlier_cards_of_the_run_only_matter_when_the_step_shows_no_cached_card() -> None:
    """CARD-1 was used before the ClearCache in the step: it is the cached card, even though
    the run presented CARD-2 earlier too."""
    wire, judgement = clear_between(
        lambda w: w.authorize("CARD-1"),
        lambda w: w.authorize("CARD-2"),
        presented_id_tags=["CARD-2"],
    )

    assert judgement.findings == (
        Finding(
            "fail",
            "Authorize after ClearCache came for idTag CARD-2 where the cached card CARD-1 was "
            "expected",
            tuple(wire.ids("Authorize")[1:]),
        ),
    )


def test_a_trigger_without_connector_is_answered_by_any_connectors_message() -> None:
    wire = Wire()
    send_trigger(wire, "StatusNotification")
    wire.status(1, "Available")

    judgement = trigger_message(wire.context(kinds=["StatusNotification"]))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["triggers"][0]["delay_s"] == 0.0


def test_a_trigger_answered_with_an_unknown_status_is_named() -> None:
    wire = Wire()
    odd = send_trigger(wire, "Heartbeat", "Bogus")

    judgement = trigger_message(wire.context(kinds=["Heartbeat"]))

    assert judgement.findings == (
        Finding("fail", "TriggerMessage Heartbeat answered Bogus where Accepted was expected", odd),
    )
