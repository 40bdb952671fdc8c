"""The judge's contract (certification.judge.types), pinned whole: the evidence writer, the run
view and the report build and read these values, so their names, defaults and immutability
are fixed. A default a rule relies on (the 4 s timing tolerance, one connector, the Core
profile) changes every judgement that does not set it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, get_args

import pytest

from certification.judge.types import (
    CALL,
    CALLERROR,
    CALLRESULT,
    ConnectionEvent,
    Direction,
    Finding,
    Frame,
    InjectedFault,
    Judgement,
    RunSettings,
    Severity,
    StepContext,
    Verdict,
)
from tests.judge.frames import START


def values(instance: Any) -> dict[str, Any]:
    """Every field of a dataclass instance, by name (no deep copy, unlike asdict)."""
    return {field.name: getattr(instance, field.name) for field in dataclasses.fields(instance)}


def test_ocpp_j_message_type_ids() -> None:
    """OCPP-J 1.6 §4.1.3: 2 CALL, 3 CALLRESULT, 4 CALLERROR."""
    assert (CALL, CALLRESULT, CALLERROR) == (2, 3, 4)


def test_the_words_of_directions_severities_and_verdicts() -> None:
    assert get_args(Direction) == ("in", "out")
    assert get_args(Severity) == ("fail", "minor", "info")
    assert get_args(Verdict) == ("Y", "N", "NA")


def frame() -> Frame:
    return Frame(
        id=1,
        seq=1,
        at=START,
        direction="in",
        message_type=CALL,
        unique_id="u-1",
        action="Heartbeat",
        payload={},
        validation_error=None,
    )


def test_a_frame_belongs_to_no_connection_unless_told() -> None:
    assert values(frame()) == {
        "id": 1,
        "seq": 1,
        "at": START,
        "direction": "in",
        "message_type": CALL,
        "unique_id": "u-1",
        "action": "Heartbeat",
        "payload": {},
        "validation_error": None,
        "connection_id": None,
    }


def test_a_connection_event_has_no_detail_close_code_tls_or_connection_unless_told() -> None:
    assert values(ConnectionEvent(id=None, at=START, kind="closed")) == {
        "id": None,
        "at": START,
        "kind": "closed",
        "detail": "",
        "close_code": None,
        "tls": None,
        "connection_id": None,
    }


def test_an_injected_fault_lasts_names_nothing_and_was_applied_zero_times_unless_told() -> None:
    assert values(InjectedFault(id=None, kind="disconnect", started_at=START)) == {
        "id": None,
        "kind": "disconnect",
        "started_at": START,
        "ended_at": None,
        "action": "",
        "seconds": None,
        "error_code": "",
        "times": None,
        "applied": 0,
    }


def test_run_settings_default_to_one_unlockable_core_connector_and_4_s_tolerance() -> None:
    assert values(RunSettings()) == {
        "connectors": 1,
        "can_unlock_connector": True,
        "heartbeat_interval": None,
        "accepted_id_tags": (),
        "rejected_id_tags": (),
        "supported_profiles": ("Core",),
        "timing_tolerance_s": 4.0,
    }


def test_a_finding_cites_no_frames_unless_told() -> None:
    assert values(Finding("info", "Noted.")) == {
        "severity": "info",
        "message": "Noted.",
        "frame_ids": (),
    }


def test_a_judgement_measures_nothing_unless_told_and_never_shares_its_measurements() -> None:
    first, second = Judgement("Y", ()), Judgement("Y", ())
    assert values(first) == {"verdict": "Y", "findings": (), "measurements": {}}
    first.measurements["reboots"] = 2
    assert second.measurements == {}


def test_a_step_context_holds_only_frames_unless_told() -> None:
    context = StepContext(frames=(frame(),))
    assert values(context) == {
        "frames": (frame(),),
        "events": (),
        "settings": RunSettings(),
        "params": {},
        "started_at": None,
        "finished_at": None,
        "faults": (),
    }


def test_a_rule_cannot_write_into_the_default_params() -> None:
    params = StepContext(frames=()).params
    assert isinstance(params, Mapping)
    assert dict(params) == {}
    with pytest.raises(TypeError):
        params["tolerance_s"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("severities", "minor"),
    [
        ((), False),
        (("fail",), False),
        (("info",), False),
        (("fail", "info"), False),
        (("minor",), True),
        (("info", "minor"), True),
        (("minor", "fail"), True),
    ],
)
def test_a_judgement_is_minor_when_any_finding_is(
    severities: tuple[Severity, ...], minor: bool
) -> None:
    findings = tuple(Finding(severity, f"finding {n}") for n, severity in enumerate(severities))
    assert Judgement("Y", findings).minor is minor


@pytest.mark.parametrize(
    ("instance", "field"),
    [
        (frame(), "payload"),
        (ConnectionEvent(id=None, at=START, kind="closed"), "detail"),
        (InjectedFault(id=None, kind="delay", started_at=START), "applied"),
        (RunSettings(), "connectors"),
        (Finding("fail", "x"), "message"),
        (Judgement("Y", ()), "verdict"),
        (StepContext(frames=()), "frames"),
    ],
)
def test_no_rule_can_change_the_evidence_or_a_judgement(instance: Any, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, field, None)
