"""The one check of a charger's CALL between the ocpp library's parsed payload and the services.

Every field of every charger-initiated OCPP 1.6 action passes here once: the action's JSON
schema from the ocpp library (types, required fields, enums, string lengths, array sizes,
unknown fields), extended with what the schema leaves out but the specification asks for:

* ``date-time`` fields are RFC 3339 date-times (OCPP 1.6 §3.6: "All time values exchanged
  ... SHALL be formatted as defined in RFC 3339"); the schema names the format, the
  library never checks it;
* a StatusNotification of the charge point itself (connectorId 0) reports one of the three
  statuses the OCPP 1.6 ChargePointStatus type allows it (Available, Unavailable, Faulted);
* integers within the range the field can take: ``connectorId`` is at least 0 (0 is the
  charge point itself), at least 1 in StartTransaction (a transaction is on a connector), and
  at most the charger model's declared connector count; every other integer within OCPP's
  32-bit range (meter readings: 64-bit, as the evidence stores them).

The outcome is either a ``CheckedCall``, the payload with each date-time turned into an
aware UTC ``datetime`` and the notes the evidence keeps about accepted deviations (a
date-time without an offset, taken as UTC), or a ``CallRejected`` that carries the OCPP-J 1.6
CALLERROR: its code from ``SCHEMA_ERROR_CODES``, a sentence naming the field, and the note
for the frame. Handlers receive checked values only and never repeat a check.

Pure functions, no Django.
"""

from __future__ import annotations

import copy
import datetime
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Final

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from ocpp.messages import MessageType, get_validator

# JSON-schema keyword -> the OCPP-J 1.6 error code (OCPP-J 1.6 §4.2.3) a CALL that breaks it
# is answered with. The definitions:
#   FormationViolation            the payload is syntactically incorrect or does not conform
#                                 to the PDU structure of the action;
#   ProtocolError                 the payload is incomplete;
#   PropertyConstraintViolation   a field contains an invalid value;
#   OccurenceConstraintViolation  a field violates occurrence constraints (how many times
#                                 it may appear: the cardinality 1..* of the PDU tables);
#   TypeConstraintViolation       a field violates data type constraints ("somestring": 12).
SCHEMA_ERROR_CODES: Final[dict[str, str]] = {
    # a field of the wrong JSON type: an integer sent as a string, an object as a list
    "type": "TypeConstraintViolation",
    # CiString20Type and friends: the length is part of the data type
    "maxLength": "TypeConstraintViolation",
    # dateTime is a data type; a string that is not an RFC 3339 date-time violates it
    "format": "TypeConstraintViolation",
    # a value outside the enumeration (ChargePointStatus, Reason, ...): an invalid value
    "enum": "PropertyConstraintViolation",
    # an integer outside the field's range (connectorId 0 in StartTransaction, -1, 2**40)
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    # an empty meterValue or sampledValue where the tables say 1..*
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
    # a required field missing: the payload is incomplete
    "required": "ProtocolError",
    # a field the PDU does not define: not the structure of the action
    "additionalProperties": "FormationViolation",
}
# A keyword the table does not name (none in the 1.6 schemas today) breaks the PDU structure.
OTHER_SCHEMA_ERROR = "FormationViolation"

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# Integer fields with a range of their own; every other integer is an OCPP 32-bit integer.
INTEGER_RANGES: Final[dict[tuple[str, str], tuple[int, int]]] = {
    ("StartTransaction", "connectorId"): (1, INT32[1]),
    ("StatusNotification", "connectorId"): (0, INT32[1]),
    ("MeterValues", "connectorId"): (0, INT32[1]),
    ("StartTransaction", "meterStart"): INT64,
    ("StopTransaction", "meterStop"): INT64,
}
CONNECTOR_ACTIONS = frozenset(("StartTransaction", "StatusNotification", "MeterValues"))
# The OCPP 1.6 ChargePointStatus type: "Status for the Charge Point main controller is a
# subset of the enumeration: Available, Unavailable or Faulted." (connectorId 0)
CHARGE_POINT_STATUSES = ("Available", "Unavailable", "Faulted")

# How much of a charger's value a description quotes: the sentence is never cut, the value is.
QUOTED_VALUE = 40


class CallRejected(Exception):
    """A CALL the portal answers with a CALLERROR: ``code`` is the OCPP-J 1.6 error code,
    ``description`` names the field, ``details`` goes into errorDetails."""

    def __init__(self, code: str, description: str, details: dict[str, Any]) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.details = details


