"""Property-based: whatever text a charger sends, the OCPP endpoint records it exactly,
answers it as OCPP-J 1.6 says (or stays silent where it says to ignore), and keeps
serving the other chargers.

Each test opens two connections once and shares them between its examples (hence the
suppressed function_scoped_fixture health check): a fuzzed charger, and a well-behaved one
whose Heartbeat must still be answered after every frame. After each fuzzed frame a
Heartbeat probe follows on the fuzzed connection: whatever arrives before the probe's
answer is the answer to the frame, so silence is observed without waiting for a timeout,
and since the evidence writer commits in order, the frame is in the database by then.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargers import services
from chargers.models import Frame
from chargers.ocpp import frames
from tests.chargers.ocpp_helpers import adb, communicator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY = "right-key-0123456789"
ANSWER_TIMEOUT = 10  # seconds; generous for a busy CI machine, never reached when all is well

ERROR_CODES_1_6 = {
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
}

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- What a charger might send ----------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)
unique_ids = (
    st.text(max_size=36)
    | st.text(min_size=37, max_size=80)
    | st.integers()
    | st.none()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.text(max_size=3), max_size=2)
)
message_types = st.sampled_from([2, 3, 4]) | st.integers(-3, 9) | json_values
actions = st.sampled_from(sorted(frames.OCPP16_ACTIONS)) | st.text(max_size=30) | json_values

NOW = "2026-01-01T00:00:00Z"
CHARGER_CALLS: dict[str, dict[str, Any]] = {
    "BootNotification": {"chargePointVendor": "Xcharge", "chargePointModel": "C8EU"},
    "Heartbeat": {},
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
    "Authorize": {"idTag": "TAG1"},
    "StartTransaction": {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": NOW},
    "StopTransaction": {"transactionId": 1, "meterStop": 10, "timestamp": NOW},
    "MeterValues": {
        "connectorId": 1,
        "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "10"}]}],
    },
    "DataTransfer": {"vendorId": "Xcharge"},
    "DiagnosticsStatusNotification": {"status": "Idle"},
    "FirmwareStatusNotification": {"status": "Idle"},
}


@st.composite
def near_valid_calls(draw: st.DrawFn) -> list[Any]:
    """A valid charger CALL with one to three fields mutated."""
    action = draw(st.sampled_from(sorted(CHARGER_CALLS)))
    payload = dict(CHARGER_CALLS[action])
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["drop", "retype", "extra", "big", "long"]))
        field = draw(st.sampled_from(sorted(payload) or ["connectorId"]))
        if mutation == "drop":
            payload.pop(field, None)
        elif mutation == "retype":
            payload[field] = draw(json_values)
        elif mutation == "extra":
            payload[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
        elif mutation == "big":
            payload[field] = draw(st.sampled_from([-1, 2**31, 2**63, 2**64, -(2**63) - 1, 1e308]))
        else:
            payload[field] = draw(st.text(min_size=20, max_size=600))
    unique_id = draw(st.text(min_size=1, max_size=36) | unique_ids)
    return [2, unique_id, action, payload]


@st.composite
def calls_with_non_json_numbers(draw: st.DrawFn) -> str:
    """A call carrying a number Python's json reads but JSON has not (NaN, Infinity) or a
    double cannot hold (1e400)."""
    call = draw(near_valid_calls())
    token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1E+999"]))
    payload = {"x": "@TOKEN@", **call[3]}
    return json.dumps([*call[:3], payload]).replace('"@TOKEN@"', token)


structured_lists = st.tuples(message_types, unique_ids, actions, json_values).flatmap(
    lambda parts: st.integers(0, 6).map(lambda n: [*parts, *([None] * max(0, n - 4))][:n])
)
frame_texts = (
    st.text(max_size=200)
    | json_values.map(json.dumps)
    | st.lists(json_values, max_size=6).map(json.dumps)
    | structured_lists.map(json.dumps)
    | near_valid_calls().map(json.dumps)
    | calls_with_non_json_numbers()
)

# --- The oracle: what OCPP-J 1.6 says about a frame -------------------------------------


@dataclass
class Expected:
    answer: bool | None  # None: either is acceptable
    unique_id: str | None = None
    error_code: str | None = None  # when the specification fixes it


def _has_duplicate_names(text: str) -> bool:
    """A member name twice in one object (RFC 8259 §4: which value counts is undefined)."""
    found = False

    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({name for name, _ in pairs}) != len(pairs)
        return dict(pairs)

    json.loads(text, object_pairs_hook=check)
    return found


def _strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity, numbers a double can hold."""

    def refuse(token: str) -> Any:
        raise ValueError(token)

    def finite(number: str) -> float:
        if math.isinf(float(number)):
            raise ValueError(number)
        return float(number)

    data = json.loads(text, parse_constant=refuse, parse_float=finite)
    # RFC 8259 §8.2: an unpaired surrogate escape is no Unicode character.
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    return data


