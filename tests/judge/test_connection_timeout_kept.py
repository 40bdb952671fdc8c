"""Step 8: a charger that accepted a ConnectionTimeOut and keeps a longer one is named with
what the step saw, also when the step ends before the connector ever returns to Available
(OCPP 1.6 §9.1 ConnectionTimeOut)."""

from __future__ import annotations

from datetime import timedelta

from certification.judge.sessions import local_id_first_connection_timeout
from tests.judge.frames import START, Wire


def preparing_for(seconds: float) -> tuple[Wire, int]:
    wire = Wire()
    wire.command(
        "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "30"}, {"status": "Accepted"}
    )
    wire.authorize()
    preparing = wire.status(1, "Preparing")
    wire.wait(seconds)
    return wire, preparing.id or 0


def fails(wire: Wire, finished_after: float) -> list[tuple[str, tuple[int, ...]]]:
    judgement = local_id_first_connection_timeout(
        wire.context(finished_at=START + timedelta(seconds=finished_after))
    )
    return [(f.message, f.frame_ids) for f in judgement.findings if f.severity == "fail"]


def test_a_connector_still_preparing_past_the_accepted_timeout_is_named() -> None:
    wire, preparing = preparing_for(36)

    assert fails(wire, 36) == [
        (
            "Expected StatusNotification Available after StatusNotification Preparing; none was "
            "recorded",
            (),
        ),
        (
            "ConnectionTimeOut is 30 s (accepted by the charger) but the connector was still "
            "Preparing 36 s later, when the step ended: the charger does not apply the value "
            "it accepted",
            (preparing,),
        ),
    ]


def test_a_step_that_ended_within_the_tolerance_says_only_what_is_missing() -> None:
    wire, _ = preparing_for(34)

    # 34 s after Preparing: within 30 s + the 4 s tolerance, the charger may still be right.
    assert [message for message, _ in fails(wire, 34)] == [
        "Expected StatusNotification Available after StatusNotification Preparing; none was "
        "recorded"
    ]
