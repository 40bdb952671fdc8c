"""Steps 2 and 16: availability changes and hardware faults."""

from __future__ import annotations

from certification.judge.availability import change_availability, hardware_fault
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire, cited


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
    assert judgement.measurements == {
        "commands": [
            {
                "connector_id": 1,
                "type": "Inoperative",
                "answer": "Accepted",
                "status_delay_s": {"1": 2.0},
            },
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 1.0},
            },
        ]
    }


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
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="ChangeAvailability(connector 1, Inoperative) was accepted but "
            "connector 1 sent no StatusNotification Unavailable; it reported "
            "Available 0 s after the reply",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {"connector_id": 1, "type": "Inoperative", "answer": "Accepted", "status_delay_s": {}},
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0},
            },
        ]
    }


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
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="ChangeAvailability(connector 0, Inoperative) was accepted but "
            "connector 2 sent no StatusNotification Unavailable",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {
                "connector_id": 0,
                "type": "Inoperative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0},
            },
            {
                "connector_id": 0,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0, "2": 0.0},
            },
        ]
    }


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
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="ChangeAvailability(connector 1, Inoperative) answered Rejected where "
            "Accepted or Scheduled was expected",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {"connector_id": 1, "type": "Inoperative", "answer": "Rejected"},
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0},
            },
        ]
    }


def test_change_availability_names_a_callerror_reply() -> None:
    wire = Wire()
    call = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    wire.error_in(call, "NotImplemented", "not supported")
    availability(wire, 1, "Operative")
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert "CALLERROR NotImplemented" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="ChangeAvailability(connector 1, Inoperative) answered CALLERROR "
            "NotImplemented (not supported) where Accepted or Scheduled was "
            "expected",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {
                "connector_id": 1,
                "type": "Inoperative",
                "answer": "CALLERROR NotImplemented (not supported)",
            },
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0},
            },
        ]
    }


def test_change_availability_accepts_scheduled_without_immediate_status() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative", answer="Scheduled")
    availability(wire, 1, "Operative")
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "Y"
    assert any("Scheduled" in f.message and f.severity == "info" for f in judgement.findings)
    assert judgement.findings == (
        Finding(
            severity="info",
            message="ChangeAvailability(connector 1, Inoperative) answered Scheduled: the "
            "change waits for the transaction to end",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {"connector_id": 1, "type": "Inoperative", "answer": "Scheduled"},
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0},
            },
        ]
    }


def test_change_availability_needs_the_connector_returned_to_service() -> None:
    wire = Wire()
    availability(wire, 1, "Inoperative")
    wire.status(1, "Unavailable")

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert "No ChangeAvailability Operative sent" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No ChangeAvailability Operative sent: the connector was never returned "
            "to service",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {
                "connector_id": 1,
                "type": "Inoperative",
                "answer": "Accepted",
                "status_delay_s": {"1": 0.0},
            }
        ]
    }


def test_hardware_fault_passes_with_faulted_error_code_then_available() -> None:
    wire = Wire()
    wire.status(1, "Faulted", "GroundFailure")
    wire.wait(30)
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["error_code"] == "GroundFailure"
    assert judgement.measurements["faulted_s"] == 30.0
    assert judgement.findings == (
        Finding(
            severity="info",
            message="Connector 1 was Faulted (GroundFailure) for 30 s",
            frame_ids=(1, 3),
        ),
    )
    assert judgement.measurements == {
        "connector_id": 1,
        "error_code": "GroundFailure",
        "vendor_error_code": None,
        "info": None,
        "faulted_s": 30.0,
    }


def test_hardware_fault_with_no_error_code_fails() -> None:
    wire = Wire()
    wire.status(1, "Faulted")
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    assert "carries errorCode NoError" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StatusNotification Faulted on connector 1 carries errorCode NoError "
            "where an errorCode naming the fault was expected",
            frame_ids=(1,),
        ),
        Finding(
            severity="info", message="Connector 1 was Faulted (NoError) for 0 s", frame_ids=(1, 3)
        ),
    )
    assert judgement.measurements == {
        "connector_id": 1,
        "error_code": "NoError",
        "vendor_error_code": None,
        "info": None,
        "faulted_s": 0.0,
    }


