"""Steps 14 and 15: remote start, remote stop and unlock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from certification.judge.remote import remote_start_stop_cable_first, remote_start_unlock
from certification.judge.types import Finding, RunSettings
from tests.judge.expected import wrong_stop_reason
from tests.judge.frames import Wire, cited

REMOTE_START = {"idTag": "CARD-1", "connectorId": 1}


def cable_first(
    stop_reason: str = "Remote", authorize: bool = False, finishing_first: bool = False
) -> Wire:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command("RemoteStartTransaction", REMOTE_START, {"status": "Accepted"})
    if authorize:
        wire.authorize()
    wire.wait(3)
    wire.status(1, "Charging")
    wire.start_transaction()
    wire.wait(60)
    wire.command("RemoteStopTransaction", {"transactionId": 42}, {"status": "Accepted"})
    wire.wait(2)
    if finishing_first:
        wire.status(1, "Finishing")
    wire.stop_transaction(reason=stop_reason)
    if not finishing_first:
        wire.status(1, "Finishing")
    return wire


def cable_first_measurements(authorized: bool = False, **changes: float) -> dict[str, Any]:
    """Step 14's measurements of a `cable_first` session, with `changes`."""
    return {
        "transaction_id": 42,
        "connector_id": 1,
        "id_tag": "CARD-1",
        "charging_s": 62.0,
        "energy_wh": 1500,
        "meter_values": 0,
        "remote_start_to_start_s": 3.0,
        "authorized": authorized,
        "remote_stop_to_stop_s": 2.0,
        **changes,
    }


def test_remote_start_stop_passes_and_measures_the_delays() -> None:
    judgement = remote_start_stop_cable_first(cable_first().context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["remote_start_to_start_s"] == 3.0
    assert judgement.measurements["remote_stop_to_stop_s"] == 2.0
    assert judgement.measurements["authorized"] is False
    assert judgement.findings == ()
    assert judgement.measurements == cable_first_measurements()


def test_remote_start_stop_accepts_finishing_before_stop() -> None:
    assert remote_start_stop_cable_first(cable_first(finishing_first=True).context()).verdict == "Y"


def test_remote_stop_with_local_reason_fails() -> None:
    judgement = remote_start_stop_cable_first(cable_first(stop_reason="Local").context())

    assert judgement.verdict == "N"
    assert "reason Local where Remote was expected" in judgement.findings[0].message
    assert judgement.findings == (wrong_stop_reason("Local", "Remote", 11),)
    assert judgement.measurements == cable_first_measurements()


def test_remote_start_without_authorize_is_allowed_for_a_cached_card() -> None:
    # OCPP 1.6 §5.11: with AuthorizeRemoteTxRequests true the charger authorizes "using the
    # Local Authorization List, Authorization Cache and/or an Authorize.req request".
    wire = cable_first()

    judgement = remote_start_stop_cable_first(wire.context(authorize_remote_tx_requests="true"))

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "AuthorizeRemoteTxRequests is true and no Authorize came between "
            "RemoteStartTransaction and StartTransaction: the charger authorized the idTag "
            "from its authorization cache or local list, as OCPP 1.6 allows",
            (3, 7),
        ),
    )
    assert judgement.measurements == cable_first_measurements()


def test_remote_start_with_authorize_when_not_required_is_minor() -> None:
    wire = cable_first(authorize=True)

    judgement = remote_start_stop_cable_first(wire.context(authorize_remote_tx_requests=False))

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert judgement.findings == (
        Finding(
            severity="minor",
            message="Authorize sent after RemoteStartTransaction although "
            "AuthorizeRemoteTxRequests is false",
            frame_ids=(5,),
        ),
    )
    assert judgement.measurements == cable_first_measurements(authorized=True)


def test_remote_start_rejected_fails() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command("RemoteStartTransaction", REMOTE_START, {"status": "Rejected"})

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.verdict == "N"
    messages = [f.message for f in judgement.findings]
    assert "RemoteStartTransaction answered Rejected where Accepted was expected" in messages
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Expected StartTransaction after RemoteStartTransaction; none was recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="Expected StatusNotification Charging after RemoteStartTransaction; "
            "none was recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="Expected RemoteStopTransaction after RemoteStartTransaction; none was "
            "recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="Expected StopTransaction after RemoteStartTransaction; none was recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="Expected StatusNotification Finishing after RemoteStartTransaction; "
            "none was recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="RemoteStartTransaction answered Rejected where Accepted was expected",
            frame_ids=(3, 4),
        ),
    )
    assert judgement.measurements == {}


def test_remote_stop_for_another_transaction_fails() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command("RemoteStartTransaction", REMOTE_START, {"status": "Accepted"})
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.command("RemoteStopTransaction", {"transactionId": 7}, {"status": "Accepted"})
    wire.stop_transaction(reason="Remote")
    wire.status(1, "Finishing")

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.verdict == "N"
    assert "stop transaction 7 where transaction 42 was started" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="RemoteStopTransaction asked to stop transaction 7 where transaction 42 "
            "was started",
            frame_ids=(9,),
        ),
    )
    assert judgement.measurements == cable_first_measurements(
        charging_s=0.0, remote_start_to_start_s=0.0, remote_stop_to_stop_s=0.0
    )


