"""What several judge test modules expect the judge to report, spelled out once.

Each function returns a whole Finding or a whole measurements dict, with parameters for what
differs between tests, so that a test still compares the judgement's entire output.
"""

from __future__ import annotations

from typing import Any

from certification.judge.types import Finding


def no_iccid(frame_id: int) -> Finding:
    """The info that the accepted BootNotification (`frame_id`) carries no ICCID."""
    return Finding(
        severity="info",
        message="BootNotification carries no ICCID; it is recommended when the charger "
        "connects over a SIM card, as it helps troubleshooting",
        frame_ids=(frame_id,),
    )


def no_heartbeat_yet(lasted: int = 0, interval: int = 300) -> Finding:
    """The info that the step ended `lasted` s after the boot, before a Heartbeat was due."""
    return Finding(
        severity="info",
        message=f"No Heartbeat yet: the step lasted {lasted} s after the accepted "
        "BootNotification, and the charger was never silent for longer than the "
        f"{interval} s interval",
        frame_ids=(),
    )


def charge_point(firmware: str = "V1.0.0") -> dict[str, str]:
    """The charge_point measurements of `Wire.boot`'s BootNotification."""
    return {
        "vendor": "Xcharge",
        "model": "C8EU",
        "serial_number": "XC-0001",
        "firmware_version": firmware,
    }


def boot_measurements(**changes: Any) -> dict[str, Any]:
    """Step 1's measurements after one accepted boot and no Heartbeat, with `changes`."""
    return {
        "boot_attempts": 1,
        "charge_point": charge_point(),
        "triggered": False,
        "heartbeat_count": 0,
        "heartbeat_intervals_s": [],
        "configured_interval_s": 300,
        **changes,
    }


def transaction_measurements(id_tag: str = "CARD-1") -> dict[str, Any]:
    """What every session step measures of transaction 42 on connector 1 that the portal
    authorized."""
    return {
        "transaction_id": 42,
        "connector_id": 1,
        "id_tag": id_tag,
        "authorized_by": "Central System (Authorize)",
    }


def timeout_measurements(
    configured: int | None, measured: float, since_authorize: float
) -> dict[str, Any]:
    """Step 8's measurements when the portal authorized the card."""
    return {
        "authorized_by": "Central System (Authorize)",
        "configured_timeout_s": configured,
        "connection_timeout_s": measured,
        "authorize_to_available_s": since_authorize,
    }


def wrong_stop_reason(reason: str, expected: str, stop_id: int) -> Finding:
    """The fail that StopTransaction `stop_id` gave `reason` where `expected` was due."""
    return Finding(
        severity="fail",
        message=f"StopTransaction reason {reason} where {expected} was expected",
        frame_ids=(stop_id,),
    )