def test_hardware_fault_treats_an_error_code_without_faulted_as_a_warning() -> None:
    wire = Wire()
    wire.status(1, "Available", "HighTemperature")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    messages = [f.message for f in judgement.findings]
    assert any("warning, not a fault" in m for m in messages)
    assert "No StatusNotification Faulted received" in messages
    assert judgement.findings == (
        Finding(
            severity="info",
            message="StatusNotification Available with errorCode HighTemperature on "
            "connector 1 is a warning, not a fault",
            frame_ids=(1,),
        ),
        Finding(severity="fail", message="No StatusNotification Faulted received", frame_ids=()),
    )
    assert judgement.measurements == {}


def test_hardware_fault_fails_when_a_transaction_starts_during_the_fault() -> None:
    wire = Wire()
    wire.status(1, "Faulted", "ConnectorLockFailure")
    wire.start_transaction()
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    assert any("no transaction should start" in f.message for f in judgement.findings)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StartTransaction on connector 1 while connector 1 was Faulted; no "
            "transaction should start during a fault",
            frame_ids=(3,),
        ),
        Finding(
            severity="info",
            message="Connector 1 was Faulted (ConnectorLockFailure) for 0 s",
            frame_ids=(1, 5),
        ),
    )
    assert judgement.measurements == {
        "connector_id": 1,
        "error_code": "ConnectorLockFailure",
        "vendor_error_code": None,
        "info": None,
        "faulted_s": 0.0,
    }


def test_hardware_fault_fails_when_the_connector_never_recovers() -> None:
    wire = Wire()
    wire.status(1, "Faulted", "GroundFailure")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "no StatusNotification Available after the fault" in f.message for f in judgement.findings
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Connector 1 sent no StatusNotification Available after the fault; it "
            "was expected once the fault was cleared",
            frame_ids=(1,),
        ),
    )
    assert judgement.measurements == {
        "connector_id": 1,
        "error_code": "GroundFailure",
        "vendor_error_code": None,
        "info": None,
    }


TWO_CONNECTORS = RunSettings(connectors=2)


def test_a_fault_on_connector_2_is_the_one_naming_its_cause_and_other_connectors_may_charge() -> (
    None
):
    """A Faulted with NoError first, then the one naming the fault: the latter is judged; a
    session on connector 1 during connector 2's fault is no fault of connector 2's."""
    wire = Wire()
    wire.status(2, "Faulted", "NoError")
    fault = wire.request(
        "StatusNotification",
        {
            "connectorId": 2,
            "errorCode": "GroundFailure",
            "status": "Faulted",
            "vendorErrorCode": "E42",
            "info": "earth leak",
        },
        {},
    )
    wire.start_transaction(connector=1)
    wire.wait(20)
    cleared = wire.status(2, "Available")

    judgement = hardware_fault(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding("info", "Connector 2 was Faulted (GroundFailure) for 20 s", cited(fault, cleared)),
    )
    assert judgement.measurements == {
        "connector_id": 2,
        "error_code": "GroundFailure",
        "vendor_error_code": "E42",
        "info": "earth leak",
        "faulted_s": 20.0,
    }


def test_a_fault_of_connector_0_forbids_a_start_on_every_connector() -> None:
    wire = Wire()
    fault = wire.status(0, "Faulted", "PowerMeterFailure")
    start = wire.start_transaction(connector=2)
    wire.wait(5)
    cleared = wire.status(0, "Available")

    judgement = hardware_fault(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "StartTransaction on connector 2 while connector 0 was Faulted; no transaction "
            "should start during a fault",
            cited(start),
        ),
        Finding(
            "info", "Connector 0 was Faulted (PowerMeterFailure) for 5 s", cited(fault, cleared)
        ),
    )


def test_another_connector_becoming_available_does_not_clear_the_fault() -> None:
    wire = Wire()
    fault = wire.status(1, "Faulted", "GroundFailure")
    wire.status(2, "Available")
    wire.wait(5)
    cleared = wire.status(1, "Available")

    judgement = hardware_fault(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding("info", "Connector 1 was Faulted (GroundFailure) for 5 s", cited(fault, cleared)),
    )
    assert judgement.measurements["faulted_s"] == 5.0


