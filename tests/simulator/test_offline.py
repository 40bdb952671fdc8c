"""Transactions while the charger is offline, as a central system sees them after the
reconnect: started and stopped offline and replayed in order, answered Invalid and stopped
(StopTransactionOnInvalidId), authorized by the Local Authorization List; and the typical
deviations the simulator commits on request."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from chargers.simulator import SimulatedCharger
from tests.simulator.harness import RecordingCsms, charger_config, run

CARD = "CERT-TAG-1"
BLOCKED = "CERT-TAG-BLOCKED"


async def offline_session(
    csms: RecordingCsms,
    charger: SimulatedCharger,
    *,
    stop_offline: bool,
    card: str = CARD,
) -> str:
    """Cut the network, present `card` and plug in, optionally stop and unplug, restore.
    Returns what the card got at the reader."""
    await charger.drop_connection()
    answer = await charger.present_card(card)
    await charger.plug_in()
    await charger.sleep(25)  # two or three samples queued
    if stop_offline and answer == "Accepted":
        await charger.present_card(card)
        await charger.unplug()
    await charger.restore_connection()
    return answer


async def play(body: Any, *, keys: dict[str, str] | None = None, **options: Any) -> RecordingCsms:
    csms = RecordingCsms()
    await csms.start()
    try:
        async with SimulatedCharger(charger_config(csms, **options)) as charger:
            for key, value in (keys or {}).items():
                assert charger.configuration.change(key, value) == "Accepted"
            await body(csms, charger)
        return csms
    finally:
        await csms.stop()


def after_reconnect(csms: RecordingCsms) -> list[Any]:
    """The transaction messages of the second connection, in the order they arrived."""
    second = csms.frames.index(next(f for f in csms.frames if f.action == "StartTransaction"))
    return [
        f
        for f in csms.frames[second:]
        if f.direction == "recv"
        and f.kind == 2
        and f.action in ("StartTransaction", "MeterValues", "StopTransaction")
    ]


def started_ids(csms: RecordingCsms) -> list[int]:
    return [
        f.payload["transactionId"]
        for f in csms.frames
        if f.direction == "send" and f.kind == 3 and f.action == "StartTransaction"
    ]


def test_a_transaction_started_and_stopped_offline_is_replayed_in_order() -> None:
    async def body(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        assert await offline_session(csms, charger, stop_offline=True) == "Accepted"
        await csms.wait_for(lambda: bool(csms.calls("StopTransaction")))

    csms = run(play(body, keys={"AllowOfflineTxForUnknownId": "true"}))

    messages = after_reconnect(csms)
    assert messages[0].action == "StartTransaction"
    assert messages[-1].action == "StopTransaction"
    assert {m.action for m in messages[1:-1]} == {"MeterValues"}
    (transaction_id,) = started_ids(csms)
    stop = messages[-1].payload
    assert stop["transactionId"] == transaction_id  # the answered id, not the local one
    assert stop["reason"] == "Local"
    assert all(m.payload["transactionId"] == transaction_id for m in messages[1:-1])
    assert messages[0].payload["timestamp"] < stop["timestamp"]
    assert "Authorize" not in csms.actions()  # decided offline, never asked
    assert csms.statuses(1)[-1] == "Available"


def test_an_unknown_card_is_refused_offline_unless_allowed() -> None:
    async def body(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        await charger.drop_connection()
        assert await charger.present_card("UNKNOWN-CARD") == "Invalid"
        await charger.restore_connection()

    csms = run(play(body))

    assert csms.calls("StartTransaction") == []


def test_a_start_answered_invalid_stops_deauthorized() -> None:
    async def body(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        csms.invalid_tags.add(CARD)
        await offline_session(csms, charger, stop_offline=False)
        await csms.wait_for(lambda: bool(csms.calls("StopTransaction")))

    csms = run(play(body, keys={"AllowOfflineTxForUnknownId": "true"}))

    (stop,) = csms.payloads("StopTransaction")
    assert stop["reason"] == "DeAuthorized"
    assert stop["transactionId"] == started_ids(csms)[0]
    assert csms.statuses(1)[-1] == "Finishing"  # the cable is still in


def test_with_stop_transaction_on_invalid_id_false_the_transaction_goes_on() -> None:
    async def body(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        csms.invalid_tags.add(CARD)
        await offline_session(csms, charger, stop_offline=False)
        await csms.wait_for(lambda: bool(csms.calls("StartTransaction")))
        await charger.sleep(20)
        assert charger.connector(1).transaction_id == started_ids(csms)[0]

    keys = {"AllowOfflineTxForUnknownId": "true", "StopTransactionOnInvalidId": "false"}
    csms = run(play(body, keys=keys))

    assert csms.calls("StopTransaction") == []


def listed(csms: RecordingCsms) -> Any:
    return csms.call(
        call.SendLocalList(
            list_version=3,
            update_type="Full",
            local_authorization_list=[
                {"idTag": CARD, "idTagInfo": {"status": "Accepted"}},
                {"idTag": BLOCKED, "idTagInfo": {"status": "Blocked"}},
            ],
        )
    )


def test_offline_the_local_list_starts_a_listed_card_and_refuses_a_blocked_one() -> None:
    async def body(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        assert (await listed(csms)).status == "Accepted"
        await charger.drop_connection()
        assert await charger.present_card(BLOCKED) == "Blocked"
        assert await charger.present_card(CARD) == "Accepted"
        await charger.plug_in()
        await charger.restore_connection()
        await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Charging"])

    csms = run(play(body))

    (start,) = csms.payloads("StartTransaction")
    assert start["idTag"] == CARD
    actions = csms.actions()
    assert actions.index("StartTransaction") < len(actions) - 1 - actions[::-1].index(
        "StatusNotification"
    )


def test_deviations_on_request() -> None:
    async def local_id(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        await offline_session(csms, charger, stop_offline=True)
        await csms.wait_for(lambda: bool(csms.calls("StopTransaction")))

    keys = {"AllowOfflineTxForUnknownId": "true"}
    csms = run(play(local_id, keys=keys, misbehaviours={"offline-stop-keeps-local-id"}))
    (stop,) = csms.payloads("StopTransaction")
    assert stop["transactionId"] < 0 and stop["transactionId"] not in started_ids(csms)

    async def keeps_going(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        csms.invalid_tags.add(CARD)
        await offline_session(csms, charger, stop_offline=False)
        await csms.wait_for(lambda: bool(csms.calls("StartTransaction")))
        await charger.sleep(20)

    csms = run(play(keeps_going, keys=keys, misbehaviours={"ignores-invalid-start-answer"}))
    assert csms.calls("StopTransaction") == []

    async def any_card(csms: RecordingCsms, charger: SimulatedCharger) -> None:
        await listed(csms)
        await charger.drop_connection()
        assert await charger.present_card(BLOCKED) == "Accepted"
        await charger.plug_in()
        await charger.restore_connection()
        await csms.wait_for(lambda: bool(csms.calls("StartTransaction")))

    csms = run(play(any_card, misbehaviours={"offline-authorizes-any-card"}))
    assert csms.payloads("StartTransaction")[0]["idTag"] == BLOCKED
