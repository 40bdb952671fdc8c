"""What the fault tests check in the evidence after the fault."""

from __future__ import annotations

from chargers.models import ChargePoint, Frame

# Daphne started by a fault test runs no FTP server: a SIGKILLed Daphne would leave it
# orphaned, holding its port (and on PostgreSQL a connection to the test database).
NO_FTP = {"FTP_PORT": "0"}


def missing_evidence(charge_point: ChargePoint, answered: list[tuple[str, str]]) -> list[str]:
    """The frames of answered CALLs (the CALL as sent, the answer as received) that are not
    stored as evidence of ``charge_point``."""
    stored = set(Frame.objects.filter(charge_point=charge_point).values_list("direction", "raw"))
    missing = []
    for call, answer in answered:
        if ("in", call) not in stored:
            missing.append(f"in  {call[:120]}")
        if ("out", answer) not in stored:
            missing.append(f"out {answer[:120]}")
    return missing