def test_a_status_overtaking_the_next_commands_reply_counts_for_the_command_before() -> None:
    wire = Wire()
    inoperative = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    wire.result_in(inoperative, {"status": "Accepted"})
    wire.wait(3)
    operative = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
    wire.status(1, "Unavailable")
    wire.result_in(operative, {"status": "Accepted"})
    wire.wait(1)
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "commands": [
            {
                "connector_id": 1,
                "type": "Inoperative",
                "answer": "Accepted",
                "status_delay_s": {"1": 3.0},
            },
            {
                "connector_id": 1,
                "type": "Operative",
                "answer": "Accepted",
                "status_delay_s": {"1": 1.0},
            },
        ]
    }


def test_another_status_than_the_requested_one_is_named_with_its_timing() -> None:
    wire = Wire()
    inoperative = wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.wait(3)
    wire.status(1, "Faulted")
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.wait(2)
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "ChangeAvailability(connector 1, Inoperative) was accepted but connector 1 sent no "
            "StatusNotification Unavailable; it reported Faulted 3 s after the reply",
            wire.exchange_ids(inoperative),
        ),
    )


def test_connector_2_of_two_is_judged_on_its_own_statuses() -> None:
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.status(1, "Unavailable")
    wire.wait(1)
    wire.status(2, "Unavailable")
    wire.command(
        "ChangeAvailability", {"connectorId": 2, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(2, "Available")

    judgement = change_availability(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert [c["status_delay_s"] for c in judgement.measurements["commands"]] == [
        {"2": 1.0},
        {"2": 0.0},
    ]


def test_an_unknown_type_or_a_missing_connector_owes_no_status() -> None:
    wire = Wire()
    wire.command("ChangeAvailability", {"connectorId": 1, "type": "Bogus"}, {"status": "Accepted"})
    wire.command("ChangeAvailability", {"type": "Operative"}, {"status": "Accepted"})

    judgement = change_availability(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "No ChangeAvailability Inoperative sent: the connector was never taken out of service",
        ),
    )
    assert judgement.measurements == {
        "commands": [
            {"connector_id": 1, "type": "Bogus", "answer": "Accepted"},
            {"connector_id": None, "type": "Operative", "answer": "Accepted"},
        ]
    }


def test_a_step_without_change_availability_fails_saying_so() -> None:
    wire = Wire()
    wire.heartbeat()

    judgement = change_availability(wire.context())

    assert judgement.findings == (Finding("fail", "No ChangeAvailability sent to the charger"),)


def test_connector_0_judges_every_connector_past_one_already_unavailable() -> None:
    """Connector 1 was already Unavailable (no status due); connector 2 reported two other
    statuses, both named with their timing."""
    wire = Wire()
    wire.status(1, "Unavailable")
    inoperative = wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.wait(2)
    wire.status(2, "Faulted")
    wire.wait(1)
    wire.status(2, "Available")
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(1, "Available")
    wire.status(2, "Available")

    judgement = change_availability(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "info",
            "ChangeAvailability(connector 0, Inoperative): connector 1 was already Unavailable, "
            "so no StatusNotification was due",
            (1,),
        ),
        Finding(
            "fail",
            "ChangeAvailability(connector 0, Inoperative) was accepted but connector 2 sent no "
            "StatusNotification Unavailable; it reported Faulted 2 s after the reply, Available "
            "3 s after the reply",
            wire.exchange_ids(inoperative),
        ),
    )


def test_connector_0_judges_the_next_connector_after_a_missing_status() -> None:
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.status(1, "Faulted")
    wire.status(2, "Unavailable")
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(1, "Available")
    wire.status(2, "Available")

    judgement = change_availability(wire.context(TWO_CONNECTORS))

    assert judgement.measurements["commands"][0]["status_delay_s"] == {"2": 0.0}
    assert len(judgement.findings) == 1


def test_an_inoperative_connector_reporting_preparing_dropped_the_state_it_accepted() -> None:
    """OCPP 1.6 §5.2: Inoperative persists until Operative; a plug-in (Preparing) before the
    Operative command shows the charger did not keep it."""
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    unavailable = wire.status(1, "Unavailable")
    wire.wait(4)
    preparing = wire.status(1, "Preparing")
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(1, "Available")

    judgement = change_availability(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "Connector 1 reported Preparing 4 s after ChangeAvailability(connector 1, "
            "Inoperative) made it Unavailable, before any Operative was sent: the charger did not "
            "keep the availability it accepted",
            cited(unavailable, preparing),
        ),
    )
