"""Every step: the measurands of MeterValuesSampledData arrive in the periodic MeterValues
(OCPP 1.6 §9.1); a charger that accepted or reports a list and never samples part of it
did not do what it said."""

from __future__ import annotations

from typing import Any

from certification.judge.sessions import local_plugin_first
from tests.judge.frames import Wire

ENERGY_AND_POWER = "Energy.Active.Import.Register,Power.Active.Import"


def reading(measurand: str | None, context: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"value": "1500"}
    if measurand is not None:
        value["measurand"] = measurand
    if context is not None:
        value["context"] = context
    return value


def session(*samples: list[dict[str, Any]], change: str | None = None) -> Wire:
    """Step 6's session with one periodic MeterValues per entry of `samples`."""
    wire = Wire()
    if change is not None:
        wire.command(
            "ChangeConfiguration",
            {"key": "MeterValuesSampledData", "value": change},
            {"status": "Accepted"},
        )
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    for sampled in samples:
        wire.wait(60)
        wire.request(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [{"timestamp": "2023-09-22T10:01:00Z", "sampledValue": sampled}],
            },
            {},
        )
    wire.wait(10)
    wire.stop_transaction()
    wire.status(1, "Finishing")
    wire.status(1, "Available")
    return wire


def test_every_configured_measurand_sampled_passes_even_over_several_messages() -> None:
    wire = session(
        [reading(None)],  # no measurand: Energy.Active.Import.Register
        [reading("Power.Active.Import", "Sample.Periodic")],
        change=ENERGY_AND_POWER,
    )

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "Y" and judgement.findings == ()


def test_an_accepted_measurand_never_sampled_is_a_fail_citing_the_meter_values() -> None:
    wire = session(
        [reading("Energy.Active.Import.Register")],
        [reading("Energy.Active.Import.Register"), reading("Voltage", "Sample.Clock")],
        change="Energy.Active.Import.Register,Voltage, Current.Import",
    )
    periodic = [f.id for f in wire.frames if f.action == "MeterValues" and f.message_type == 2]

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    [finding] = [f for f in judgement.findings if "MeterValuesSampledData" in f.message]
    assert finding.severity == "fail"
    assert finding.message == (
        "MeterValuesSampledData is Energy.Active.Import.Register,Voltage, Current.Import, but "
        "the 2 periodic MeterValues of transaction 42 never carry Voltage, Current.Import: "
        "the charger does not sample what it is configured to"
    )
    assert finding.frame_ids == tuple(periodic)


def test_the_list_reported_earlier_in_the_run_counts_and_extra_measurands_are_fine() -> None:
    wire = session([reading("Energy.Active.Import.Register"), reading("Temperature")])

    missing = local_plugin_first(wire.context(configuration={"MeterValuesSampledData": "SoC"}))
    covered = local_plugin_first(
        wire.context(configuration={"MeterValuesSampledData": "Energy.Active.Import.Register"})
    )
    unknown_name = local_plugin_first(
        wire.context(configuration={"MeterValuesSampledData": "Energy.Active.Import.Register,X"})
    )

    assert missing.verdict == "N" and "never carry SoC" in missing.findings[0].message
    assert covered.verdict == "Y" and unknown_name.verdict == "Y"


def test_without_periodic_readings_there_is_nothing_to_compare() -> None:
    wire = session([reading("Energy.Active.Import.Register", "Sample.Clock")])

    judgement = local_plugin_first(
        wire.context(configuration={"MeterValuesSampledData": ENERGY_AND_POWER})
    )

    assert not [f for f in judgement.findings if "MeterValuesSampledData" in f.message]
