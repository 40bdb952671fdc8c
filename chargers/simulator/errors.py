"""What the simulator reports to its user when it cannot do what it was asked."""

from __future__ import annotations


class SimulatorError(Exception):
    """The charger could not do what it was asked; the message is meant for a person."""


class ConnectionRefused(SimulatorError):
    """The CSMS could not be reached or refused the websocket (401/403/404, no ocpp1.6)."""


class ScenarioFailed(SimulatorError):
    """The CSMS answered in a way the scenario cannot go on from (e.g. no transactionId)."""