def expected(text: str) -> Expected:
    try:
        data = _strict_json(text)
    except (ValueError, RecursionError):
        return Expected(answer=False)
    if not isinstance(data, list) or not data:
        return Expected(answer=False)
    message_type = data[0]
    if isinstance(message_type, bool) or not isinstance(message_type, int | float):
        return Expected(answer=False)
    if message_type != frames.CALL:
        # Unknown types are ignored; results and errors answer no outstanding CALL here.
        return Expected(answer=False)
    if not isinstance(message_type, int):
        return Expected(answer=None)  # 2.0: JSON does not tell it from 2
    if len(data) < 2 or not isinstance(data[1], str):
        return Expected(answer=False)  # no unique id to answer to
    unique_id = data[1]
    if len(data) != 4 or _has_duplicate_names(text):
        return Expected(True, unique_id, "FormationViolation")
    action, payload = data[2], data[3]
    if (
        isinstance(action, str)
        and action not in frames.OCPP16_ACTIONS
        and isinstance(payload, dict)
    ):
        return Expected(True, unique_id, "NotImplemented")
    return Expected(True, unique_id)


def check_answer(answer: Any, want: Expected) -> None:
    assert isinstance(answer, list) and answer, answer
    if want.unique_id is not None:
        assert answer[1] == want.unique_id, answer
    if answer[0] == frames.CALLRESULT:
        assert len(answer) == 3 and isinstance(answer[2], dict), answer
        assert want.error_code is None, f"expected CALLERROR {want.error_code}, got {answer}"
        return
    assert answer[0] == frames.CALLERROR and len(answer) == 5, answer
    code, description, details = answer[2:]
    assert code in ERROR_CODES_1_6 and isinstance(description, str), answer
    assert isinstance(details, dict), answer
    # InternalError is a 1.6 code, but here it means a handler crashed on charger input.
    assert code != "InternalError", answer
    if want.error_code is not None:
        assert code == want.error_code, answer


# --- The connections ------------------------------------------------------------------


@dataclass
class Chargers:
    fuzzed: WebsocketCommunicator
    fuzzed_pk: int
    steady: WebsocketCommunicator


@pytest_asyncio.fixture
async def chargers() -> AsyncIterator[Chargers]:
    fuzzed, _ = await adb(services.create_charge_point)("FUZZ1", authorization_key=KEY)
    await adb(services.create_charge_point)("STEADY1", authorization_key=KEY)
    connections = Chargers(communicator("FUZZ1", KEY), fuzzed.pk, communicator("STEADY1", KEY))
    for ws in (connections.fuzzed, connections.steady):
        connected, _ = await ws.connect()
        assert connected
    yield connections
    for ws in (connections.fuzzed, connections.steady):
        await ws.disconnect()


async def heartbeat(ws: WebsocketCommunicator) -> tuple[str, list[str]]:
    """Send a Heartbeat; return its unique id and every text received until its answer."""
    probe = f"probe-{uuid.uuid4()}"
    await ws.send_to(text_data=json.dumps([2, probe, "Heartbeat", {}]))
    received: list[str] = []
    while True:
        text = await ws.receive_from(timeout=ANSWER_TIMEOUT)
        answer = json.loads(text)
        if answer[:2] == [frames.CALLRESULT, probe]:
            return probe, received
        received.append(text)


async def throw(chargers: Chargers, text: str) -> None:
    want = expected(text)
    # send_input, not send_to: send_to refuses an empty text.
    await chargers.fuzzed.send_input({"type": "websocket.receive", "text": text})
    _, answers = await heartbeat(chargers.fuzzed)
    if want.answer is True:
        assert len(answers) == 1, f"{text!r} answered with {answers}"
    elif want.answer is False:
        assert answers == [], f"{text!r} should be ignored, was answered with {answers}"
    assert len(answers) <= 1, answers
    for answer in answers:
        check_answer(json.loads(answer), want)

    stored = text.replace("\x00", "\\u0000")  # PostgreSQL cannot hold NUL (evidence.py)
    recorded = await adb(
        lambda: list(
            Frame.objects.filter(charge_point_id=chargers.fuzzed_pk, raw__in=[stored, *answers])
            .order_by("seq")
            .values_list("direction", "raw")
        )
    )()
    assert (Frame.Direction.IN, stored) in recorded, f"{text!r} was not recorded as sent"
    for answer in answers:
        assert (Frame.Direction.OUT, answer) in recorded, f"answer {answer!r} not recorded"

    _, unexpected = await heartbeat(chargers.steady)
    assert unexpected == []


