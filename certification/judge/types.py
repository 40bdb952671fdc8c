"""The judge's contract: what a rule reads (frames, events, settings) and what it returns.

Other parts of the portal (the evidence writer, the run view, the report) build these values
from the database and read the judgements back, so the names and fields here are fixed.
Everything is a frozen dataclass: a rule is a pure function and must not be able to change
the evidence it judges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

Direction = Literal["in", "out"]
""""in": charger -> portal, "out": portal -> charger."""

Severity = Literal["fail", "minor", "info"]
Verdict = Literal["Y", "N", "NA"]

CALL = 2
CALLRESULT = 3
CALLERROR = 4


@dataclass(frozen=True)
class Frame:
    """One recorded OCPP-J frame, as evidence of the step it belongs to."""

    id: int | None
    """Evidence row id; findings cite frames by it."""
    seq: int
    """Order of capture, monotonic within a run; frames sort by (at, seq)."""
    at: datetime
    """Capture time, aware UTC."""
    direction: Direction
    message_type: int | None
    """2 CALL, 3 CALLRESULT, 4 CALLERROR; None when the frame was not valid OCPP-J."""
    unique_id: str | None
    action: str | None
    """CamelCase action; also set on CALLRESULT/CALLERROR rows by correlation with their CALL."""
    payload: dict[str, Any] | None
    """The JSON payload as on the wire; for a CALLERROR errorCode/errorDescription/errorDetails."""
    validation_error: str | None
    """Schema violation or framing error text, None when the frame is valid."""
    connection_id: int | None = None


@dataclass(frozen=True)
class ConnectionEvent:
    """A change of the charger's websocket connection, recorded next to the frames."""

    id: int | None
    at: datetime
    kind: Literal["connected", "refused", "closed", "replaced"]
    detail: str = ""
    close_code: int | None = None
    tls: Mapping[str, Any] | None = None
    """The TLS handshake of a wss:// connection (version, cipher, server_name,
    client_certificate, fault); None over ws://."""
    connection_id: int | None = None


@dataclass(frozen=True)
class InjectedFault:
    """A disturbance the portal caused on purpose during the step (chargers.faults)."""

    id: int | None
    kind: Literal["disconnect", "delay", "withhold", "call_error", "boot_status"]
    started_at: datetime
    ended_at: datetime | None = None
    """None while it lasts (or when the step's evidence ends first)."""
    action: str = ""
    seconds: float | None = None
    """disconnect: reconnects refused for; delay: answers delayed by."""
    error_code: str = ""
    times: int | None = None
    applied: int = 0


@dataclass(frozen=True)
class RunSettings:
    """What the run knows about the charger under test and the portal's own answers."""

    connectors: int = 1
    """From the charger model."""
    can_unlock_connector: bool = True
    """False for a fixed-cable charger: the unlock step becomes not applicable."""
    heartbeat_interval: int | None = None
    """The interval the portal sent in BootNotification.conf."""
    accepted_id_tags: tuple[str, ...] = ()
    rejected_id_tags: tuple[str, ...] = ()
    """Blocked, expired and invalid idTags known to the run."""
    supported_profiles: tuple[str, ...] = ("Core",)
    timing_tolerance_s: float = 4.0
    """How far a measured time may be from the expected one: labs configure it (the OCA's
    compliance tool uses 4 s); every timing rule takes it from here."""


@dataclass(frozen=True)
class Finding:
    """One reason behind a verdict, written for the engineer who confirms it."""

    severity: Severity
    message: str
    """A sentence naming what was expected and what arrived."""
    frame_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Judgement:
    """A proposed verdict with its reasons; the engineer confirms or overrides it."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    measurements: dict[str, Any] = field(default_factory=dict)
    """Measured values (JSON-friendly), e.g. {"heartbeat_intervals_s": [...], "reboots": 2}."""

    @property
    def minor(self) -> bool:
        """A passed step can still carry a "Minor issue" remark, as in the seed report."""
        return any(finding.severity == "minor" for finding in self.findings)


def _no_params() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class StepContext:
    """Everything one rule may look at: the step's evidence and the run's settings."""

    frames: tuple[Frame, ...]
    events: tuple[ConnectionEvent, ...] = ()
    settings: RunSettings = field(default_factory=RunSettings)
    params: Mapping[str, Any] = field(default_factory=_no_params)
    """Optional knobs of the rule, documented in its docstring. Every rule also reads
    `configuration`: the values of configuration keys the charger accepted or reported
    before the step (key -> string value), so that behaviour is measured against a value
    set in an earlier step."""
    started_at: datetime | None = None
    """When the step began; None when unknown (then its first frame stands for it)."""
    finished_at: datetime | None = None
    """When the step ended; None when unknown (then its last frame stands for it)."""
    faults: tuple[InjectedFault, ...] = ()
    """The faults the portal injected during the step, oldest first."""