def unlock_session(answer: str = "Unlocked", reason: str = "UnlockCommand") -> Wire:
    wire = Wire()
    wire.command("RemoteStartTransaction", REMOTE_START, {"status": "Accepted"})
    wire.status(1, "Preparing")
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.wait(30)
    wire.command("UnlockConnector", {"connectorId": 1}, {"status": answer})
    wire.wait(1)
    if answer == "Unlocked":
        wire.stop_transaction(reason=reason)
        wire.status(1, "Finishing")
        wire.status(1, "Available")
    return wire


def unlock_measurements(connector: int = 1) -> dict[str, Any]:
    """Step 15's measurements of an `unlock_session` that the charger unlocked."""
    return {
        "transaction_id": 42,
        "connector_id": connector,
        "id_tag": "CARD-1",
        "charging_s": 31.0,
        "energy_wh": 1500,
        "meter_values": 0,
        "unlock_to_stop_s": 1.0,
    }


def test_unlock_step_passes_with_unlock_command_stop() -> None:
    judgement = remote_start_unlock(unlock_session().context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["unlock_to_stop_s"] == 1.0
    assert judgement.findings == ()
    assert judgement.measurements == unlock_measurements()


def test_unlock_step_is_not_applicable_for_a_fixed_cable_charger() -> None:
    judgement = remote_start_unlock(Wire().context(RunSettings(can_unlock_connector=False)))

    assert judgement.verdict == "NA"
    assert judgement.findings[0].severity == "info"
    assert "fixed cable" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="info",
            message="Not applicable: the charger has a fixed cable and cannot unlock its connector",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {}


def test_unlock_step_is_not_applicable_when_unlock_is_not_supported() -> None:
    judgement = remote_start_unlock(unlock_session(answer="NotSupported").context())

    assert judgement.verdict == "NA"
    assert "NotSupported" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="info",
            message="Not applicable: the charger answered UnlockConnector with NotSupported",
            frame_ids=(9, 10),
        ),
    )
    assert judgement.measurements == {}


def test_a_step_not_applicable_with_a_shared_fail_in_its_evidence_is_proposed_n() -> None:
    """NA says the step does not apply; a frame of the step that is not valid OCPP-J is a
    defect all the same, and the proposal must not hide it."""
    wire = unlock_session(answer="NotSupported")
    garbage = wire.garbage_in("Expecting value: line 1 column 1 (char 0)")

    judgement = remote_start_unlock(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "A frame from the charger is not valid OCPP-J: Expecting value: line 1 column 1 "
            "(char 0)",
            cited(garbage),
        ),
        Finding(
            "info",
            "Not applicable: the charger answered UnlockConnector with NotSupported",
            (9, 10),
        ),
    )


def test_unlock_failed_fails() -> None:
    wire = unlock_session(answer="UnlockFailed")

    judgement = remote_start_unlock(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "answered UnlockFailed where Unlocked was expected" in f.message for f in judgement.findings
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Expected StopTransaction after UnlockConnector; none was recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="Expected StatusNotification Available after UnlockConnector; none was "
            "recorded",
            frame_ids=(),
        ),
        Finding(
            severity="fail",
            message="UnlockConnector(connector 1) answered UnlockFailed where Unlocked was "
            "expected",
            frame_ids=(9, 10),
        ),
    )
    assert judgement.measurements == {"transaction_id": 42, "connector_id": 1, "id_tag": "CARD-1"}


def test_unlock_with_wrong_stop_reason_fails() -> None:
    judgement = remote_start_unlock(unlock_session(reason="Local").context())

    assert judgement.verdict == "N"
    assert "reason Local where UnlockCommand was expected" in judgement.findings[0].message
    assert judgement.findings == (wrong_stop_reason("Local", "UnlockCommand", 11),)
    assert judgement.measurements == unlock_measurements()


CACHED = (
    "AuthorizeRemoteTxRequests is true and no Authorize came between RemoteStartTransaction "
    "and StartTransaction: the charger authorized the idTag from its authorization cache or "
    "local list, as OCPP 1.6 allows"
)
NOT_REQUIRED = (
    "Authorize sent after RemoteStartTransaction although AuthorizeRemoteTxRequests is false"
)


@pytest.mark.parametrize(
    ("setting", "authorize", "finding"),
    [
        (" TRUE ", False, CACHED),
        (True, True, None),
        ("False", True, NOT_REQUIRED),
        (False, False, None),
        ("no", True, None),
        (1, False, None),
    ],
)
def test_authorize_remote_tx_requests_is_read_as_a_case_insensitive_flag(
    setting: object, authorize: bool, finding: str | None
) -> None:
    """OCPP 1.6 §5.11; a value that is not a boolean makes Authorize optional."""
    wire = cable_first(authorize=authorize)

    judgement = remote_start_stop_cable_first(wire.context(authorize_remote_tx_requests=setting))

    assert [f.message for f in judgement.findings] == ([finding] if finding else [])
    assert judgement.measurements["authorized"] is authorize