@dataclass
class CheckedCall:
    """A CALL that passed: its payload with date-times as aware UTC datetimes, and the notes
    on deviations the portal accepted."""

    payload: dict[str, Any]
    notes: list[str] = field(default_factory=list)


# --- RFC 3339 date-times ------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)

NO_OFFSET_NOTE = "has no UTC offset; taken as UTC (RFC 3339 requires Z or ±hh:mm)"


@dataclass(frozen=True)
class OcppTime:
    value: datetime.datetime  # aware, UTC
    had_offset: bool


def parse_ocpp_time(text: str) -> OcppTime:
    """An RFC 3339 date-time (§5.6: ``T``, ``t`` or a space between date and time, any
    number of fraction digits, ``Z``, ``z`` or ``±hh:mm``, a leap second ``:60``) as an aware
    UTC datetime. A date-time without an offset is taken as UTC (``had_offset`` False: the
    caller notes it). Raises ValueError with the reason for anything else."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("is not an RFC 3339 date-time (such as 2026-11-29T15:28:00Z)")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    second = int(match["second"])
    leap = second == 60
    offset = match["offset"]
    try:
        date = datetime.date.fromisoformat(match["date"])
        if offset is None or offset in "Zz":
            zone = datetime.UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            zone = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
        value = datetime.datetime.combine(
            date,
            datetime.time(
                int(match["hour"]),
                int(match["minute"]),
                59 if leap else second,
                int(fraction),
                tzinfo=zone,
            ),
        )
        if leap:
            value += datetime.timedelta(seconds=1)
        value = value.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise ValueError("is not a valid date and time (RFC 3339)") from None
    return OcppTime(value, had_offset=offset is not None)


_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        parse_ocpp_time(value)
    return True


# --- The schemas --------------------------------------------------------------------------


@functools.cache
def _validator(action: str) -> Draft4Validator:
    """The library's 1.6 schema of the action's request, with the integer ranges added and
    the date-time format checked."""
    schema = copy.deepcopy(get_validator(MessageType.Call, action, "1.6").schema)
    _add_integer_ranges(action, schema, top_level=True)
    if action == "StopTransaction":
        # The OCPP 1.6 MeterValue type: sampledValue is 1..*, in transactionData as in
        # MeterValues; the StopTransaction schema leaves minItems out (MeterValues has it).
        meter_value = schema["properties"]["transactionData"]["items"]
        meter_value["properties"]["sampledValue"].setdefault("minItems", 1)
    return Draft4Validator(schema, format_checker=_formats)


def _add_integer_ranges(action: str, schema: dict[str, Any], *, top_level: bool) -> None:
    # The security extension's schemas keep their types under "definitions" ($ref).
    for node in schema.get("definitions", {}).values():
        _add_integer_ranges(action, node, top_level=False)
    for name, node in schema.get("properties", {}).items():
        if node.get("type") == "integer":
            low, high = INTEGER_RANGES.get((action, name), INT32) if top_level else INT32
            node.setdefault("minimum", low)
            node.setdefault("maximum", high)
        _add_integer_ranges(action, node, top_level=False)
    items = schema.get("items")
    if isinstance(items, dict):
        _add_integer_ranges(action, items, top_level=False)


# --- The check ----------------------------------------------------------------------------


def check_call(action: str, payload: Any, *, connectors: int | None = None) -> CheckedCall:
    """Check a charger's CALL of ``action`` (an OCPP 1.6 action the portal takes) against
    its schema and the ranges above; ``connectors`` is the charger model's declared connector
    count (None: unknown, no upper bound). Returns the checked payload or raises
    CallRejected."""
    if not isinstance(payload, dict):
        raise CallRejected("FormationViolation", f"The {action} payload is not a JSON object.", {})
    validator = _validator(action)
    errors = list(validator.iter_errors(payload))
    if errors:
        # The deepest first: "sampledValue is empty" says more than "meterValue[0] is not
        # valid"; among equals, the schema's own order.
        raise _rejection(action, max(errors, key=lambda error: len(error.absolute_path)))
    if connectors is not None and action in CONNECTOR_ACTIONS:
        connector_id = payload.get("connectorId")
        if isinstance(connector_id, int) and connector_id > connectors:
            raise CallRejected(
                SCHEMA_ERROR_CODES["maximum"],
                f"{action}.connectorId is {connector_id}, beyond the {connectors} "
                f"connector(s) the charger model declares.",
                {"field": "connectorId", "keyword": "maximum", "maximum": connectors},
            )
    if action == "StatusNotification" and payload.get("connectorId") == 0:
        status = payload.get("status")
        if status not in CHARGE_POINT_STATUSES:
            raise CallRejected(
                SCHEMA_ERROR_CODES["enum"],
                f"StatusNotification.status {_quote(status)} is not a status of the charge point "
                f"itself (connectorId 0), which is one of {', '.join(CHARGE_POINT_STATUSES)}.",
                {"field": "status", "keyword": "enum", "connectorId": 0},
            )
    notes: list[str] = []
    checked = _convert_times(action, payload, validator.schema, "", notes, validator.schema)
    return CheckedCall(checked, notes)


def _convert_times(
    action: str, value: Any, schema: dict[str, Any], path: str, notes: list[str], root: Any
) -> Any:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/definitions/"):
        schema = root.get("definitions", {}).get(reference.rpartition("/")[2], {})
    if schema.get("format") == "date-time" and isinstance(value, str):
        parsed = parse_ocpp_time(value)
        if not parsed.had_offset:
            notes.append(f"{action}.{path} {_quote(value)} {NO_OFFSET_NOTE}")
        return parsed.value
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {
            name: _convert_times(
                action,
                item,
                properties.get(name, {}),
                f"{path}.{name}" if path else name,
                notes,
                root,
            )
            for name, item in value.items()
        }
    if isinstance(value, list):
        items = schema.get("items", {})
        return [
            _convert_times(action, item, items, f"{path}[{index}]", notes, root)
            for index, item in enumerate(value)
        ]
    return value


def _field_path(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _quote(value: Any) -> str:
    text = repr(value)
    if len(text) > QUOTED_VALUE:
        text = text[: QUOTED_VALUE - 1] + "…"
    return text


_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "an object",
    "array": "an array",
    "boolean": "true or false",
    "null": "null",
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _rejection(action: str, error: ValidationError) -> CallRejected:
    keyword = str(error.validator)
    code = SCHEMA_ERROR_CODES.get(keyword, OTHER_SCHEMA_ERROR)
    where = _field_path(error)
    subject = f"{action}.{where}" if where else f"The {action} payload"
    value = error.instance
    limit = error.validator_value
    details: dict[str, Any] = {"field": where, "keyword": keyword}
    if keyword == "required":
        missing = [name for name in limit if name not in value]
        names = ", ".join(missing)
        details["field"] = ".".join(filter(None, (where, missing[0] if missing else "")))
        sentence = f"{subject} lacks the required field(s) {names}."
    elif keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = [name for name in value if name not in known]
        details["field"] = ".".join(filter(None, (where, str(extra[0]) if extra else "")))
        sentence = (
            f"{subject} has field(s) the OCPP 1.6 schema does not define: "
            f"{', '.join(_quote(name) for name in extra)}."
        )
    elif keyword == "type":
        wanted = limit if isinstance(limit, str) else "/".join(limit)
        sentence = (
            f"{subject} must be {_JSON_TYPES.get(wanted, wanted)}, "
            f"not {_JSON_TYPES[_json_type(value)]} ({_quote(value)})."
        )
    elif keyword == "maxLength":
        sentence = (
            f"{subject} is {len(value)} characters long; at most {limit} are allowed "
            f"(CiString{limit}Type)."
        )
    elif keyword == "format":
        reason = str(error.cause) if error.cause else f"is not a {limit}"
        sentence = f"{subject} {_quote(value)} {reason}."
    elif keyword == "enum":
        sentence = f"{subject} {_quote(value)} is not one of {', '.join(map(str, limit))}."
    elif keyword in ("minimum", "maximum"):
        bound = "at least" if keyword == "minimum" else "at most"
        sentence = f"{subject} is {_quote(value)}; it must be {bound} {limit}."
        if where == "connectorId" and keyword == "minimum" and limit == 1:
            sentence = (
                f"{subject} is {_quote(value)}; a transaction is on a connector numbered "
                "from 1 (0 is the charge point itself)."
            )
        details[keyword] = limit
    elif keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        sentence = (
            f"{subject} has {len(value)} item(s); {bound} {limit} "
            f"{'is' if limit == 1 else 'are'} required."
        )
    else:
        sentence = f"{subject} breaks the OCPP 1.6 schema ({keyword})."
    return CallRejected(code, sentence, details)
