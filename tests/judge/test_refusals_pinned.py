"""The full plan's refusal steps pinned whole: configuration refusals (TC_040_1, TC_040_2,
TC_019_2), UnlockConnector with no session (TC_017_1, TC_017_2, TC_031), DataTransfer to an
unknown vendor (TC_062) and refused remote commands (TC_026, TC_028)."""

from __future__ import annotations

from typing import Any

from certification.judge.refusals import (
    configuration_refusals,
    data_transfer_unknown_vendor,
    remote_refusals,
    unlock_connector_idle,
)
from certification.judge.types import Finding, Judgement, RunSettings
from tests.judge.frames import Wire, cited


def change(wire: Wire, key: str, status: str) -> Any:
    return wire.command("ChangeConfiguration", {"key": key, "value": "9"}, {"status": status})


def read(wire: Wire, key: str, reply: dict[str, Any]) -> Any:
    return wire.command("GetConfiguration", {"key": [key]}, reply)


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


# Configuration refusals -------------------------------------------------------------------


def test_both_refusals_and_the_unknown_key_listed_pass_with_nothing_to_say() -> None:
    wire = Wire()
    change(wire, "NumberOfConnectors", "Rejected")
    change(wire, "CertPortalUnknownKey", "NotSupported")
    read(wire, "CertPortalUnknownKey", {"unknownKey": ["CertPortalUnknownKey"]})

    assert configuration_refusals(wire.context()) == Judgement("Y", (), {})


def test_the_keys_come_from_the_params() -> None:
    wire = Wire()
    change(wire, "SupportedFeatureProfiles", "Rejected")
    change(wire, "VendorX", "NotSupported")
    read(wire, "VendorX", {"unknownKey": ["VendorX"]})

    judged = configuration_refusals(
        wire.context(read_only_key="SupportedFeatureProfiles", unknown_key="VendorX")
    )
    defaults = configuration_refusals(wire.context())

    assert judged.verdict == "Y"
    assert [m for _, m, _ in findings(defaults)] == [
        "ChangeConfiguration of NumberOfConnectors (read-only) and of CertPortalUnknownKey "
        "(unknown) were both expected in the step",
        "No GetConfiguration asking for CertPortalUnknownKey",
    ]


def test_the_same_key_changed_twice_does_not_stand_for_the_other() -> None:
    wire = Wire()
    change(wire, "NumberOfConnectors", "Rejected")
    change(wire, "NumberOfConnectors", "Rejected")
    read(wire, "CertPortalUnknownKey", {"unknownKey": ["CertPortalUnknownKey"]})

    assert findings(configuration_refusals(wire.context())) == [
        (
            "fail",
            "ChangeConfiguration of NumberOfConnectors (read-only) and of CertPortalUnknownKey "
            "(unknown) were both expected in the step",
            (),
        )
    ]


def test_a_wrong_answer_to_each_change_is_named_with_its_frames() -> None:
    wire = Wire()
    read_only = change(wire, "NumberOfConnectors", "Accepted")
    unknown = change(wire, "CertPortalUnknownKey", "Rejected")
    read(wire, "CertPortalUnknownKey", {"unknownKey": ["CertPortalUnknownKey"]})

    assert findings(configuration_refusals(wire.context())) == [
        (
            "fail",
            "ChangeConfiguration of read-only NumberOfConnectors answered Accepted where "
            "Rejected was expected",
            cited(read_only, wire.frames[1]),
        ),
        (
            "fail",
            "ChangeConfiguration of unknown CertPortalUnknownKey answered Rejected where "
            "NotSupported was expected",
            cited(unknown, wire.frames[3]),
        ),
    ]


def test_the_first_read_of_the_unknown_key_is_judged() -> None:
    wire = Wire()
    change(wire, "NumberOfConnectors", "Rejected")
    change(wire, "CertPortalUnknownKey", "NotSupported")
    listed_as_known = read(
        wire,
        "CertPortalUnknownKey",
        {"configurationKey": [{"key": "CertPortalUnknownKey", "readonly": False, "value": "1"}]},
    )
    read(wire, "CertPortalUnknownKey", {"unknownKey": ["CertPortalUnknownKey"]})

    assert findings(configuration_refusals(wire.context())) == [
        (
            "fail",
            "GetConfiguration reported CertPortalUnknownKey as a known key",
            cited(listed_as_known, wire.frames[5]),
        )
    ]


def test_an_unknown_key_missing_from_unknown_key_is_a_fail_on_that_read() -> None:
    wire = Wire()
    change(wire, "NumberOfConnectors", "Rejected")
    change(wire, "CertPortalUnknownKey", "NotSupported")
    silent = read(wire, "CertPortalUnknownKey", {"configurationKey": [], "unknownKey": []})
    read(wire, "CertPortalUnknownKey", {"unknownKey": ["CertPortalUnknownKey"]})

    assert findings(configuration_refusals(wire.context())) == [
        (
            "fail",
            "GetConfiguration did not list CertPortalUnknownKey in unknownKey",
            cited(silent, wire.frames[5]),
        )
    ]


