"""Reported identity without the database: which BootNotification fields name another charger
than the run certifies, the sentence each mismatch reads as, and the finding per frame.

The run's expected names come from the database (certification.services, tested with it in
tests/certification/test_reported_identity.py); here they are given, and whole outputs are
pinned."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from certification.judge.identity import (
    FIELDS,
    ExpectedIdentity,
    Mismatch,
    identity_findings,
    is_boot_notification,
    mismatches,
)
from certification.judge.types import CALL, CALLERROR, CALLRESULT, Finding, Frame
from tests.judge.frames import START, Wire

C8EU = {
    "chargePointVendor": "Xcharge",
    "chargePointModel": "C8EU",
    "firmwareVersion": "V1.0.0_C8_Standard",
}
EXPECTED = ExpectedIdentity(
    vendor=("Xcharge",),
    model=("C8EU", "C8-EU"),
    firmware=("V1.0.0_C8_Standard",),
)
ADVICE = (
    ". Record the strings this model really sends as aliases of the model or firmware if "
    "they are the same charger."
)


def test_the_three_fields_of_boot_notification_and_their_names_in_the_report() -> None:
    assert FIELDS == (
        ("chargePointVendor", "vendor"),
        ("chargePointModel", "model"),
        ("firmwareVersion", "firmware"),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vendor", "Xcharge"),
        ("vendor", "XCHARGE"),
        ("vendor", "  xcharge\t"),
        ("model", "C8EU"),
        ("model", "c8-eu"),
        ("firmware", "v1.0.0_c8_standard"),
    ],
)
def test_a_pinned_name_or_alias_is_accepted_whatever_its_case_and_outer_spaces(
    name: str, value: str
) -> None:
    assert EXPECTED.accepts(name, value)


def test_runs_of_spaces_inside_a_name_are_one_space_but_not_none() -> None:
    expected = ExpectedIdentity(vendor=("XCHARGE Tech",), model=("C8 EU 22kW",), firmware=())
    assert expected.accepts("vendor", "Xcharge   Tech")
    assert expected.accepts("model", "C8\tEU \n 22KW")
    assert not expected.accepts("vendor", "XchargeTech")
    assert not expected.accepts("model", "C8EU22kW")


def test_german_sharp_s_matches_its_capital_spelling() -> None:
    """casefold, not lower: "Straße" and "STRASSE" are the same name."""
    expected = ExpectedIdentity(vendor=("Straße Laden",), model=(), firmware=())
    assert expected.accepts("vendor", "STRASSE LADEN")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vendor", "SimuCharge"),
        ("vendor", ""),
        ("model", "C8"),
        ("model", "C8EU C8-EU"),
        ("firmware", "1.0.0"),
    ],
)
def test_any_other_name_is_not_accepted(name: str, value: str) -> None:
    assert not EXPECTED.accepts(name, value)


def test_an_empty_list_of_names_accepts_nothing() -> None:
    expected = ExpectedIdentity(vendor=(), model=(), firmware=())
    assert not expected.accepts("vendor", "")
    assert not expected.accepts("firmware", "")


def test_any_firmware_accepts_every_firmware_version_and_only_the_firmware() -> None:
    during_update = dataclasses.replace(EXPECTED, any_firmware=True)
    assert during_update.accepts("firmware", "9.9.9")
    assert during_update.accepts("firmware", "")
    assert not during_update.accepts("vendor", "SimuCharge")
    assert not during_update.accepts("model", "SIM-22")
    assert mismatches({**C8EU, "firmwareVersion": "9.9.9"}, during_update) == ()


def test_by_default_only_the_listed_firmware_is_expected() -> None:
    assert EXPECTED.any_firmware is False
    assert mismatches({**C8EU, "firmwareVersion": "9.9.9"}, EXPECTED) == (
        Mismatch("firmwareVersion", "firmware", "9.9.9", ("V1.0.0_C8_Standard",)),
    )


def test_expected_identities_and_mismatches_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXPECTED.any_firmware = True  # type: ignore[misc]
    mismatch = Mismatch("chargePointModel", "model", "C8", ("C8EU",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        mismatch.sent = "C8EU"  # type: ignore[misc]


def test_the_names_of_the_charger_under_test_are_no_mismatch() -> None:
    assert mismatches(C8EU, EXPECTED) == ()
    assert mismatches({**C8EU, "chargePointModel": " c8-EU "}, EXPECTED) == ()


def test_every_field_of_another_charger_is_a_mismatch_in_boot_notification_order() -> None:
    simulator = {
        "firmwareVersion": "1.0.0",
        "chargePointModel": "SIM-22",
        "chargePointVendor": "SimuCharge",
    }
    assert mismatches(simulator, EXPECTED) == (
        Mismatch("chargePointVendor", "vendor", "SimuCharge", ("Xcharge",)),
        Mismatch("chargePointModel", "model", "SIM-22", ("C8EU", "C8-EU")),
        Mismatch("firmwareVersion", "firmware", "1.0.0", ("V1.0.0_C8_Standard",)),
    )


@pytest.mark.parametrize(
    ("value", "sent"),
    [(None, ""), (7, "7"), (1.5, "1.5"), (["C8EU"], "['C8EU']"), (False, "False")],
)
def test_a_field_that_is_not_a_string_is_compared_as_its_text(value: object, sent: str) -> None:
    assert mismatches({**C8EU, "chargePointModel": value}, EXPECTED) == (
        Mismatch("chargePointModel", "model", sent, ("C8EU", "C8-EU")),
    )


def test_a_number_that_reads_as_an_expected_name_is_that_name() -> None:
    expected = dataclasses.replace(EXPECTED, firmware=("2",))
    assert mismatches({**C8EU, "firmwareVersion": 2}, expected) == ()


def test_a_missing_field_is_sent_as_nothing() -> None:
    assert mismatches({"chargePointVendor": "Xcharge"}, EXPECTED) == (
        Mismatch("chargePointModel", "model", "", ("C8EU", "C8-EU")),
        Mismatch("firmwareVersion", "firmware", "", ("V1.0.0_C8_Standard",)),
    )


@pytest.mark.parametrize("payload", [None, [], ["Xcharge", "C8EU"], "Xcharge", 3])
def test_a_payload_that_is_not_an_object_has_no_fields_to_compare(payload: object) -> None:
    assert mismatches(payload, EXPECTED) == ()


def test_the_sentence_names_the_field_what_was_sent_and_every_expected_name() -> None:
    assert (
        Mismatch("chargePointModel", "model", "SIM-22", ("C8EU", "C8-EU")).sentence()
        == 'chargePointModel "SIM-22" where the run certifies "C8EU" or "C8-EU"'
    )
    assert (
        Mismatch("firmwareVersion", "firmware", "1.0.0", ("V1",)).sentence()
        == 'firmwareVersion "1.0.0" where the run certifies "V1"'
    )
    assert (
        Mismatch("chargePointVendor", "vendor", "", ()).sentence()
        == 'chargePointVendor "" where the run certifies nothing'
    )


def frame(direction: str, message_type: int | None, action: str | None) -> Frame:
    return Frame(
        id=1,
        seq=1,
        at=START,
        direction=direction,  # type: ignore[arg-type]
        message_type=message_type,
        unique_id="u-1",
        action=action,
        payload=C8EU,
        validation_error=None,
    )


def test_a_boot_notification_is_the_chargers_call() -> None:
    assert is_boot_notification(frame("in", CALL, "BootNotification"))


@pytest.mark.parametrize(
    ("direction", "message_type", "action"),
    [
        ("out", CALL, "BootNotification"),
        ("in", CALLRESULT, "BootNotification"),
        ("in", CALLERROR, "BootNotification"),
        ("in", None, "BootNotification"),
        ("in", CALL, "Heartbeat"),
        ("in", CALL, None),
        ("out", CALLRESULT, "Heartbeat"),
    ],
)
def test_anything_else_is_not_a_boot_notification(
    direction: str, message_type: int | None, action: str | None
) -> None:
    assert not is_boot_notification(frame(direction, message_type, action))


def boot(wire: Wire, **fields: Any) -> Frame:
    return wire.request("BootNotification", {**C8EU, **fields}, {"status": "Accepted"})


def test_one_finding_per_boot_notification_of_another_charger_citing_its_frame() -> None:
    wire = Wire()
    boot(wire)
    other = boot(wire, chargePointVendor="SimuCharge", firmwareVersion="1.0.0")
    wire.heartbeat()
    again = boot(wire, chargePointModel="C8")
    assert identity_findings(wire.frames, EXPECTED, "fail") == (
        Finding(
            "fail",
            "The BootNotification reports another charger than the run certifies: "
            'chargePointVendor "SimuCharge" where the run certifies "Xcharge"; '
            'firmwareVersion "1.0.0" where the run certifies "V1.0.0_C8_Standard"' + ADVICE,
            (3,),
        ),
        Finding(
            "fail",
            "The BootNotification reports another charger than the run certifies: "
            'chargePointModel "C8" where the run certifies "C8EU" or "C8-EU"' + ADVICE,
            (7,),
        ),
    )
    assert (other.id, again.id) == (3, 7)  # the CALLs, not the portal's replies


def test_the_severity_is_the_callers() -> None:
    wire = Wire()
    boot(wire, chargePointModel="C8")
    [finding] = identity_findings(wire.frames, EXPECTED, "minor")
    assert finding == Finding(
        "minor",
        "The BootNotification reports another charger than the run certifies: "
        'chargePointModel "C8" where the run certifies "C8EU" or "C8-EU"' + ADVICE,
        (1,),
    )


def test_the_portals_frames_and_other_messages_are_not_judged() -> None:
    wire = Wire()
    call = wire.call_in("BootNotification", C8EU)
    # The portal's reply carries the same action and a payload without the three fields.
    wire.result_out(call, {"status": "Accepted", "currentTime": "2023-09-22T10:00:00Z"})
    wire.call_out("BootNotification", {"chargePointVendor": "SimuCharge"})
    wire.call_in("DataTransfer", {"chargePointVendor": "SimuCharge", "vendorId": "x"})
    assert identity_findings(wire.frames, EXPECTED, "fail") == ()


def test_a_boot_notification_without_an_evidence_id_is_cited_by_no_frame() -> None:
    unsaved = dataclasses.replace(
        frame("in", CALL, "BootNotification"), id=None, payload={**C8EU, "chargePointModel": "C8"}
    )
    assert identity_findings([unsaved], EXPECTED, "fail") == (
        Finding(
            "fail",
            "The BootNotification reports another charger than the run certifies: "
            'chargePointModel "C8" where the run certifies "C8EU" or "C8-EU"' + ADVICE,
            (),
        ),
    )


def test_no_frames_no_findings() -> None:
    assert identity_findings([], EXPECTED, "fail") == ()
    assert identity_findings(iter(()), EXPECTED, "fail") == ()
