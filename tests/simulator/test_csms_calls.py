"""Every CSMS-initiated OCPP 1.6 call gets a plausible answer and its follow-up messages."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from ocpp.v16 import call

from chargers.simulator import SimulatedCharger
from chargers.simulator.configuration import Configuration
from tests.simulator.harness import FileServer, RecordingCsms, connected, run

CORE_KEYS = {
    "AuthorizeRemoteTxRequests",
    "ClockAlignedDataInterval",
    "ConnectionTimeOut",
    "GetConfigurationMaxKeys",
    "HeartbeatInterval",
    "LocalAuthorizeOffline",
    "LocalPreAuthorize",
    "MeterValuesAlignedData",
    "MeterValuesSampledData",
    "MeterValueSampleInterval",
    "NumberOfConnectors",
    "ResetRetries",
    "StopTransactionOnInvalidId",
    "StopTxnAlignedData",
    "StopTxnSampledData",
    "SupportedFeatureProfiles",
    "TransactionMessageAttempts",
    "TransactionMessageRetryInterval",
    "UnlockConnectorOnEVSideDisconnect",
}


async def _remote_session(csms: RecordingCsms, charger: SimulatedCharger) -> int:
    """Plug in connector 1 and start a session remotely; its transactionId."""
    await charger.plug_in(1)
    answer = await csms.call(call.RemoteStartTransaction(id_tag="REMOTE1", connector_id=1))
    assert answer.status == "Accepted"
    await csms.wait_for(lambda: "Charging" in csms.statuses(1))
    started = next(f for f in csms.frames if f.kind == 3 and f.action == "StartTransaction")
    return int(started.payload["transactionId"])


def test_change_availability_reports_unavailable_then_available() -> None:
    async def body() -> tuple[list[str], list[str]]:
        async with connected("idle", connectors=2) as (csms, _charger, _task):
            answers = [
                (
                    await csms.call(call.ChangeAvailability(connector_id=2, type="Inoperative"))
                ).status
            ]
            await csms.wait_for(lambda: csms.statuses(2)[-1:] == ["Unavailable"])
            answers.append(
                (await csms.call(call.ChangeAvailability(connector_id=2, type="Operative"))).status
            )
            await csms.wait_for(lambda: csms.statuses(2)[-1:] == ["Available"])
            return answers, csms.statuses(2)

    answers, statuses = run(body())

    assert answers == ["Accepted", "Accepted"]
    assert statuses == ["Available", "Unavailable", "Available"]


def test_change_availability_during_a_transaction_is_scheduled() -> None:
    async def body() -> tuple[str, list[str]]:
        async with connected("idle") as (csms, charger, _task):
            transaction_id = await _remote_session(csms, charger)
            answer = await csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
            await csms.call(call.RemoteStopTransaction(transaction_id=transaction_id))
            await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Unavailable"])
            return answer.status, csms.statuses(1)

    status, statuses = run(body())

    assert status == "Scheduled"
    assert statuses[-2:] == ["Charging", "Unavailable"]


def test_change_configuration_is_read_back_and_refuses_unknown_or_invalid() -> None:
    async def body() -> dict[str, Any]:
        async with connected("idle") as (csms, _charger, _task):
            changed = await csms.call(
                call.ChangeConfiguration(key="MeterValueSampleInterval", value="15")
            )
            unknown = await csms.call(call.ChangeConfiguration(key="NoSuchKey", value="1"))
            invalid = await csms.call(call.ChangeConfiguration(key="HeartbeatInterval", value="-1"))
            everything = await csms.call(call.GetConfiguration())
            some = await csms.call(
                call.GetConfiguration(key=["MeterValueSampleInterval", "NoSuchKey"])
            )
            return {
                "statuses": [changed.status, unknown.status, invalid.status],
                "all": everything.configuration_key,
                "all_unknown": everything.unknown_key,
                "some": some.configuration_key,
                "some_unknown": some.unknown_key,
            }

    answers = run(body())

    assert answers["statuses"] == ["Accepted", "NotSupported", "Rejected"]
    assert {entry["key"] for entry in answers["all"]} >= CORE_KEYS
    assert answers["all_unknown"] is None
    assert answers["some"] == [
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "15"}
    ]
    assert answers["some_unknown"] == ["NoSuchKey"]


def test_heartbeat_interval_comes_from_the_boot_answer() -> None:
    async def body() -> str:
        async with connected("idle", csms=RecordingCsms(interval=42)) as (csms, _c, _t):
            answer = await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
            return str(answer.configuration_key[0]["value"])

    assert run(body()) == "42"


def test_remote_start_and_stop_run_a_session() -> None:
    async def body() -> RecordingCsms:
        async with connected("remote-start", duration=100) as (csms, _charger, task):
            answer = await csms.call(call.RemoteStartTransaction(id_tag="REMOTE1"))
            assert answer.status == "Accepted"
            await csms.wait_for(lambda: "Charging" in csms.statuses(1))
            transaction_id = _transaction_id(csms)
            refused = await csms.call(call.RemoteStopTransaction(transaction_id=999_999))
            assert refused.status == "Rejected"
            stopped = await csms.call(call.RemoteStopTransaction(transaction_id=transaction_id))
            assert stopped.status == "Accepted"
            await task
            return csms

    csms = run(body())

    assert "Authorize" not in csms.actions()  # AuthorizeRemoteTxRequests is false
    assert csms.payloads("StartTransaction")[0]["idTag"] == "REMOTE1"
    assert csms.payloads("StopTransaction")[0]["reason"] == "Remote"
    assert csms.statuses(1) == ["Available", "Preparing", "Charging", "Finishing", "Available"]


def test_hard_reset_during_a_session_stops_it_and_boots_again() -> None:
    async def body() -> RecordingCsms:
        async with connected("idle") as (csms, charger, _task):
            await _remote_session(csms, charger)
            answer = await csms.call(call.Reset(type="Hard"))
            assert answer.status == "Accepted"
            await csms.wait_for(lambda: len(csms.calls("BootNotification")) == 2)
            await csms.wait_for(lambda: len(csms.statuses(1)) == 5)
            return csms

    csms = run(body())

    assert len(csms.authorizations) == 2  # a new connection
    assert csms.payloads("StopTransaction")[0]["reason"] == "HardReset"
    after_stop = csms.actions()[csms.actions().index("StopTransaction") :]
    assert after_stop[:3] == ["StopTransaction", "StatusNotification", "BootNotification"]
    # Unavailable during the reset; the cable is still in after it: Finishing.
    assert csms.statuses(1) == ["Available", "Preparing", "Charging", "Unavailable", "Finishing"]


def test_soft_reset_when_idle_boots_again_with_everything_available() -> None:
    async def body() -> RecordingCsms:
        async with connected("idle") as (csms, _charger, _task):
            assert (await csms.call(call.Reset(type="Soft"))).status == "Accepted"
            await csms.wait_for(lambda: len(csms.calls("BootNotification")) == 2)
            await csms.wait_for(lambda: len(csms.statuses(1)) == 3)
            return csms

    csms = run(body())

    assert "StopTransaction" not in csms.actions()
    assert csms.statuses(1) == ["Available", "Unavailable", "Available"]


def test_unlock_connector_stops_the_session_unless_the_cable_is_fixed() -> None:
    async def body(fixed_cable: bool) -> tuple[str, list[dict[str, Any]]]:
        async with connected("idle", fixed_cable=fixed_cable) as (csms, charger, _task):
            await _remote_session(csms, charger)
            answer = await csms.call(call.UnlockConnector(connector_id=1))
            if not fixed_cable:
                await csms.wait_for(lambda: bool(csms.calls("StopTransaction")))
            return answer.status, csms.payloads("StopTransaction")

    assert run(body(fixed_cable=True)) == ("NotSupported", [])
    status, stops = run(body(fixed_cable=False))
    assert status == "Unlocked"
    assert stops[0]["reason"] == "UnlockCommand"


def test_firmware_update_from_an_unreachable_location_fails_to_download() -> None:
    async def body() -> RecordingCsms:
        async with connected("idle") as (csms, _charger, _task):
            await csms.call(
                call.UpdateFirmware(
                    location="http://127.0.0.1:9/fw.bin", retrieve_date="2020-01-01T00:00:00Z"
                )
            )
            await csms.wait_for(lambda: len(csms.calls("FirmwareStatusNotification")) == 2)
            return csms

    csms = run(body())

    statuses = [p["status"] for p in csms.payloads("FirmwareStatusNotification")]
    assert statuses == ["Downloading", "DownloadFailed"]
    assert len(csms.calls("BootNotification")) == 1


def test_firmware_update_installs_reboots_and_reports_the_new_version() -> None:
    image = b"SIMFW 2.0.0\n" + bytes(range(256))

    async def body(files: FileServer) -> RecordingCsms:
        async with connected("idle") as (csms, _charger, _task):
            await csms.call(
                call.UpdateFirmware(
                    location=files.url("/fw/any-name.bin"), retrieve_date="2020-01-01T00:00:00Z"
                )
            )
            await csms.wait_for(
                lambda: "Installed" in str(csms.payloads("FirmwareStatusNotification"))
            )
            return csms

    with FileServer({"/fw/any-name.bin": image}) as files:
        csms = run(body(files))

    statuses = [p["status"] for p in csms.payloads("FirmwareStatusNotification")]
    assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
    boots = csms.payloads("BootNotification")
    assert [b["firmwareVersion"] for b in boots] == ["1.0.0", "2.0.0"]
    installed = csms.actions().index(
        "FirmwareStatusNotification", csms.actions().index("BootNotification", 1)
    )
    assert csms.actions()[installed - 2 : installed] == ["StatusNotification"] * 2


def test_a_corrupt_firmware_image_fails_to_install() -> None:
    async def body(files: FileServer) -> list[str]:
        async with connected("idle") as (csms, _charger, _task):
            await csms.call(
                call.UpdateFirmware(
                    location=files.url("/corrupt.bin"), retrieve_date="2020-01-01T00:00:00Z"
                )
            )
            await csms.wait_for(lambda: len(csms.calls("FirmwareStatusNotification")) == 4)
            return [p["status"] for p in csms.payloads("FirmwareStatusNotification")]

    with FileServer({"/corrupt.bin": b"this is not a firmware image\n"}) as files:
        statuses = run(body(files))

    assert statuses == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]


def test_get_diagnostics_uploads_a_file_to_the_location() -> None:
    async def body(files: FileServer) -> tuple[str, list[str]]:
        async with connected("idle") as (csms, _charger, _task):
            answer = await csms.call(call.GetDiagnostics(location=files.url("/diagnostics/")))
            await csms.wait_for(lambda: len(csms.calls("DiagnosticsStatusNotification")) == 2)
            return answer.file_name, [
                p["status"] for p in csms.payloads("DiagnosticsStatusNotification")
            ]

    with FileServer({}) as files:
        file_name, statuses = run(body(files))
        uploads = dict(files.uploads)

    assert statuses == ["Uploading", "Uploaded"]
    assert list(uploads) == [f"/diagnostics/{file_name}"]
    assert b"Diagnostics of CP1" in uploads[f"/diagnostics/{file_name}"]


def test_get_diagnostics_to_an_unreachable_location_fails() -> None:
    async def body() -> list[str]:
        async with connected("idle") as (csms, _charger, _task):
            answer = await csms.call(call.GetDiagnostics(location="ftp://127.0.0.1:9/logs/"))
            assert answer.file_name
            await csms.wait_for(lambda: len(csms.calls("DiagnosticsStatusNotification")) == 2)
            return [p["status"] for p in csms.payloads("DiagnosticsStatusNotification")]

    assert run(body()) == ["Uploading", "UploadFailed"]


def test_trigger_message_sends_the_triggered_message_and_rejects_unknown_connectors() -> None:
    async def body() -> tuple[dict[str, str], RecordingCsms]:
        async with connected("idle") as (csms, _charger, _task):
            answers = {}
            for message, connector_id in [
                ("MeterValues", 99),
                ("Heartbeat", None),
                ("StatusNotification", 1),
                ("MeterValues", 1),
                ("DiagnosticsStatusNotification", None),
                ("FirmwareStatusNotification", None),
                ("BootNotification", None),
            ]:
                sent = len(csms.calls())
                answer = await csms.call(
                    call.TriggerMessage(requested_message=message, connector_id=connector_id)
                )
                answers[f"{message} {connector_id}"] = answer.status
                if answer.status == "Accepted":
                    await csms.wait_for(_sent_since(csms, sent, message))
            return answers, csms

    answers, csms = run(body())

    assert answers.pop("MeterValues 99") == "Rejected"
    assert set(answers.values()) == {"Accepted"}
    triggered = csms.payloads("MeterValues")[0]["meterValue"][0]["sampledValue"][0]
    assert triggered["context"] == "Trigger"
    assert csms.payloads("DiagnosticsStatusNotification") == [{"status": "Idle"}]
    assert csms.payloads("FirmwareStatusNotification") == [{"status": "Idle"}]
    assert len(csms.calls("BootNotification")) == 2


def test_clear_cache_makes_a_cached_card_authorize_again() -> None:
    async def body() -> int:
        async with connected("idle") as (csms, charger, _task):
            await csms.call(call.ChangeConfiguration(key="LocalPreAuthorize", value="true"))
            for _ in range(2):
                assert await charger.authorize("CARD1") == "Accepted"
            before = len(csms.calls("Authorize"))
            assert (await csms.call(call.ClearCache())).status == "Accepted"
            await charger.authorize("CARD1")
            return len(csms.calls("Authorize")) - before

    assert run(body()) == 1


def test_it_answers_data_transfer_local_list_reservation_and_smart_charging() -> None:
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }

    async def body() -> dict[str, Any]:
        async with connected("idle") as (csms, _charger, _task):
            answers: dict[str, Any] = {}
            ask = csms.call
            answers["data ours"] = (await ask(call.DataTransfer(vendor_id="SimuCharge"))).status
            answers["data other"] = (await ask(call.DataTransfer(vendor_id="Other"))).status
            answers["send list"] = (
                await ask(
                    call.SendLocalList(
                        list_version=3,
                        update_type="Full",
                        local_authorization_list=[
                            {"idTag": "CARD1", "idTagInfo": {"status": "Accepted"}}
                        ],
                    )
                )
            ).status
            answers["list version"] = (await ask(call.GetLocalListVersion())).list_version
            answers["reserve"] = (
                await ask(
                    call.ReserveNow(
                        connector_id=1,
                        expiry_date="2099-01-01T00:00:00Z",
                        id_tag="CARD1",
                        reservation_id=7,
                    )
                )
            ).status
            await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Reserved"])
            answers["cancel"] = (await ask(call.CancelReservation(reservation_id=7))).status
            answers["cancel again"] = (await ask(call.CancelReservation(reservation_id=7))).status
            await csms.wait_for(lambda: csms.statuses(1)[-1:] == ["Available"])
            answers["profile"] = (
                await ask(call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))
            ).status
            schedule = await ask(call.GetCompositeSchedule(connector_id=1, duration=3600))
            answers["schedule"] = schedule.status
            answers["limit"] = schedule.charging_schedule["charging_schedule_period"][0]["limit"]
            answers["clear"] = (await ask(call.ClearChargingProfile(id=1))).status
            answers["clear again"] = (await ask(call.ClearChargingProfile(id=1))).status
            return answers

    assert run(body()) == {
        "data ours": "Accepted",
        "data other": "UnknownVendorId",
        "send list": "Accepted",
        "list version": 3,
        "reserve": "Accepted",
        "cancel": "Accepted",
        "cancel again": "Rejected",
        "profile": "Accepted",
        "schedule": "Accepted",
        "limit": 16.0,
        "clear": "Accepted",
        "clear again": "Unknown",
    }


def test_get_configuration_lists_every_core_key_of_a_fresh_charger() -> None:
    configuration = Configuration(
        connectors=1, heartbeat_interval=300, meter_sample_interval=60, connection_timeout=60
    )

    known, unknown = configuration.report(None)

    assert {entry["key"] for entry in known} >= CORE_KEYS
    assert unknown == []


def _transaction_id(csms: RecordingCsms) -> int:
    answer = next(f for f in csms.frames if f.kind == 3 and f.action == "StartTransaction")
    return int(answer.payload["transactionId"])


def _sent_since(csms: RecordingCsms, count: int, action: str) -> Callable[[], bool]:
    """Whether the charger sent ``action`` after its first ``count`` calls."""
    return lambda: any(f.action == action for f in csms.calls()[count:])


def _triggered_measurands(**options: Any) -> list[list[str]]:
    """The measurands of a triggered MeterValues, before and after MeterValuesSampledData
    is changed to Voltage and Current.Import."""

    async def body() -> list[list[str]]:
        async with connected("idle", **options) as (csms, _charger, _task):
            seen = []
            for change in (None, "Voltage,Current.Import"):
                if change is not None:
                    answer = await csms.call(
                        call.ChangeConfiguration(key="MeterValuesSampledData", value=change)
                    )
                    assert answer.status == "Accepted"
                sent = len(csms.calls())
                await csms.call(
                    call.TriggerMessage(requested_message="MeterValues", connector_id=1)
                )
                await csms.wait_for(_sent_since(csms, sent, "MeterValues"))
                sampled = csms.payloads("MeterValues")[-1]["meterValue"][0]["sampledValue"]
                seen.append([value["measurand"] for value in sampled])
            return seen

    return run(body())


def test_meter_values_carry_the_measurands_of_meter_values_sampled_data() -> None:
    assert _triggered_measurands() == [
        ["Energy.Active.Import.Register", "Power.Active.Import"],
        ["Voltage", "Current.Import"],
    ]
    # The deviation the judge must catch: the list accepted, and ignored.
    assert _triggered_measurands(misbehaviours={"ignores-sampled-data"})[1] == [
        "Energy.Active.Import.Register",
        "Power.Active.Import",
    ]


def test_clock_aligned_meter_values_fall_on_the_interval_boundaries() -> None:
    async def body(misbehaviours: frozenset[str]) -> list[dict[str, Any]]:
        async with connected("idle", misbehaviours=misbehaviours) as (csms, _charger, _task):
            # 50 charger seconds are 0.5 s at the tests' time scale.
            await csms.call(call.ChangeConfiguration(key="ClockAlignedDataInterval", value="50"))
            await csms.wait_for(lambda: len(csms.calls("MeterValues")) >= 2)
            await csms.call(call.ChangeConfiguration(key="ClockAlignedDataInterval", value="0"))
            return csms.payloads("MeterValues")

    def offsets(payloads: list[dict[str, Any]]) -> list[float]:
        stamps = [
            datetime.datetime.fromisoformat(p["meterValue"][0]["timestamp"].replace("Z", "+00:00"))
            for p in payloads
        ]
        return [round(stamp.timestamp() % 0.5, 3) % 0.5 for stamp in stamps]

    aligned = run(body(frozenset()))
    assert {v["context"] for p in aligned for v in p["meterValue"][0]["sampledValue"]} == {
        "Sample.Clock"
    }
    assert {v["measurand"] for p in aligned for v in p["meterValue"][0]["sampledValue"]} == {
        "Energy.Active.Import.Register"  # MeterValuesAlignedData's default
    }
    assert all(min(o, 0.5 - o) < 0.01 for o in offsets(aligned))
    off = run(body(frozenset({"clock-aligned-off-boundary"})))
    assert all(abs(o - 0.25) < 0.01 for o in offsets(off))


def test_the_composite_schedule_stacks_profiles_within_their_validity_and_the_max() -> None:
    def absolute(profile_id: int, stack: int, purpose: str, periods: list[Any], **extra: Any):
        now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
        return {
            "chargingProfileId": profile_id,
            "stackLevel": stack,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "startSchedule": now,
                "chargingSchedulePeriod": [{"startPeriod": s, "limit": x} for s, x in periods],
                **extra.pop("schedule", {}),
            },
            **extra,
        }

    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).isoformat()

    async def body(misbehaviours: frozenset[str]) -> list[Any]:
        async with connected("idle", misbehaviours=misbehaviours) as (csms, _charger, _task):
            for connector, profile in [
                (1, absolute(1, 0, "TxDefaultProfile", [(0, 6000), (100, 8000), (200, 10000)])),
                (1, absolute(2, 1, "TxDefaultProfile", [(0, 4000)], schedule={"duration": 150})),
                (0, absolute(3, 0, "ChargePointMaxProfile", [(0, 7000)])),
                (1, absolute(4, 2, "TxDefaultProfile", [(0, 1000)], validFrom=later)),
            ]:
                answer = await csms.call(
                    call.SetChargingProfile(connector_id=connector, cs_charging_profiles=profile)
                )
                assert answer.status == "Accepted"
            composite = await csms.call(
                call.GetCompositeSchedule(connector_id=1, duration=400, charging_rate_unit="W")
            )
            return [
                (p["start_period"], p["limit"])
                for p in composite.charging_schedule["charging_schedule_period"]
            ]

    periods = run(body(frozenset()))
    # The profiles started "now", a moment before the composite's start.
    assert [limit for _, limit in periods] == [4000.0, 7000.0]
    assert periods[0][0] == 0 and periods[1][0] in (149, 150)
    assert run(body(frozenset({"charging-profile-validity-ignored"})))[0] == (0, 1000.0)
