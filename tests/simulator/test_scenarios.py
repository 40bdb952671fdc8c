"""The simulator's scenarios as a central system sees them on the wire."""

from __future__ import annotations

import base64
import itertools

from ocpp.v16 import call

from chargers.simulator import SimulatedCharger
from chargers.simulator.configuration import Configuration
from tests.simulator.harness import RecordingCsms, charger_config, connected, run


def test_it_boots_reports_every_connector_and_sends_heartbeats() -> None:
    async def body() -> RecordingCsms:
        async with connected("boot", connectors=2, duration=45, iccid="8931000000000000001") as (
            csms,
            _charger,
            task,
        ):
            await task
            return csms

    csms = run(body())

    boot, *rest = csms.calls()
    assert boot.action == "BootNotification"
    assert boot.payload["chargePointVendor"] == "SimuCharge"
    assert boot.payload["firmwareVersion"] == "1.0.0"
    assert boot.payload["iccid"] == "8931000000000000001"
    statuses = [(f.payload["connectorId"], f.payload["status"]) for f in rest[:3]]
    assert statuses == [(0, "Available"), (1, "Available"), (2, "Available")]
    # 45 s of a 10 s interval: four heartbeats, evenly spaced.
    heartbeats = csms.calls("Heartbeat")
    assert len(heartbeats) in (3, 4, 5)
    gaps = [b.at - a.at for a, b in itertools.pairwise(heartbeats)]
    assert all(0.07 < gap < 0.3 for gap in gaps)


def test_it_authenticates_with_basic_auth_and_offers_ocpp16() -> None:
    async def body() -> RecordingCsms:
        async with connected("idle") as (csms, _charger, _task):
            return csms

    csms = run(body())

    expected = "Basic " + base64.b64encode(b"CP1:secret-key").decode()
    assert csms.authorizations == [expected]


def test_it_sends_no_authorization_header_without_a_password() -> None:
    async def body() -> RecordingCsms:
        async with connected("idle", password=None) as (csms, _charger, _task):
            return csms

    assert run(body()).authorizations == [None]


def test_it_waits_the_interval_before_retrying_a_pending_boot() -> None:
    async def body() -> RecordingCsms:
        csms = RecordingCsms(interval=20, boot_answers=["Pending", "Rejected"])
        async with connected("idle", csms=csms):
            return csms

    csms = run(body())

    boots = csms.calls("BootNotification")
    assert len(boots) == 3
    assert all(b.at - a.at >= 0.19 for a, b in itertools.pairwise(boots))
    assert csms.actions()[:4] == ["BootNotification"] * 3 + ["StatusNotification"]


def test_plugin_first_session_sends_the_expected_frames_in_order() -> None:
    async def body() -> RecordingCsms:
        async with connected("plugin-first") as (csms, _charger, task):
            await task
            return csms

    csms = run(body())

    sequence = [
        f"SN {f.payload['status']}" if f.action == "StatusNotification" else str(f.action)
        for f in csms.calls()
        if f.action != "Heartbeat"
    ]
    meter_values = sequence.count("MeterValues")
    assert meter_values >= 2
    assert sequence == [
        "BootNotification",
        "SN Available",
        "SN Available",
        "SN Preparing",
        "Authorize",
        "StartTransaction",
        "SN Charging",
        *["MeterValues"] * meter_values,
        "StopTransaction",
        "SN Finishing",
        "SN Available",
    ]
    start = csms.payloads("StartTransaction")[0]
    stop = csms.payloads("StopTransaction")[0]
    answer = next(f for f in csms.frames if f.kind == 3 and f.action == "StartTransaction")
    assert stop["transactionId"] == answer.payload["transactionId"]
    assert stop["reason"] == "Local"
    assert stop["meterStop"] > start["meterStart"]
    energy = [
        v
        for p in csms.payloads("MeterValues")
        for mv in p["meterValue"]
        for v in mv["sampledValue"]
        if v["measurand"] == "Energy.Active.Import.Register"
    ]
    assert len(energy) == meter_values
    assert all(p["transactionId"] == stop["transactionId"] for p in csms.payloads("MeterValues"))


def test_id_first_session_authorizes_before_the_cable_is_in() -> None:
    async def body() -> RecordingCsms:
        async with connected("id-first") as (csms, _charger, task):
            await task
            return csms

    csms = run(body())

    actions = [a for a in csms.actions() if a not in ("Heartbeat", "MeterValues")]
    assert actions[3:6] == ["Authorize", "StatusNotification", "StartTransaction"]
    assert csms.statuses(1) == ["Available", "Preparing", "Charging", "Finishing", "Available"]


