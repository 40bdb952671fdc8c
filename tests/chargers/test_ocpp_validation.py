"""The validation layer between the ocpp library and the services (chargers/ocpp/validation.py):
pure functions, no database."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
from ocpp.messages import MessageType, get_validator

from chargers.ocpp import validation
from chargers.ocpp.central_system import CentralSystem

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def charger_actions() -> list[str]:
    """Every action the portal takes from a charger: its @on handlers."""
    return sorted(
        handler._on_action
        for handler in vars(CentralSystem).values()
        if hasattr(handler, "_on_action")
    )


def keywords(schema: dict[str, Any]) -> set[str]:
    """The JSON-schema keywords a schema uses, annotations and structure left out."""
    structure = {"$schema", "$id", "$ref", "id", "title", "description", "javaType"}
    found = set(schema) - structure - {"properties", "items", "definitions"}
    for node in [*schema.get("properties", {}).values(), *schema.get("definitions", {}).values()]:
        found |= keywords(node)
    if isinstance(schema.get("items"), dict):
        found |= keywords(schema["items"])
    return found


def test_the_handlers_are_the_charger_initiated_actions_of_1_6_and_its_security_extension() -> None:
    assert charger_actions() == [
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    ]


def test_every_keyword_of_the_charger_schemas_has_its_error_code() -> None:
    used = {"minimum", "maximum"}  # the ranges the layer adds
    for action in charger_actions():
        used |= keywords(get_validator(MessageType.Call, action, "1.6").schema)
    assert used <= set(validation.SCHEMA_ERROR_CODES), used - set(validation.SCHEMA_ERROR_CODES)


def test_the_documented_table_is_the_table() -> None:
    text = ARCHITECTURE.read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (\w+) \|", text, flags=re.MULTILINE))
    assert rows == validation.SCHEMA_ERROR_CODES


@pytest.mark.parametrize(
    ("text", "expected", "had_offset"),
    [
        ("2026-11-29T15:28:00Z", "2026-11-29T15:28:00+00:00", True),
        ("2026-11-29T15:28:00.5+05:30", "2026-11-29T09:58:00.500000+00:00", True),
        ("2026-11-29T15:28:00", "2026-11-29T15:28:00+00:00", False),
        ("2026-11-29T00:10:00+01:00", "2026-11-28T23:10:00+00:00", True),
    ],
)
def test_rfc3339_date_times_become_aware_utc(text: str, expected: str, had_offset: bool) -> None:
    parsed = validation.parse_ocpp_time(text)
    assert parsed.value.isoformat() == expected and parsed.had_offset is had_offset
    assert parsed.value.tzinfo is datetime.UTC


@pytest.mark.parametrize(
    "text",
    ["", " 2026-11-29T15:28:00Z", "2026-11-29T15:28:00+24:00", "9999-12-31T23:59:59-01:00"],
)
def test_what_is_not_a_date_time_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        validation.parse_ocpp_time(text)


def test_a_description_quotes_a_long_value_in_part_and_stays_a_sentence() -> None:
    with pytest.raises(validation.CallRejected) as rejected:
        validation.check_call(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "x" * 5000},
        )
    assert rejected.value.code == "PropertyConstraintViolation"
    assert len(rejected.value.description) < 400
    assert rejected.value.description.endswith("Unavailable, Faulted.")


def test_checked_payload_keeps_every_field_and_converts_nested_date_times() -> None:
    checked = validation.check_call(
        "StopTransaction",
        {
            "transactionId": 5,
            "meterStop": 10,
            "timestamp": "2026-11-29T15:28:00Z",
            "transactionData": [
                {"timestamp": "2026-11-29T15:00:00", "sampledValue": [{"value": "10"}]}
            ],
        },
    )
    assert checked.payload["transactionId"] == 5
    nested = checked.payload["transactionData"][0]["timestamp"]
    assert isinstance(nested, datetime.datetime)
    assert checked.notes == [
        "StopTransaction.transactionData[0].timestamp '2026-11-29T15:00:00' "
        + validation.NO_OFFSET_NOTE
    ]
