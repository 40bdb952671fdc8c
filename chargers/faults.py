"""Which injected fault, if any, changes the answer to a charger's CALL: pure decisions.

The rows are ``InjectedFault`` (chargers.models), written by chargers.services; the central
system holds the active ones of its charge point as ``FaultRule`` values (sent to it through
the channel layer whenever they change, so any Daphne worker holding the socket gets them)
and asks ``FaultRules.answer_for`` about every CALL. Nothing here touches the database or
the socket: the central system applies the decision and the services record it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from chargers.ocpp import frames

# The kinds that change an answer (a disconnect closes the socket and refuses handshakes:
# that is the consumer's and the handshake check's business, not an answer's).
ANSWER_KINDS = frozenset({"delay", "withhold", "call_error", "boot_status"})

# The charger-initiated actions of OCPP 1.6 whose answers a fault can change.
CHARGER_ACTIONS = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)

# The errorCodes a call_error fault may answer with: OCPP-J 1.6's (section 4.2.3).
CALL_ERROR_CODES = frames.ERROR_CODES

# Prefix of the reason a handshake refused by a disconnect fault is recorded with; such
# refusals are the test, not a guesser's attempts, and do not count towards throttling.
FAULT_REFUSAL = "refused on purpose"


@dataclass(frozen=True)
class FaultRule:
    """One active fault as the central system holds it."""

    id: int
    kind: str
    action: str = ""
    seconds: float | None = None
    error_code: str = ""
    boot_status: str = ""
    interval: int | None = None
    remaining: int | None = None
    """Answers it still changes; None: until it ends."""
    ends_at: datetime.datetime | None = None

    def applies_to(self, action: str, now: datetime.datetime) -> bool:
        if self.kind not in ANSWER_KINDS:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.ends_at is not None and now >= self.ends_at:
            return False
        if self.kind == "boot_status":
            return action == "BootNotification"
        return self.action == action

    def as_message(self) -> dict[str, Any]:
        """As it travels in a channel-layer message (msgpack: no datetimes)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "action": self.action,
            "seconds": self.seconds,
            "error_code": self.error_code,
            "boot_status": self.boot_status,
            "interval": self.interval,
            "remaining": self.remaining,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> FaultRule:
        ends_at = data.get("ends_at")
        return cls(
            id=int(data["id"]),
            kind=str(data["kind"]),
            action=str(data.get("action") or ""),
            seconds=data.get("seconds"),
            error_code=str(data.get("error_code") or ""),
            boot_status=str(data.get("boot_status") or ""),
            interval=data.get("interval"),
            remaining=data.get("remaining"),
            ends_at=datetime.datetime.fromisoformat(ends_at) if ends_at else None,
        )


class FaultRules:
    """The active faults of one charge point, oldest first; the first that applies wins."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self._rules = list(rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def answer_for(self, action: str, now: datetime.datetime) -> FaultRule | None:
        """The fault that changes the answer to a CALL of ``action`` now, counted as used
        once (so a fault for N answers changes exactly N), or None to answer normally."""
        for position, rule in enumerate(self._rules):
            if rule.applies_to(action, now):
                if rule.remaining is not None:
                    self._rules[position] = replace(rule, remaining=rule.remaining - 1)
                return rule
        return None