def test_authorize_remote_tx_requests_set_in_the_step_counts_without_a_param() -> None:
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "AuthorizeRemoteTxRequests", "value": "true"},
        {"status": "Accepted"},
    )
    for frame in cable_first().frames:
        wire.frames.append(replace(frame, id=(frame.id or 0) + 10, seq=frame.seq + 10))

    judgement = remote_start_stop_cable_first(wire.context())

    assert [f.message for f in judgement.findings] == [CACHED]


def test_a_remote_session_may_end_available_when_the_cable_is_out() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command("RemoteStartTransaction", REMOTE_START, {"status": "Accepted"})
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.command("RemoteStopTransaction", {"transactionId": 42}, {"status": "Accepted"})
    wire.stop_transaction(reason="Remote")
    wire.status(1, "Available")

    judgement = remote_start_stop_cable_first(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())


def test_without_a_remote_start_only_the_remote_start_is_missing() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.command("RemoteStopTransaction", {"transactionId": 42}, {"status": "Accepted"})
    wire.stop_transaction(reason="Remote")
    wire.status(1, "Finishing")

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "Expected RemoteStartTransaction after StatusNotification Preparing; none was recorded",
        ),
    )


TWO_CONNECTORS = RunSettings(connectors=2)


def unlock_on_connector_2(
    *,
    remote_start: str | None = "Accepted",
    id_tag: str = "CARD-1",
    stopped: int = 42,
    optional_statuses: bool = True,
    available_on: int = 2,
) -> Wire:
    """Step 15 on connector 2 of two: [RemoteStartTransaction answered `remote_start`],
    [Preparing], StartTransaction with `id_tag`, Charging, UnlockConnector Unlocked, a
    StopTransaction of `stopped` (UnlockCommand), [Finishing], Available on `available_on`."""
    wire = Wire()
    if remote_start is not None:
        wire.command(
            "RemoteStartTransaction",
            {"idTag": "CARD-1", "connectorId": 2},
            {"status": remote_start},
        )
    if optional_statuses:
        wire.status(2, "Preparing")
    wire.start_transaction(connector=2, id_tag=id_tag)
    wire.status(2, "Charging")
    wire.wait(30)
    wire.command("UnlockConnector", {"connectorId": 2}, {"status": "Unlocked"})
    wire.wait(1)
    wire.stop_transaction(transaction_id=stopped, reason="UnlockCommand")
    if optional_statuses:
        wire.status(2, "Finishing")
    wire.status(available_on, "Available")
    return wire


def test_an_unlock_session_on_connector_2_without_the_optional_statuses_passes() -> None:
    judgement = remote_start_unlock(
        unlock_on_connector_2(optional_statuses=False).context(TWO_CONNECTORS)
    )

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == unlock_measurements(2)


def test_available_on_the_other_connector_does_not_end_the_unlock_session() -> None:
    judgement = remote_start_unlock(unlock_on_connector_2(available_on=1).context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "Expected StatusNotification Available after StopTransaction and StatusNotification "
            "Finishing; none was recorded",
        ),
    )


def test_an_unlock_session_inconsistent_with_its_remote_start_fails_on_every_count() -> None:
    wire = unlock_on_connector_2(remote_start="Rejected", id_tag="CARD-2", stopped=7)

    judgement = remote_start_unlock(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "RemoteStartTransaction answered Rejected where Accepted was expected",
            wire.exchange_ids(wire.frames[0]),
        ),
        Finding(
            "fail",
            "StartTransaction carries idTag CARD-2 where CARD-1 was expected",
            tuple(wire.ids("StartTransaction")),
        ),
        Finding(
            "fail",
            "StopTransaction for transaction 7 where transaction 42 was started",
            tuple(wire.ids("StopTransaction")),
        ),
    )


def test_an_unlock_step_without_remote_start_misses_it_from_the_start_of_the_step() -> None:
    judgement = remote_start_unlock(
        unlock_on_connector_2(remote_start=None).context(TWO_CONNECTORS)
    )

    assert judgement.findings == (
        Finding(
            "fail", "Expected RemoteStartTransaction after the start of the step; none was recorded"
        ),
    )


def test_a_rejected_remote_stop_is_named() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command("RemoteStartTransaction", REMOTE_START, {"status": "Accepted"})
    wire.start_transaction()
    wire.status(1, "Charging")
    stop = wire.command("RemoteStopTransaction", {"transactionId": 42}, {"status": "Rejected"})
    wire.stop_transaction(reason="Remote")
    wire.status(1, "Finishing")

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "RemoteStopTransaction answered Rejected where Accepted was expected",
            wire.exchange_ids(stop),
        ),
    )