def test_connection_loss_queues_meter_values_and_delivers_them_in_order() -> None:
    async def body() -> RecordingCsms:
        async with connected("id-first-connection-loss") as (csms, _charger, task):
            await task
            return csms

    csms = run(body())

    assert len(csms.authorizations) == 2  # reconnected...
    assert len(csms.calls("BootNotification")) == 1  # ...without rebooting
    second = [f for f in csms.calls() if f.at >= _reconnected_at(csms)]
    queued = [f for f in second if f.action == "MeterValues"]
    assert len(queued) >= 3
    stamps = [f.payload["meterValue"][0]["timestamp"] for f in csms.calls("MeterValues")]
    assert stamps == sorted(stamps)
    # The catch-up comes first, the StopTransaction after it.
    assert second[0].action == "MeterValues"
    tx_messages = [f.action for f in second if f.action in ("MeterValues", "StopTransaction")]
    assert tx_messages[-1] == "StopTransaction"


def _reconnected_at(csms: RecordingCsms) -> float:
    """When the second connection's first frame arrived (gaps longer than the sample
    interval only happen while the charger is offline)."""
    calls = csms.calls()
    gaps = [(b.at - a.at, b.at) for a, b in itertools.pairwise(calls)]
    return max(gaps)[1]


def test_id_first_timeout_returns_to_available_after_connection_timeout() -> None:
    async def body() -> RecordingCsms:
        async with connected("id-first-timeout", connection_timeout=20) as (csms, _c, task):
            await task
            return csms

    csms = run(body())

    assert "StartTransaction" not in csms.actions()
    assert csms.statuses(1) == ["Available", "Preparing", "Available"]
    preparing, available = [
        f for f in csms.calls("StatusNotification") if f.payload["connectorId"]
    ][1:3]
    assert 0.19 < available.at - preparing.at < 0.4


def test_unauthorized_card_starts_no_transaction() -> None:
    async def body() -> RecordingCsms:
        csms = RecordingCsms(invalid_tags={"DEADBEEF000000"})
        async with connected("unauthorized", csms=csms) as (_csms, _charger, task):
            await task
            return csms

    csms = run(body())

    assert csms.payloads("Authorize") == [{"idTag": "DEADBEEF000000"}]
    assert "StartTransaction" not in csms.actions()
    assert csms.statuses(1) == ["Available", "Preparing", "Available"]


def test_fault_reports_ground_failure_then_available() -> None:
    async def body() -> RecordingCsms:
        async with connected("fault") as (csms, _charger, task):
            await task
            return csms

    csms = run(body())

    faulted = [p for p in csms.payloads("StatusNotification") if p["status"] == "Faulted"]
    assert [p["errorCode"] for p in faulted] == ["GroundFailure"]
    assert csms.statuses(1)[-2:] == ["Faulted", "Available"]


def test_configuration_refuses_bad_values_and_keeps_the_old_one() -> None:
    configuration = Configuration(
        connectors=2, heartbeat_interval=300, meter_sample_interval=60, connection_timeout=60
    )

    assert configuration.change("MeterValueSampleInterval", "-1") == "Rejected"
    assert configuration.change("NumberOfConnectors", "3") == "Rejected"  # read-only
    assert configuration.change("NoSuchKey", "1") == "NotSupported"
    assert configuration.change("MeterValuesSampledData", "Voltage,Bogus") == "Rejected"
    assert configuration.get("MeterValueSampleInterval") == "60"
    assert configuration.change("LocalPreAuthorize", "TRUE") == "Accepted"
    assert configuration.get_bool("LocalPreAuthorize")


def test_a_test_can_drive_the_charger_step_by_step() -> None:
    async def body() -> tuple[list[str], list[str]]:
        csms = RecordingCsms()
        await csms.start()
        try:
            async with SimulatedCharger(charger_config(csms, connectors=2)) as charger:
                await charger.plug_in(2)
                assert await charger.present_card("CARD2", connector_id=2) == "Accepted"
                await charger.unplug(2)
            return csms.statuses(2), csms.actions()
        finally:
            await csms.stop()

    statuses, actions = run(body())

    assert statuses == ["Available", "Preparing", "Charging", "Available"]
    assert actions[-2:] == ["StopTransaction", "StatusNotification"]


def test_it_reconnects_without_booting_when_the_csms_drops_the_connection() -> None:
    async def body() -> RecordingCsms:
        async with connected("idle") as (csms, charger, _task):
            await csms.central_systems["CP1"]._connection.close()
            await csms.wait_for(lambda: len(csms.authorizations) == 2 and charger.online)
            await csms.call(call.TriggerMessage(requested_message="Heartbeat"))
            await csms.wait_for(lambda: bool(csms.calls("Heartbeat")))
            return csms

    csms = run(body())

    assert len(csms.calls("BootNotification")) == 1
