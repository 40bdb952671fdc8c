"""No judge rule raises on any evidence a charger (or an engineer's expert-mode command) can
leave: frames of every action in either direction, every message type, payloads of any JSON
shape (lists where objects belong, objects where strings belong). A rule that did would
leave its step without a proposal (certification.services records that as the engineer's
to decide); the rules themselves must read what they can and ignore the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certification.judge import RULES
from certification.judge.types import Frame, RunSettings, StepContext
from tests.judge.frames import START

ACTIONS = [
    "BootNotification",
    "StatusNotification",
    "StartTransaction",
    "StopTransaction",
    "MeterValues",
    "Authorize",
    "Heartbeat",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "DataTransfer",
    "ReserveNow",
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "GetConfiguration",
    "Reset",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "UnlockConnector",
    "UpdateFirmware",
    "GetDiagnostics",
    "ClearCache",
    "TriggerMessage",
    "SendLocalList",
    "GetLocalListVersion",
    "SetChargingProfile",
    "GetCompositeSchedule",
    "ClearChargingProfile",
    "SecurityEventNotification",
    "SignCertificate",
    "LogStatusNotification",
    "SignedFirmwareStatusNotification",
    "ExtendedTriggerMessage",
]
# The field names the rules read, so that the shapes land where they look.
FIELDS = [
    "status",
    "connectorId",
    "transactionId",
    "idTag",
    "idTagInfo",
    "meterValue",
    "sampledValue",
    "timestamp",
    "value",
    "measurand",
    "context",
    "key",
    "value",
    "configurationKey",
    "unknownKey",
    "reservationId",
    "expiryDate",
    "requestedMessage",
    "chargingProfile",
    "type",
    "interval",
    "currentTime",
    "fileName",
    "location",
    "reason",
    "meterStop",
    "meterStart",
    "parentIdTag",
    "listVersion",
    "chargingSchedule",
    "chargingSchedulePeriod",
    "limit",
    "startPeriod",
    "stackLevel",
    "firmwareVersion",
    "chargePointVendor",
    "chargePointModel",
]
WORDS = ["Accepted", "Available", "Charging", "Idle", "2023-09-22T10:00:00Z", "Sample.Periodic"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(WORDS),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)
    ),
    max_leaves=12,
)
frames = st.lists(
    st.tuples(
        st.sampled_from(["in", "out"]),
        st.sampled_from([2, 3, 4]),
        st.sampled_from(ACTIONS),
        json_values,
        st.integers(0, 3),
    ),
    max_size=12,
)


@settings(
    max_examples=1500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(rule=st.sampled_from(sorted(RULES)), raw=frames)
def test_no_rule_raises_on_any_evidence(rule: str, raw: list[Any]) -> None:
    evidence = tuple(
        Frame(
            id=number,
            seq=number,
            at=START + timedelta(seconds=number),
            direction=direction,
            message_type=message_type,
            unique_id=f"u{unique}",
            action=action,
            payload=payload,
            validation_error=None,
        )
        for number, (direction, message_type, action, payload, unique) in enumerate(raw, 1)
    )
    context = StepContext(
        frames=evidence, settings=RunSettings(connectors=2), params={"configuration": {}}
    )

    judgement = RULES[rule](context)

    assert judgement.verdict in ("Y", "N", "NA")
