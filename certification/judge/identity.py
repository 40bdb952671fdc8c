"""Reported identity: does every BootNotification of a run name the charger the run certifies?

OCPP 1.6 §4.2 BootNotification.req carries chargePointVendor, chargePointModel and
firmwareVersion. A run pins a manufacturer, a model and a firmware version; engineers record
per model the strings a charger of that model really sends (aliases). Any other value is a
finding on the step whose frames hold the BootNotification: evidence of another charger, or
of other firmware, proves nothing about the one under test.

Pure: a BootNotification payload and the expected names in, sentences out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from certification.judge.sequence import frame_ids
from certification.judge.types import CALL, Finding, Frame, Severity

# (field of BootNotification.req, what the report calls it)
FIELDS = (
    ("chargePointVendor", "vendor"),
    ("chargePointModel", "model"),
    ("firmwareVersion", "firmware"),
)


def _normal(value: str) -> str:
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class ExpectedIdentity:
    """The names a BootNotification may give, per field: the pinned one first, then its
    aliases (and, after a firmware update step, the new image's version)."""

    vendor: tuple[str, ...]
    model: tuple[str, ...]
    firmware: tuple[str, ...]
    # During a firmware update to an image the portal does not know: any version.
    any_firmware: bool = False

    def accepts(self, name: str, value: str) -> bool:
        if name == "firmware" and self.any_firmware:
            return True
        return _normal(value) in {_normal(v) for v in getattr(self, name)}


@dataclass(frozen=True)
class Mismatch:
    field: str  # chargePointVendor, chargePointModel or firmwareVersion
    name: str  # vendor, model or firmware
    sent: str
    expected: tuple[str, ...]

    def sentence(self) -> str:
        expected = " or ".join(f'"{value}"' for value in self.expected) or "nothing"
        return f'{self.field} "{self.sent}" where the run certifies {expected}'


def mismatches(payload: object, expected: ExpectedIdentity) -> tuple[Mismatch, ...]:
    """The fields of a BootNotification.req payload that name another charger."""
    if not isinstance(payload, dict):
        return ()
    found = []
    for field, name in FIELDS:
        sent = payload.get(field)
        if not isinstance(sent, str):
            sent = "" if sent is None else str(sent)
        if not expected.accepts(name, sent):
            found.append(Mismatch(field, name, sent, getattr(expected, name)))
    return tuple(found)


def is_boot_notification(frame: Frame) -> bool:
    return (
        frame.direction == "in"
        and frame.message_type == CALL
        and frame.action == "BootNotification"
    )


def identity_findings(
    frames: Iterable[Frame], expected: ExpectedIdentity, severity: Severity
) -> tuple[Finding, ...]:
    """One finding per BootNotification that names another vendor, model or firmware."""
    findings = []
    for frame in frames:
        if not is_boot_notification(frame):
            continue
        found = mismatches(frame.payload, expected)
        if found:
            findings.append(
                Finding(
                    severity,
                    "The BootNotification reports another charger than the run certifies: "
                    + "; ".join(m.sentence() for m in found)
                    + ". Record the strings this model really sends as aliases of the model "
                    "or firmware if they are the same charger.",
                    frame_ids(frame),
                )
            )
    return tuple(findings)
