"""Each misbehaviour visibly changes what the charger sends, so a judge can be tested on it."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.v16 import call

from chargers.simulator import MISBEHAVIOURS, ChargerConfig, SimulatedCharger
from tests.simulator.harness import FileServer, RecordingCsms, connected, run


async def _reset_during_session(misbehaviours: frozenset[str], boots: int) -> RecordingCsms:
    async with connected("idle", misbehaviours=misbehaviours) as (csms, charger, _task):
        await charger.plug_in(1)
        await csms.call(call.RemoteStartTransaction(id_tag="REMOTE1", connector_id=1))
        await csms.wait_for(lambda: "Charging" in csms.statuses(1))
        await csms.call(call.Reset(type="Hard"))
        await csms.wait_for(lambda: len(csms.calls("BootNotification")) == boots)
        await csms.wait_for(lambda: charger.online and charger.boot_count == boots)
        return csms


def test_preparing_after_reset_replaces_finishing() -> None:
    csms = run(_reset_during_session(frozenset({"preparing-after-reset"}), boots=2))

    assert csms.statuses(1)[-1] == "Preparing"


def test_no_unavailable_during_reset_skips_the_recommended_status() -> None:
    csms = run(_reset_during_session(frozenset({"no-unavailable-during-reset"}), boots=2))

    assert "Unavailable" not in csms.statuses(1)
    assert csms.statuses(1)[-1] == "Finishing"


def test_double_reboot_boots_twice_after_a_hard_reset() -> None:
    csms = run(_reset_during_session(frozenset({"double-reboot"}), boots=3))

    assert len(csms.calls("BootNotification")) == 3
    assert len(csms.authorizations) == 3


def test_connection_timeout_floor_makes_a_short_timeout_last_60_seconds() -> None:
    async def body(misbehaviours: frozenset[str]) -> float:
        options: dict[str, Any] = {"connection_timeout": 20, "misbehaviours": misbehaviours}
        async with connected("id-first-timeout", **options) as (csms, _charger, task):
            await task
            timed = [f for f in csms.calls("StatusNotification") if f.payload["connectorId"] == 1]
            return timed[2].at - timed[1].at

    assert run(body(frozenset())) < 0.4
    assert run(body(frozenset({"connection-timeout-floor-60"}))) > 0.59


def test_download_failed_instead_of_installation_failed() -> None:
    async def body(files: FileServer) -> list[str]:
        misbehaviours = frozenset({"download-failed-instead-of-installation-failed"})
        async with connected("idle", misbehaviours=misbehaviours) as (csms, _charger, _task):
            await csms.call(
                call.UpdateFirmware(
                    location=files.url("/corrupt.bin"), retrieve_date="2020-01-01T00:00:00Z"
                )
            )
            await csms.wait_for(lambda: len(csms.calls("FirmwareStatusNotification")) == 2)
            return [p["status"] for p in csms.payloads("FirmwareStatusNotification")]

    with FileServer({"/corrupt.bin": b"<html>not firmware</html>"}) as files:
        assert run(body(files)) == ["Downloading", "DownloadFailed"]


def test_no_metervalues_trigger_when_idle_rejects_the_trigger() -> None:
    async def body() -> str:
        misbehaviours = frozenset({"no-metervalues-trigger-when-idle"})
        async with connected("idle", misbehaviours=misbehaviours) as (csms, _charger, _task):
            answer = await csms.call(
                call.TriggerMessage(requested_message="MeterValues", connector_id=1)
            )
            return str(answer.status)

    assert run(body()) == "Rejected"


def test_skip_heartbeat_and_battery_datatransfer_change_the_idle_traffic() -> None:
    async def body(misbehaviours: frozenset[str]) -> list[str]:
        options: dict[str, Any] = {"duration": 65, "misbehaviours": misbehaviours}
        async with connected("idle", **options) as (csms, _charger, task):
            await task
            return csms.actions()

    normal = run(body(frozenset()))
    deviant = run(body(frozenset({"skip-heartbeat", "battery-datatransfer"})))

    assert normal.count("Heartbeat") >= 5
    assert "DataTransfer" not in normal
    assert "Heartbeat" not in deviant
    assert deviant.count("DataTransfer") == 2


def test_schema_violation_and_unknown_action_reach_the_wire() -> None:
    async def body() -> RecordingCsms:
        misbehaviours = frozenset({"schema-violation", "unknown-action"})
        async with connected("idle", misbehaviours=misbehaviours) as (csms, _charger, _task):
            await csms.wait_for(lambda: "NotifyEvent" in csms.actions())
            await csms.wait_for(lambda: sum(f.kind == 4 for f in csms.frames) == 2)
            return csms

    csms = run(body())

    assert "Plugged" in csms.statuses(1)
    errors = [f.payload[0] for f in csms.frames if f.kind == 4]
    assert len(errors) == 2  # the CSMS refused both with a CALLERROR
    assert "NotImplemented" in errors or "NotSupported" in errors


def test_meter_values_out_of_order_delivers_the_offline_queue_newest_first() -> None:
    async def body() -> list[str]:
        misbehaviours = frozenset({"meter-values-out-of-order"})
        options: dict[str, Any] = {"misbehaviours": misbehaviours}
        async with connected("id-first-connection-loss", **options) as (csms, _charger, task):
            await task
            return [p["meterValue"][0]["timestamp"] for p in csms.payloads("MeterValues")]

    stamps = run(body())

    assert stamps != sorted(stamps)


def test_boot_retry_too_soon_ignores_the_interval() -> None:
    async def body() -> float:
        csms = RecordingCsms(interval=50, boot_answers=["Pending"])
        options: dict[str, Any] = {"misbehaviours": frozenset({"boot-retry-too-soon"})}
        async with connected("idle", csms=csms, **options):
            first, second = csms.calls("BootNotification")
            return second.at - first.at

    assert run(body()) < 0.1


def test_every_misbehaviour_is_documented_and_unknown_names_are_refused() -> None:
    assert all(text and "\n" not in text for text in MISBEHAVIOURS.values())
    with pytest.raises(ValueError, match="no-such-thing"):
        SimulatedCharger(
            ChargerConfig(
                "CP1", "ws://127.0.0.1:1/ocpp/CP1", misbehaviours=frozenset({"no-such-thing"})
            )
        )


def test_transaction_survives_reboot_keeps_metering_without_a_stop() -> None:
    async def body() -> RecordingCsms:
        options: dict[str, Any] = {
            "misbehaviours": frozenset({"transaction-survives-reboot"}),
            "meter_sample_interval": 10,
        }
        async with connected("idle", **options) as (csms, charger, _task):
            await charger.plug_in(1)
            await csms.call(call.RemoteStartTransaction(id_tag="REMOTE1", connector_id=1))
            await csms.wait_for(lambda: "Charging" in csms.statuses(1))
            await csms.call(call.Reset(type="Hard"))
            await csms.wait_for(lambda: len(csms.calls("BootNotification")) == 2)
            booted = len(csms.calls())
            await csms.wait_for(lambda: len(csms.calls("MeterValues")) >= 3)
            assert any(f.action == "MeterValues" for f in csms.calls()[booted:])
            return csms

    csms = run(body())

    assert csms.calls("StopTransaction") == []
    assert {p["transactionId"] for p in csms.payloads("MeterValues")} == {
        csms.payloads("MeterValues")[0]["transactionId"]
    }


def test_heartbeat_ignores_interval_beats_three_times_as_often() -> None:
    async def body(misbehaviours: frozenset[str]) -> int:
        options: dict[str, Any] = {"duration": 65, "misbehaviours": misbehaviours}
        async with connected("idle", **options) as (csms, _charger, task):
            await task
            return csms.actions().count("Heartbeat")

    normal = run(body(frozenset()))
    deviant = run(body(frozenset({"heartbeat-ignores-interval"})))

    assert deviant > 1.5 * normal


def test_ftp_only_diagnostics_fails_an_http_upload_at_once() -> None:
    async def body() -> list[str]:
        misbehaviours = frozenset({"ftp-only-diagnostics"})
        async with connected("idle", misbehaviours=misbehaviours) as (csms, _charger, _task):
            await csms.call(call.GetDiagnostics(location="http://127.0.0.1:9/diag/"))
            await csms.wait_for(lambda: bool(csms.payloads("DiagnosticsStatusNotification")))
            return [p["status"] for p in csms.payloads("DiagnosticsStatusNotification")]

    assert run(body()) == ["UploadFailed"]
