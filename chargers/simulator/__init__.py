"""A scripted OCPP 1.6-J charge point for end-to-end tests and demos; no Django needed.

config = ChargerConfig.for_url("ws://127.0.0.1:8000/ocpp/DEMO1", password="KEY")
await SimulatedCharger(config).run("plugin-first")
"""

from chargers.simulator.charger import SimulatedCharger
from chargers.simulator.config import ChargerConfig
from chargers.simulator.errors import ConnectionRefused, ScenarioFailed, SimulatorError
from chargers.simulator.misbehaviours import MISBEHAVIOURS
from chargers.simulator.scenarios import SCENARIOS
from chargers.simulator.station import Connector

__all__ = [
    "MISBEHAVIOURS",
    "SCENARIOS",
    "ChargerConfig",
    "ConnectionRefused",
    "Connector",
    "ScenarioFailed",
    "SimulatedCharger",
    "SimulatorError",
]
