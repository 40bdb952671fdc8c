"""Reading frames: what the portal sends is read as thoroughly as what it receives."""

from __future__ import annotations

import pytest
from ocpp.messages import Call, CallError, CallResult

from chargers.ocpp import frames

SENT = [
    Call("c1", "Reset", {"type": "Hard"}).to_json(),
    Call("c2", "Reset", {"type": "Sometimes"}).to_json(),  # expert mode: invalid on purpose
    CallResult("r1", {"currentTime": "2026-11-24T10:00:00.000Z", "interval": 300}).to_json(),
    CallError("e1", "FormationViolation", "bad", {"cause": "x"}).to_json(),
    frames.call_error_text("e2", "NotImplemented", "Foo is not an OCPP 1.6 action"),
]


@pytest.mark.parametrize("text", SENT)
def test_a_frame_the_portal_sent_reads_as_parse_reads_it(text: str) -> None:
    fast, full = frames.parse_sent(text), frames.parse(text)
    assert (fast.message_type, fast.unique_id, fast.action, fast.payload, fast.problem) == (
        full.message_type,
        full.unique_id,
        full.action,
        full.payload,
        full.problem,
    )


@pytest.mark.parametrize("text", ["not json", "{}", "[]", "[3]", '[9,"x"]'])
def test_anything_unexpected_goes_through_the_full_parse(text: str) -> None:
    fast, full = frames.parse_sent(text), frames.parse(text)
    assert (fast.message_type, fast.unique_id, fast.problem) == (
        full.message_type,
        full.unique_id,
        full.problem,
    )
