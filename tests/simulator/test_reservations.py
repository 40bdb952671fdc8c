"""ReserveNow as a central system sees the simulator answer it: the refusals of a connector
that is occupied, unavailable or faulted, a connector that does not exist, and connector 0,
refused or reserved as ReserveConnectorZeroSupported says."""

from __future__ import annotations

from ocpp.v16 import call

from chargers.simulator import SimulatedCharger
from tests.simulator.harness import RecordingCsms, charger_config, run

CARD = "CERT-TAG-1"


def reserve(connector_id: int, reservation_id: int) -> call.ReserveNow:
    return call.ReserveNow(
        connector_id=connector_id,
        expiry_date="2099-01-01T00:00:00Z",
        id_tag=CARD,
        reservation_id=reservation_id,
    )


def test_a_connector_that_cannot_be_reserved_says_why() -> None:
    async def body() -> list[str]:
        csms = RecordingCsms()
        await csms.start()
        answers = []
        try:
            async with SimulatedCharger(charger_config(csms, connectors=2)) as charger:
                await charger.plug_in()
                answers.append((await csms.call(reserve(1, 1))).status)
                await charger.unplug()
                inoperative = call.ChangeAvailability(connector_id=1, type="Inoperative")
                await csms.call(inoperative)
                await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Unavailable"])
                answers.append((await csms.call(reserve(1, 2))).status)
                await csms.call(call.ChangeAvailability(connector_id=1, type="Operative"))
                await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Available"])
                await charger.fault()
                answers.append((await csms.call(reserve(1, 3))).status)
                await charger.clear_fault()
                answers.append((await csms.call(reserve(9, 4))).status)
                answers.append((await csms.call(reserve(0, 5))).status)
            assert "Reserved" not in csms.statuses(1)
            return answers
        finally:
            await csms.stop()

    assert run(body()) == ["Occupied", "Unavailable", "Faulted", "Rejected", "Rejected"]


def test_on_request_it_reserves_an_occupied_connector() -> None:
    async def body() -> str:
        csms = RecordingCsms()
        await csms.start()
        try:
            misbehaviours = {"reservation-ignores-connector-state"}
            config = charger_config(csms, misbehaviours=misbehaviours)
            async with SimulatedCharger(config) as charger:
                await charger.plug_in()
                answer = (await csms.call(reserve(1, 1))).status
                await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Reserved"])
                return str(answer)
        finally:
            await csms.stop()

    assert run(body()) == "Accepted"


def test_connector_zero_is_reserved_when_supported_and_the_session_carries_its_id() -> None:
    async def body() -> RecordingCsms:
        csms = RecordingCsms()
        await csms.start()
        try:
            config = charger_config(csms, connectors=2, reserve_connector_zero=True)
            async with SimulatedCharger(config) as charger:
                assert (await csms.call(reserve(0, 8))).status == "Accepted"
                assert (await csms.call(reserve(0, 9))).status == "Occupied"  # one at a time
                await charger.present_card(CARD, connector_id=2)
                await charger.plug_in(2)
                await csms.wait_for(lambda: bool(csms.calls("StartTransaction")))
                cancel = await csms.call(call.CancelReservation(reservation_id=8))
                assert cancel.status == "Rejected"  # used by the session
            return csms
        finally:
            await csms.stop()

    csms = run(body())

    (start,) = csms.payloads("StartTransaction")
    assert start["reservationId"] == 8 and start["connectorId"] == 2
    assert "Reserved" not in csms.statuses()  # connector 0 has no status of its own


def test_a_card_of_the_reservations_parent_id_tag_uses_the_reserved_connector() -> None:
    async def body() -> RecordingCsms:
        csms = RecordingCsms(parents={"CHILD-CARD": "GROUP-1", "OTHER-CARD": "GROUP-2"})
        await csms.start()
        try:
            async with SimulatedCharger(charger_config(csms, connectors=2)) as charger:
                reserved = call.ReserveNow(
                    connector_id=1,
                    expiry_date="2099-01-01T00:00:00Z",
                    id_tag=CARD,
                    reservation_id=11,
                    parent_id_tag="GROUP-1",
                )
                assert (await csms.call(reserved)).status == "Accepted"
                await charger.present_card("OTHER-CARD", connector_id=2)
                await charger.plug_in(2)
                await charger.present_card("CHILD-CARD")
                await charger.plug_in()
                await csms.wait_for(lambda: len(csms.calls("StartTransaction")) == 2)
            return csms
        finally:
            await csms.stop()

    other, child = run(body()).payloads("StartTransaction")
    assert child["idTag"] == "CHILD-CARD" and child["reservationId"] == 11
    assert "reservationId" not in other
