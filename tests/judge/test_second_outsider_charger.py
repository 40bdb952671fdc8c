"""Judgements of sequences a second independent OCPP 1.6-J charger sends (written from the
specification, not from the portal's simulator: three connectors, per-phase meter values,
units Wh and kWh, stops without a reason): legal choices must pass, and what it accepted
and did not do must not."""

from __future__ import annotations

from typing import Any

from certification import full_plan
from certification.judge.smart_charging import tx_profile
from tests.judge.frames import Wire

TX_PROFILE_3KW = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 202,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000.0}],
        },
        "transactionId": 42,
    },
}


def per_phase_power(total_w: float, with_total_kw: bool) -> list[dict[str, Any]]:
    """Power.Active.Import per phase in W (§7.31 SampledValue.phase), optionally followed by
    the total in kW, as a three-phase meter reports it."""
    values: list[dict[str, Any]] = [
        {
            "value": f"{total_w / 3:.1f}",
            "context": "Sample.Periodic",
            "measurand": "Power.Active.Import",
            "phase": phase,
            "unit": "W",
        }
        for phase in ("L1", "L2", "L3")
    ]
    if with_total_kw:
        values.append(
            {
                "value": f"{total_w / 1000:.3f}",
                "context": "Sample.Periodic",
                "measurand": "Power.Active.Import",
                "unit": "kW",
            }
        )
    return values


def limited_three_phase_session(drawn_w: float, with_total_kw: bool) -> Wire:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize("CARD-1")
    wire.start_transaction(transaction_id=42)
    wire.status(1, "Charging")
    wire.wait(5)
    wire.command("SetChargingProfile", TX_PROFILE_3KW, {"status": "Accepted"})
    for _ in range(3):
        wire.wait(10)
        wire.request(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [
                    {
                        "timestamp": "2023-09-22T10:00:30.250Z",
                        "sampledValue": per_phase_power(drawn_w, with_total_kw),
                    }
                ],
            },
            {},
        )
    return wire


def test_per_phase_power_within_the_tx_profile_passes() -> None:
    for with_total in (False, True):
        judgement = tx_profile(limited_three_phase_session(3000, with_total).context())

        assert judgement.verdict == "Y", [f.message for f in judgement.findings]
        assert judgement.measurements["powers_w"] == [3000.0] * 3


def test_per_phase_power_over_the_tx_profile_fails() -> None:
    """OCPP 1.6 §3.13 / §5.16: the charger SHALL limit the power to the TxProfile in force;
    §7.31 SampledValue.phase: a value with a phase is that phase's share, so the power of
    the connector is the sum of L1, L2 and L3 (or the phase-less total), never one phase."""
    for with_total in (False, True):
        judgement = tx_profile(limited_three_phase_session(6000, with_total).context())

        assert judgement.verdict == "N"
        assert "6000 W after the TxProfile limited connector 1 to 3000 W" in (
            judgement.findings[-1].message
        )


def test_steps_starting_offline_with_the_unknown_card_clear_the_cache_first() -> None:
    """OCPP 1.6 §3.5.2: the Authorization Cache is updated "when the Charge Point receives
    ... StartTransaction.conf", so after step 37 (or an earlier attempt of step 38) a charger
    with a cache holds the unknown card as Invalid and rightly refuses it offline; §3.5.4
    (Unknown Offline Authorization) is for cards it does not know. The steps clear the cache
    before the charger goes offline, or a correct charger cannot play them."""
    offline_unknown = [
        step
        for step in full_plan.steps()
        if full_plan.UNKNOWN_CARD in step.get("manual_actions", "")
        and "Cut the" in step.get("manual_actions", "")
    ]

    assert len(offline_unknown) == 2
    for step in offline_unknown:
        assert step["commands"][0]["action"] == "ClearCache", step["title"]
        assert step["manual_actions"].startswith("Clear the cache"), step["title"]


def test_the_retry_step_waits_for_the_resends_not_for_finishing() -> None:
    """OCPP 1.6 §3.7: the StopTransaction is resent after TransactionMessageRetryInterval
    and twice that; §4.9: Finishing is the connector's status once the session stopped,
    which a charger may report before its StopTransaction is accepted. The step waits for
    the three StopTransactions before the cable comes out and the step ends, or a charger
    that reports Finishing at once is judged before its resends."""
    step = next(s for s in full_plan.steps() if s["judge_rule"] == "transaction_message_retry")
    automation = step["automation"]
    fault = next(i for i, op in enumerate(automation) if "fault" in op)
    stop = automation.index({"bench": "present_card", "card": "accepted"}, fault)
    unplug = automation.index({"bench": "unplug"})
    awaited = [op["until"].get("action") for op in automation[stop:unplug] if "until" in op]

    assert awaited.count("StopTransaction") == 3
    assert awaited[-1] == "StatusNotification"  # Finishing, looked for since the step began
    assert automation[unplug - 1]["until"]["since"] == "step"