def test_a_read_answered_with_an_error_is_named_as_the_read() -> None:
    wire = Wire()
    change(wire, "NumberOfConnectors", "Rejected")
    change(wire, "CertPortalUnknownKey", "NotSupported")
    call = wire.call_out("GetConfiguration", {"key": ["CertPortalUnknownKey"]})
    error = wire.error_in(call, "NotSupported")

    [(severity, message, frames)] = findings(configuration_refusals(wire.context()))
    assert severity == "fail" and frames == cited(call, error)
    assert message.startswith("GetConfiguration([CertPortalUnknownKey]) answered")


# UnlockConnector --------------------------------------------------------------------------


def unlock(wire: Wire, connector: int, status: str) -> Any:
    return wire.command("UnlockConnector", {"connectorId": connector}, {"status": status})


def test_unlock_of_every_existing_connector_and_one_beyond_pinned() -> None:
    wire = Wire()
    unlock(wire, 1, "Unlocked")
    unlock(wire, 2, "Unlocked")
    unlock(wire, 3, "UnlockFailed")

    judgement = unlock_connector_idle(wire.context(RunSettings(connectors=2)))

    assert judgement == Judgement(
        "Y",
        (),
        {"connector_1": "Unlocked", "connector_2": "Unlocked", "unknown_connector": "UnlockFailed"},
    )


def test_the_last_connector_is_an_existing_one_and_the_next_is_not() -> None:
    wire = Wire()
    last = unlock(wire, 2, "NotSupported")
    beyond = unlock(wire, 3, "Unlocked")

    judgement = unlock_connector_idle(wire.context(RunSettings(connectors=2)))

    assert findings(judgement) == [
        (
            "fail",
            "UnlockConnector(connector 2) answered NotSupported where Unlocked was expected",
            cited(last, wire.frames[1]),
        ),
        (
            "fail",
            "UnlockConnector(connector 3), which does not exist, answered Unlocked where "
            "UnlockFailed or NotSupported was expected",
            cited(beyond, wire.frames[3]),
        ),
    ]
    assert judgement.measurements == {
        "connector_2": "NotSupported",
        "unknown_connector": "Unlocked",
    }


def test_a_fixed_cable_answers_not_supported() -> None:
    wire = Wire()
    unlock(wire, 1, "NotSupported")
    unlock(wire, 0, "NotSupported")

    settings = RunSettings(connectors=1, can_unlock_connector=False)
    judgement = unlock_connector_idle(wire.context(settings))

    assert judgement == Judgement(
        "Y", (), {"connector_1": "NotSupported", "unknown_connector": "NotSupported"}
    )


def test_no_unlock_sent_is_the_only_finding() -> None:
    wire = Wire()
    wire.heartbeat()

    assert unlock_connector_idle(wire.context()) == Judgement(
        "N", (Finding("fail", "No UnlockConnector was sent to the charger"),), {}
    )


# DataTransfer -----------------------------------------------------------------------------


def test_data_transfer_names_the_vendor_of_a_wrong_answer() -> None:
    wire = Wire()
    right = wire.command("DataTransfer", {"vendorId": "cert.portal"}, {"status": "UnknownVendorId"})
    wrong = wire.command("DataTransfer", {"vendorId": "other.vendor"}, {"status": "Accepted"})

    judgement = data_transfer_unknown_vendor(wire.context())

    assert right.id and findings(judgement) == [
        (
            "fail",
            "DataTransfer(vendorId other.vendor) answered Accepted where UnknownVendorId was "
            "expected",
            cited(wrong, wire.frames[3]),
        )
    ]


def test_no_data_transfer_sent_is_a_fail() -> None:
    wire = Wire()
    wire.heartbeat()

    assert findings(data_transfer_unknown_vendor(wire.context())) == [
        ("fail", "No DataTransfer was sent to the charger", ())
    ]


# Remote commands refused ------------------------------------------------------------------


def test_refused_remote_stop_and_start_pass_and_a_missing_start_is_noted() -> None:
    both = Wire()
    both.command("RemoteStopTransaction", {"transactionId": 999}, {"status": "Rejected"})
    both.command("RemoteStartTransaction", {"connectorId": 9, "idTag": "C"}, {"status": "Rejected"})
    stop_only = Wire()
    stop_only.command("RemoteStopTransaction", {"transactionId": 999}, {"status": "Rejected"})

    assert remote_refusals(both.context()) == Judgement("Y", (), {})
    assert findings(remote_refusals(stop_only.context())) == [
        ("info", "No RemoteStartTransaction refused in the step: TC_026 not checked", ())
    ]


def test_an_accepted_remote_start_names_its_connector() -> None:
    wire = Wire()
    wire.command("RemoteStopTransaction", {"transactionId": 999}, {"status": "Rejected"})
    start = wire.command(
        "RemoteStartTransaction", {"connectorId": 9, "idTag": "C"}, {"status": "Accepted"}
    )

    assert findings(remote_refusals(wire.context())) == [
        (
            "fail",
            "RemoteStartTransaction(connector 9) answered Accepted where Rejected was expected",
            cited(start, wire.frames[3]),
        )
    ]


def test_no_remote_stop_sent_is_a_fail_besides_the_start() -> None:
    wire = Wire()
    wire.command("RemoteStartTransaction", {"connectorId": 9, "idTag": "C"}, {"status": "Rejected"})

    assert findings(remote_refusals(wire.context())) == [
        ("fail", "No RemoteStopTransaction of a transaction that is not running was sent", ())
    ]
