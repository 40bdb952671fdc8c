"""Steps 2 and 16: availability changes and hardware faults."""

from __future__ import annotations

from certification.judge.availability import change_availability, hardware_fault
from certification.judge.types import RunSettings
from tests.judge.frames import Wire


def availability(wire: Wire, connector: int, kind: str, answer: str = "Accepted") -> None:
    wire.command("ChangeAvailability", {"connectorId": connector, "type": kind}, {"status": answer})


def test_change_availability_passes_inoperative_then_operative_with_statuses() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative")
    wire.wait(2)
    wire.status(1, "Unavailable")
    wire.wait(10)
    availability(wire, 1, "Operative")
    wire.wait(1)
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements["commands"][0]["status_delay_s"] == {"1": 2.0}


def test_change_availability_fails_without_the_unavailable_status() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative")
    wire.status(1, "Available")
    availability(wire, 1, "Operative")
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    message = judgement.findings[0].message
    assert "no StatusNotification Unavailable" in message
    assert "it reported Available" in message


def test_change_availability_on_connector_zero_expects_every_connector() -> None:
    wire = Wire()
    availability(wire, 0, "Inoperative")
    wire.status(1, "Unavailable")
    availability(wire, 0, "Operative")
    wire.status(1, "Available")
    wire.status(2, "Available")

    judgement = change_availability(wire.context(RunSettings(connectors=2)))

    assert judgement.verdict == "N"
    assert any(
        "connector 2 sent no StatusNotification Unavailable" in f.message
        for f in judgement.findings
    )


def test_change_availability_fails_on_a_rejected_answer() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative", answer="Rejected")
    availability(wire, 1, "Operative")
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert (
        "answered Rejected where Accepted or Scheduled was expected"
        in judgement.findings[0].message
    )


def test_change_availability_names_a_callerror_reply() -> None:
    wire = Wire()
    call = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    wire.error_in(call, "NotImplemented", "not supported")
    availability(wire, 1, "Operative")
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert "CALLERROR NotImplemented" in judgement.findings[0].message


def test_change_availability_accepts_scheduled_without_immediate_status() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative", answer="Scheduled")
    availability(wire, 1, "Operative")
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "Y"
    assert any("Scheduled" in f.message and f.severity == "info" for f in judgement.findings)


def test_change_availability_needs_the_connector_returned_to_service() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative")
    wire.status(1, "Unavailable")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert "No ChangeAvailability Operative sent" in judgement.findings[0].message


def test_hardware_fault_passes_with_faulted_error_code_then_available() -> None:
    wire = Wire()
    wire.status(1, "Faulted", "GroundFailure")
    wire.wait(30)
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["error_code"] == "GroundFailure"
    assert judgement.measurements["faulted_s"] == 30.0


def test_hardware_fault_with_no_error_code_fails() -> None:
    wire = Wire()
    wire.status(1, "Faulted")
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    assert "carries errorCode NoError" in judgement.findings[0].message


def test_hardware_fault_treats_an_error_code_without_faulted_as_a_warning() -> None:
    wire = Wire()
    wire.status(1, "Available", "HighTemperature")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    messages = [f.message for f in judgement.findings]
    assert any("warning, not a fault" in m for m in messages)
    assert "No StatusNotification Faulted received" in messages


def test_hardware_fault_fails_when_a_transaction_starts_during_the_fault() -> None:
    wire = Wire()
    wire.status(1, "Faulted", "ConnectorLockFailure")
    wire.start_transaction()
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    assert any("no transaction should start" in f.message for f in judgement.findings)


def test_hardware_fault_fails_when_the_connector_never_recovers() -> None:
    wire = Wire()
    wire.status(1, "Faulted", "GroundFailure")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "no StatusNotification Available after the fault" in f.message for f in judgement.findings
    )