# --- The properties -------------------------------------------------------------------


@FUZZ
@given(text=frame_texts)
async def test_any_frame_is_recorded_and_answered_per_ocpp_j(chargers: Chargers, text: str) -> None:
    await throw(chargers, text)


@FUZZ
@given(call=near_valid_calls())
async def test_a_mutated_charger_call_gets_a_result_or_a_1_6_error(
    chargers: Chargers, call: list[Any]
) -> None:
    await throw(chargers, json.dumps(call))


async def test_the_oracle_and_the_endpoint_agree_on_known_cases(chargers: Chargers) -> None:
    """Examples the properties rely on, pinned so that a weaker oracle shows up here."""
    assert expected('[2, "a", "Heartbeat", {}]') == Expected(True, "a")
    assert expected('[2, "a", "Heartbeat", {}, 1]').error_code == "FormationViolation"
    assert expected('[2, "a", "Fly", {}]').error_code == "NotImplemented"
    assert expected('[5, "a", "Heartbeat", {}]').answer is False
    assert expected('[2, 7, "Heartbeat", {}]').answer is False
    assert expected('[2, "a", "Heartbeat", {"x": NaN}]').answer is False
    twice = '[2, "d", "Authorize", {"idTag": "A", "idTag": "B"}]'
    assert expected(twice).error_code == "FormationViolation"
    texts = ('[2, "a", "Fly", {}]', '[9, "b"]', "not json", '[2, "c", "Reset", {}]', twice)
    for text in texts:
        await throw(chargers, text)


@pytest.mark.parametrize(
    "text",
    [
        # Found by the property above: SQLite refused the payload (CHECK JSON_VALID) with an
        # IntegrityError, which the evidence writer retried forever, so no frame of any
        # charger of the process was written or answered again.
        '[2, "nan-1", "Heartbeat", {"x": NaN}]',
        "Infinity",
        '[2, "big-1", "DataTransfer", {"vendorId": "X", "data": 1e400}]',
        # Python's json gives up on deep nesting with a RecursionError, which the ocpp
        # library does not catch: the consumer died. (40,000 bytes: under
        # OCPP_MAX_FRAME_BYTES, so the parser sees it; larger frames are refused whole.)
        "[" * 20_000 + "]" * 20_000,
        # An unpaired UTF-16 surrogate escape: Authorize answered InternalError (the idTag
        # query could not encode it) and the evidence writer retried the batch forever,
        # stalling every charger of the worker (NousResearch/hermes-agent #101666 is the
        # same fault in another websocket server).
        '[2, "lone-1", "Authorize", {"idTag": "\\ud800"}]',
        '[2, "\\udfff", "Heartbeat", {}]',
        '[3, "lone-3", {"status": "\\udbff"}]',
    ],
)
async def test_a_frame_that_is_not_storable_json_is_recorded_and_ignored(
    chargers: Chargers, text: str
) -> None:
    await throw(chargers, text)
    recorded = await adb(
        Frame.objects.filter(charge_point_id=chargers.fuzzed_pk, raw=text)
        .values_list("payload", "validation_error")
        .get
    )()
    assert recorded[0] is None and recorded[1].startswith("not valid JSON")


@pytest.mark.parametrize(
    "text", ['[2, "nul\\u0000id", "Heartbeat", {}]', '[2, "nul-action", "Fly\\u0000", {}]']
)
async def test_a_nul_in_the_unique_id_or_action_is_recorded_escaped_and_answered(
    chargers: Chargers, text: str
) -> None:
    """Found by the property on PostgreSQL: a NUL in the unique id or the action made every
    write of the batch fail, and the evidence writer retried it forever."""
    await throw(chargers, text)
    frames_in = await adb(
        lambda: list(
            Frame.objects.filter(charge_point_id=chargers.fuzzed_pk, direction="in")
            .exclude(action="Heartbeat", unique_id__startswith="probe-")
            .values_list("unique_id", "action")
        )
    )()
    assert frames_in in (
        [("nul\\u0000id", "Heartbeat")],
        [("nul-action", "Fly\\u0000")],
    )
