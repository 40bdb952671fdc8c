"""OCPP-J framing: what a raw websocket text is, and how the portal answers a bad one.

Pure functions over text, no Django. The ocpp library does the unpacking and the schema
validation; this module classifies what it rejects so that every frame, valid or not, can
be recorded and answered as OCPP-J 1.6 says:

* not JSON, not a list, no message type: nothing can be answered (no unique id);
* an unknown message type: ignored (recorded only);
* a known type with the wrong number of elements: CALLERROR FormationViolation when the
  unique id can be recovered;
* an unknown action: CALLERROR NotImplemented; a known action the portal does not take
  (a CSMS-initiated one sent by the charger): CALLERROR NotSupported;
* an answer (CALLRESULT, CALLERROR) with the wrong number of elements, a CALLERROR whose
  errorCode is not a 1.6 code, whose errorDescription is not a string or whose errorDetails
  is not an object, a CALLRESULT whose payload is not an object: kept with the unique id
  when it can be read, so that the central system correlates it with its CALL, and with
  ``problem`` naming the violation.

1.6 spells two schema-error codes differently from the library (FormationViolation,
OccurenceConstraintViolation); the portal sends the 1.6 spellings, since certification
evidence must show what the specification asks for.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, unpack
from ocpp.v16.enums import Action

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MAX_UNIQUE_ID_LENGTH = 36

OCPP16_ACTIONS = frozenset(action.value for action in Action)

# The library's codes and the spelling OCPP-J 1.6 uses on the wire.
ERROR_CODE_1_6 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


# OCPP-J 1.6 §4.2.3, the only codes a CALLERROR may carry, in the specification's order
# and spelling.
ERROR_CODES = (
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
)
ERROR_CODES_1_6 = frozenset(ERROR_CODES)

# The note on a charger's CALL that the central system itself failed to handle (answered
# InternalError, logged): a fault of the portal, not a deviation of the charger.
CENTRAL_SYSTEM_FAILURE = "the central system failed to handle it (InternalError)"


def charger_deviations(notes: str | None) -> str | None:
    """A frame's notes (``Frame.validation_error``, joined with "; ") without the central
    system's own failure: what the charger did wrong, or None."""
    if not notes:
        return None
    kept = [note for note in notes.split("; ") if note != CENTRAL_SYSTEM_FAILURE]
    return "; ".join(kept) or None


def spell_1_6(code: str) -> str:
    """The OCPP 1.6 spelling of a library error code."""
    return ERROR_CODE_1_6.get(code, code)


@dataclass
class ParsedFrame:
    """What the portal understood of one frame. ``message`` is the library's object when
    the frame is valid OCPP-J; ``problem`` says why it is not."""

    message_type: int | None
    unique_id: str | None
    action: str | None
    payload: Any
    message: Call | CallResult | CallError | None
    problem: str | None = None
    # The CALLERROR the portal answers with, when it answers at all.
    reply_error_code: str | None = None


def parse(text: str) -> ParsedFrame:
    """Parse one websocket text frame; never raises."""
    duplicates: list[str] = []
    try:
        data = json.loads(
            text,
            parse_constant=_not_json,
            parse_float=_finite_float,
            object_pairs_hook=functools.partial(_json_object, duplicates=duplicates),
        )
        if _SURROGATE_ESCAPE.search(text):
            _refuse_lone_surrogates(data)
    except (ValueError, RecursionError) as error:
        return ParsedFrame(None, None, None, None, None, problem=f"not valid JSON: {error}")
    parsed = _classify(text)
    if duplicates:
        _refuse_duplicate_names(parsed, duplicates)
    return parsed


def _json_object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                duplicates.append(name)
            seen.add(name)
    return obj


def _refuse_duplicate_names(parsed: ParsedFrame, duplicates: list[str]) -> None:
    """A member name twice in one object: RFC 8259 §4 leaves it to each receiver which
    value counts (Python's json keeps the last, others the first), so the frame does not
    say one thing. A CALL is answered FormationViolation, not acted on; an answer is kept
    correlated with the problem named."""
    names = ", ".join(sorted({_short(name) for name in duplicates}))
    problem = (
        f"member name(s) {names} appear more than once in one JSON object; which value "
        "counts is undefined (RFC 8259 §4)"
    )
    parsed.problem = f"{parsed.problem}; {problem}" if parsed.problem else problem
    parsed.message = None
    if parsed.message_type == CALL and parsed.unique_id is not None:
        parsed.reply_error_code = "FormationViolation"


def _classify(text: str) -> ParsedFrame:
    """What a frame that is JSON is as OCPP-J (parse did the JSON checks)."""
    try:
        message = unpack(text)
    except OCPPError as error:
        return _explain(text, error)
    unique_id = message.unique_id
    if not isinstance(unique_id, str):
        return ParsedFrame(
            message.message_type_id,
            None,
            getattr(message, "action", None),
            None,
            None,
            problem=f"unique id {unique_id!r} is not a string",
        )
    if isinstance(message, Call):
        problem = None
        reply = None
        if len(unique_id) > MAX_UNIQUE_ID_LENGTH:
            problem = f"unique id is {len(unique_id)} characters, more than 36"
        if not isinstance(message.action, str):
            return ParsedFrame(
                CALL,
                unique_id,
                None,
                message.payload,
                None,
                problem=f"action {message.action!r} is not a string",
                reply_error_code="FormationViolation",
            )
        if not isinstance(message.payload, dict):
            return ParsedFrame(
                CALL,
                unique_id,
                message.action,
                message.payload,
                None,
                problem="payload is not a JSON object",
                reply_error_code="FormationViolation",
            )
        return ParsedFrame(
            CALL, unique_id, message.action, message.payload, message, problem, reply
        )
    if isinstance(message, CallResult):
        problem = None
        if message.action is not None:
            # The library takes a fourth element as the action it keeps for validation.
            problem = "message type 3 has 4 elements, 3 expected"
        elif not isinstance(message.payload, dict):
            problem = f"CALLRESULT payload is {_json_kind(message.payload)}, not a JSON object"
        return ParsedFrame(CALLRESULT, unique_id, None, message.payload, message, problem)
    payload = {
        "errorCode": message.error_code,
        "errorDescription": message.error_description,
        "errorDetails": message.error_details,
    }
    return ParsedFrame(CALLERROR, unique_id, None, payload, message, _call_error_problem(payload))


