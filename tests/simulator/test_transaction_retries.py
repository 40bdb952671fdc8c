"""Transaction messages answered with a CALLERROR are resent as OCPP 1.6 says: at most
TransactionMessageAttempts transmissions, TransactionMessageRetryInterval x the transmissions
so far apart; the misbehaviours give up at once or resend too soon."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.simulator.harness import TIME_SCALE, RecordingCsms, connected, run


async def _stop_refused(
    refusals: int, misbehaviours: frozenset[str] = frozenset(), attempts: int = 3
) -> tuple[RecordingCsms, list[float], list[str]]:
    """A session whose StopTransaction the CSMS answers InternalError ``refusals`` times;
    the gaps between its transmissions in charger seconds, and the statuses after."""
    csms = RecordingCsms(call_errors={"StopTransaction": refusals})
    async with connected("idle", csms=csms, misbehaviours=misbehaviours) as (_, charger, _t):
        charger.configuration.change("TransactionMessageAttempts", str(attempts))
        charger.configuration.change("TransactionMessageRetryInterval", "60")
        await charger.plug_in(1)
        assert await charger.present_card() == "Accepted"
        await charger.present_card()  # stops the session
        await csms.wait_for(lambda: charger.connector(1).status == "Finishing", within=10)
    stops = csms.calls("StopTransaction")
    gaps = [round((b.at - a.at) / TIME_SCALE, 1) for a, b in itertools.pairwise(stops)]
    return csms, gaps, csms.statuses(1)


def test_a_refused_stop_transaction_is_resent_after_the_interval_times_the_transmissions() -> None:
    csms, gaps, statuses = run(_stop_refused(refusals=2))

    stops = csms.calls("StopTransaction")
    assert len(stops) == 3
    assert len({f.unique_id for f in stops}) == 3  # a new message id each time
    assert all(f.payload == stops[0].payload for f in stops)  # the same message
    assert gaps[0] == pytest.approx(60, abs=10) and gaps[1] == pytest.approx(120, abs=10)
    # The charger goes on only once the stop is delivered.
    assert statuses[-1] == "Finishing"


def test_after_the_last_attempt_the_message_is_discarded() -> None:
    csms, gaps, _ = run(_stop_refused(refusals=5, attempts=2))

    assert len(csms.calls("StopTransaction")) == 2
    assert gaps == [pytest.approx(60, abs=10)]


def test_a_start_transaction_answered_with_a_callerror_is_resent_too() -> None:
    async def body() -> RecordingCsms:
        csms = RecordingCsms(call_errors={"StartTransaction": 1})
        async with connected("idle", csms=csms) as (_, charger, _task):
            charger.configuration.change("TransactionMessageRetryInterval", "10")
            await charger.plug_in(1)
            await charger.present_card()
            await csms.wait_for(lambda: charger.connector(1).transaction_id is not None)
        return csms

    csms = run(body())

    assert len(csms.calls("StartTransaction")) == 2


def test_no_transaction_message_retry_gives_up_at_the_first_callerror() -> None:
    csms, gaps, _ = run(
        _stop_refused(refusals=2, misbehaviours=frozenset({"no-transaction-message-retry"}))
    )

    assert len(csms.calls("StopTransaction")) == 1
    assert gaps == []


def test_transaction_message_retry_too_soon_waits_a_tenth() -> None:
    misbehaviours = frozenset({"transaction-message-retry-too-soon"})
    csms, gaps, _ = run(_stop_refused(refusals=2, misbehaviours=misbehaviours))

    assert len(csms.calls("StopTransaction")) == 3
    # 6 s and 12 s, not 60 s and 120 s (the loop's own delays are a few charger seconds).
    assert len(gaps) == 2 and gaps[0] < 30 and gaps[1] < 45


def test_a_message_waiting_to_be_resent_when_the_connection_drops_keeps_its_place() -> None:
    """OCPP 1.6 "Transaction-Related Messages": transaction messages are delivered "in
    chronological order". A StopTransaction waiting for its resend when the connection drops
    goes out after the reconnect before a StopTransaction of another session that stopped
    while the charger was offline."""

    async def body() -> list[int]:
        csms = RecordingCsms(call_errors={"StopTransaction": 1})
        async with connected("idle", csms=csms, connectors=2) as (_, charger, _task):
            charger.configuration.change("TransactionMessageRetryInterval", "60")
            for connector_id in (1, 2):
                await charger.plug_in(connector_id)
                assert await charger.present_card(connector_id=connector_id) == "Accepted"
            # Refused once, so the stop waits 60 s to be resent.
            stopping = asyncio.create_task(charger.present_card(connector_id=1))
            await csms.wait_for(lambda: len(csms.calls("StopTransaction")) == 1, within=10)
            await charger.drop_connection()
            # Stopped offline: queued while the first stop waits.
            queued = asyncio.create_task(charger.present_card(connector_id=2))
            await charger.sleep(5)
            await charger.restore_connection()
            await csms.wait_for(lambda: len(csms.calls("StopTransaction")) == 3, within=200)
            await asyncio.gather(stopping, queued)
        return [f.payload["transactionId"] for f in csms.calls("StopTransaction")]

    first, *after_reconnect = run(body())

    assert after_reconnect == [first, first + 1]
