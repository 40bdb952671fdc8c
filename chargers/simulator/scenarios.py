"""What the simulated driver and charger do once booted: one small function per scenario.

Each maps to steps of the certification plan (docs: ocpp16-certification-plan.md). The charger
has already booted and reported its statuses when a scenario starts, and answers the CSMS's
calls throughout; a scenario only plays the manual actions ([plug in], [present card]...).
Waits are in the charger's seconds, so ``time_scale`` shortens them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from chargers.simulator.errors import ScenarioFailed

if TYPE_CHECKING:
    from chargers.simulator.charger import SimulatedCharger

logger = logging.getLogger(__name__)

Scenario = Callable[["SimulatedCharger"], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {}

# How long the simulated driver takes between two manual actions.
DWELL = 5.0


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(play: Scenario) -> Scenario:
        SCENARIOS[name] = play
        return play

    return register


def describe(name: str) -> str:
    """A scenario's docstring as one line, for --help."""
    doc = " ".join((SCENARIOS[name].__doc__ or "").split())
    return doc.rstrip(".") or name


async def linger(charger: SimulatedCharger, default: float | None) -> None:
    """Stay connected for the configured duration (``default`` when none; None: forever)."""
    duration = charger.config.duration if charger.config.duration is not None else default
    if duration is None:
        await asyncio.Event().wait()
    else:
        await charger.sleep(duration)


async def start_session(charger: SimulatedCharger, connector_id: int = 1) -> None:
    """Card then cable, as a driver does in the identification-first steps."""
    status = await charger.present_card(connector_id=connector_id)
    if status != "Accepted":
        raise ScenarioFailed(f"the CSMS answered Authorize with {status}, not Accepted")
    await charger.sleep(DWELL)
    await charger.plug_in(connector_id)
    require_transaction(charger, connector_id)


def require_transaction(charger: SimulatedCharger, connector_id: int = 1) -> None:
    if charger.connector(connector_id).transaction_id is None:
        raise ScenarioFailed("no transaction started: StartTransaction got no usable answer")


async def finish_session(charger: SimulatedCharger, connector_id: int = 1) -> None:
    """The same card stops the session (reason Local), then the cable comes out."""
    await charger.present_card(connector_id=connector_id)
    await charger.sleep(DWELL)
    await charger.unplug(connector_id)


@scenario("boot")
async def boot(charger: SimulatedCharger) -> None:
    """Boot, report statuses, send heartbeats for --duration (forever without one). Step 1, 5."""
    await linger(charger, None)


@scenario("idle")
async def idle(charger: SimulatedCharger) -> None:
    """Stay connected and answer whatever the CSMS asks, for --duration or forever."""
    await linger(charger, None)


@scenario("plugin-first")
async def plugin_first(charger: SimulatedCharger) -> None:
    """Plug in, present the card, charge, present it again, unplug. Step 6."""
    await charger.plug_in()
    await charger.sleep(DWELL)
    status = await charger.present_card()
    if status != "Accepted":
        raise ScenarioFailed(f"the CSMS answered Authorize with {status}, not Accepted")
    require_transaction(charger)
    await charger.sleep(charger.config.session_seconds)
    await finish_session(charger)
    await linger(charger, 0)


@scenario("id-first")
async def id_first(charger: SimulatedCharger) -> None:
    """Present the card, plug in, charge, present it again, unplug."""
    await start_session(charger)
    await charger.sleep(charger.config.session_seconds)
    await finish_session(charger)
    await linger(charger, 0)


@scenario("id-first-connection-loss")
async def id_first_connection_loss(charger: SimulatedCharger) -> None:
    """Card first; the network drops for over 3 sample intervals mid-session; the queued
    MeterValues are delivered in order on reconnect, then the session stops. Step 7."""
    await start_session(charger)
    interval = charger.configuration.get_int("MeterValueSampleInterval") or 60
    await charger.sleep(interval * 1.5)
    await charger.drop_connection()
    await charger.sleep(interval * 3.5)
    await charger.restore_connection()
    await charger.sleep(DWELL)
    await finish_session(charger)
    await linger(charger, 0)


@scenario("id-first-timeout")
async def id_first_timeout(charger: SimulatedCharger) -> None:
    """Card first, never plugged in: after ConnectionTimeOut the connector is Available. Step 8."""
    connector = charger.connector(1)
    status = await charger.present_card()
    if status != "Accepted":
        raise ScenarioFailed(f"the CSMS answered Authorize with {status}, not Accepted")
    await charger.wait_until(lambda: connector.authorized_tag is None)
    await linger(charger, DWELL)


@scenario("unauthorized")
async def unauthorized(charger: SimulatedCharger) -> None:
    """Plug in, present an unknown card: Authorize answered Invalid, no transaction. Step 13."""
    await charger.plug_in()
    await charger.sleep(DWELL)
    status = await charger.present_card(charger.config.unknown_id_tag)
    if status == "Accepted":
        logger.warning("the CSMS accepted the unknown card %s", charger.config.unknown_id_tag)
        await charger.sleep(DWELL)
        await charger.present_card(charger.config.unknown_id_tag)  # stops that session
    await charger.sleep(DWELL)
    await charger.unplug()
    await linger(charger, 0)


@scenario("remote-start")
async def remote_start(charger: SimulatedCharger) -> None:
    """Plug in and wait for RemoteStartTransaction, then for the session's end (remote stop,
    unlock, reset); unplug. Waits at most --duration for each. Step 14."""
    connector = charger.connector(1)
    await charger.plug_in()
    limit = charger.config.duration
    if await charger.wait_until(lambda: connector.transaction_id is not None, limit):
        await charger.wait_until(lambda: connector.transaction_id is None, limit)
    await charger.sleep(DWELL)
    await charger.unplug()


@scenario("remote-start-request-first")
async def remote_start_request_first(charger: SimulatedCharger) -> None:
    """Wait for RemoteStartTransaction, then plug in; wait for the session's end (e.g.
    UnlockConnector), unplug. Waits at most --duration for each. Step 15."""
    connector = charger.connector(1)
    limit = charger.config.duration
    if await charger.wait_until(lambda: connector.authorized_tag is not None, limit):
        await charger.sleep(DWELL)
        await charger.plug_in()
        await charger.wait_until(lambda: connector.transaction_id is None, limit)
    await charger.sleep(DWELL)
    await charger.unplug()


@scenario("fault")
async def fault(charger: SimulatedCharger) -> None:
    """Faulted with errorCode GroundFailure for a while, then Available again. Step 16."""
    await charger.sleep(DWELL)
    await charger.fault(1, "GroundFailure")
    await charger.sleep(6 * DWELL)
    await charger.clear_fault(1)
    await linger(charger, 0)