def _call_error_problem(payload: dict[str, Any]) -> str | None:
    """What makes a CALLERROR malformed (OCPP-J 1.6 §4.2.3), or None."""
    problems = []
    code = payload["errorCode"]
    # Not a string (an array, an object) is no error code either, and cannot be looked up.
    if not isinstance(code, str) or code not in ERROR_CODES_1_6:
        problems.append(f"errorCode {_short(code)} is not an OCPP 1.6 error code")
    if not isinstance(payload["errorDescription"], str):
        problems.append(
            f"errorDescription is {_json_kind(payload['errorDescription'])}, not a string"
        )
    if not isinstance(payload["errorDetails"], dict):
        problems.append(f"errorDetails is {_json_kind(payload['errorDetails'])}, not a JSON object")
    return "; ".join(problems) or None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parse_sent(text: str) -> ParsedFrame:
    """What a frame the portal serialised with the library says, for the evidence. The
    library built it, so one ``json.loads`` and reading its positions is enough; anything
    unexpected goes through ``parse``."""
    try:
        data = json.loads(text)
        message_type, unique_id = data[0], data[1]
        if message_type == CALL:
            return ParsedFrame(CALL, unique_id, data[2], data[3], None)
        if message_type == CALLRESULT:
            return ParsedFrame(CALLRESULT, unique_id, None, data[2], None)
        if message_type == CALLERROR:
            payload = {"errorCode": data[2], "errorDescription": data[3], "errorDetails": data[4]}
            return ParsedFrame(CALLERROR, unique_id, None, payload, None)
    except (ValueError, TypeError, IndexError, KeyError):
        pass
    return parse(text)


def _not_json(constant: str) -> Any:
    # Python's json takes NaN and Infinity; JSON (RFC 8259) does not, nor can the
    # evidence store them (SQLite's JSON_VALID and PostgreSQL's jsonb refuse them).
    raise ValueError(f"{constant} is not a JSON value")


# The escape of a UTF-16 surrogate (U+D800 to U+DFFF); json reads a pair as one character and
# an unpaired one as a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(data: Any) -> None:
    # A lone surrogate is no Unicode character (RFC 8259 §8.2: such a text's behaviour is
    # unpredictable): UTF-8 cannot encode it, so no database stores it and no handler can
    # compare it. Python's json takes it; the portal refuses the text as it refuses NaN.
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        character = error.object[error.start]
        raise ValueError(
            f"\\u{ord(character):04x} is an unpaired UTF-16 surrogate, not a Unicode character"
        ) from None


def _finite_float(number: str) -> float:
    value = float(number)
    if math.isinf(value):
        raise ValueError(f"{number[:40]} is out of range of a double")
    return value


def _explain(text: str, error: OCPPError) -> ParsedFrame:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ParsedFrame(None, None, None, None, None, problem="not valid JSON")
    if not isinstance(data, list):
        return ParsedFrame(
            None, None, None, data, None, problem=f"not a JSON array but {type(data).__name__}"
        )
    if not data:
        return ParsedFrame(None, None, None, data, None, problem="empty array")
    message_type = data[0]
    if message_type not in (CALL, CALLRESULT, CALLERROR):
        return ParsedFrame(
            message_type if isinstance(message_type, int) else None,
            _unique_id_of(data),
            None,
            data,
            None,
            problem=f"unknown message type {message_type!r}, ignored",
        )
    unique_id = _unique_id_of(data)
    expected = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}[message_type]
    problem = f"message type {message_type} has {len(data)} elements, {expected} expected"
    if message_type == CALL and unique_id is not None:
        action = data[2] if len(data) > 2 and isinstance(data[2], str) else None
        return ParsedFrame(
            CALL, unique_id, action, data, None, problem, reply_error_code="FormationViolation"
        )
    payload: Any = data
    if message_type == CALLERROR:
        # The elements that are there, under their names, so that the evidence and the
        # judge read a malformed CALLERROR as the error it tried to be.
        names = ("errorCode", "errorDescription", "errorDetails")
        payload = {name: value for name, value in zip(names, data[2:], strict=False)}
    elif message_type == CALLRESULT:
        payload = data[2] if len(data) > 2 else None
    return ParsedFrame(message_type, unique_id, None, payload, None, problem=problem)


def _unique_id_of(data: list[Any]) -> str | None:
    if len(data) > 1 and isinstance(data[1], str):
        return data[1]
    return None


def call_error_text(unique_id: str, code: str, description: str, details: Any = None) -> str:
    """A CALLERROR frame, serialised as the library does (no spaces)."""
    return CallError(unique_id, code, description, details or {}).to_json()
