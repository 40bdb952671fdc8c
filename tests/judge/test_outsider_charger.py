"""Judgements of sequences an independent OCPP 1.6-J charger sends (written from the
specification, not from the portal's simulator): legal orders and optional messages a
correct charger uses must pass, and what it accepted and did not do must not."""

from __future__ import annotations

from datetime import timedelta

from certification.judge.availability import change_availability, hardware_fault
from certification.judge.cache import clear_cache
from certification.judge.configuration import change_configuration
from certification.judge.firmware import firmware_install, firmware_installation_failed
from certification.judge.remote import remote_start_stop_cable_first
from certification.judge.resets import hard_reset_idle, soft_reset_idle
from certification.judge.sessions import local_id_first_connection_loss, local_plugin_first
from certification.judge.triggers import trigger_message
from certification.judge.types import RunSettings
from tests.judge.frames import Wire

UPDATE = {"location": "https://portal.example/fw.bin", "retrieveDate": "2023-09-22T10:00:00Z"}


def install_with_unavailable_before_installing(wire: Wire, back_before_installing: bool) -> None:
    """Downloaded -> SN Unavailable per connector -> (Available again) -> Installing -> boot."""
    wire.boot(firmware="V1.0.0")
    wire.command("UpdateFirmware", UPDATE, {})
    wire.firmware_status("Downloading")
    wire.wait(5)
    wire.firmware_status("Downloaded")
    wire.status(1, "Unavailable")
    wire.status(2, "Unavailable")
    if back_before_installing:
        wire.status(1, "Available")
        wire.status(2, "Available")
    wire.firmware_status("Installing")
    wire.wait(5)
    wire.boot(firmware="V1.1.0")
    wire.status(0, "Available")
    wire.status(1, "Available")
    wire.status(2, "Available")
    wire.firmware_status("Installed")


def test_connectors_made_unavailable_just_before_installing_count_as_unavailable() -> None:
    # OCPP 1.6 §5.19 / TC_044_1: the connectors are Unavailable while the firmware installs,
    # whether their StatusNotification came just before or after FSN Installing.
    wire = Wire()
    install_with_unavailable_before_installing(wire, back_before_installing=False)

    judgement = firmware_install(wire.context())

    assert judgement.verdict == "Y"
    assert not judgement.minor, [f.message for f in judgement.findings]


def test_unavailable_that_ended_before_installing_is_still_minor() -> None:
    wire = Wire()
    install_with_unavailable_before_installing(wire, back_before_installing=True)

    judgement = firmware_install(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert "Unavailable while the firmware was installing" in judgement.findings[-1].message


def plugin_first_session(wire: Wire, meter_values_transaction: int) -> None:
    """Step 6 as a firmware with its own order: SuspendedEV before StartTransaction,
    Finishing before StopTransaction; the portal assigns transaction 42."""
    wire.status(1, "Preparing")
    wire.authorize("CARD-1")
    wire.status(1, "SuspendedEV")
    wire.start_transaction(transaction_id=42)
    wire.status(1, "Charging")
    wire.wait(20)
    wire.meter_values(transaction_id=meter_values_transaction)
    wire.wait(5)
    wire.status(1, "Finishing")
    wire.stop_transaction(transaction_id=42)
    wire.wait(3)
    wire.status(1, "Available")


def test_plugin_first_with_meter_values_of_the_started_transaction_passes() -> None:
    wire = Wire()
    plugin_first_session(wire, meter_values_transaction=42)

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]
    assert judgement.measurements["meter_values"] == 1


def test_meter_values_naming_another_transaction_fail_and_are_not_called_missing() -> None:
    # The charger sent MeterValues, with a transactionId the portal never assigned: the
    # finding says so instead of "No MeterValues received".
    wire = Wire()
    plugin_first_session(wire, meter_values_transaction=43)

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    messages = [f.message for f in judgement.findings]
    assert "1 MeterValues on connector 1 for transaction 43 where transaction 42 was started" in (
        messages
    )
    assert not any("No MeterValues" in m for m in messages)
    failing = next(f for f in judgement.findings if "transaction 43" in f.message)
    assert wire.ids("MeterValues")[0] in failing.frame_ids


def test_remote_session_with_meter_values_of_another_transaction_fails() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command(
        "RemoteStartTransaction", {"idTag": "CARD-1", "connectorId": 1}, {"status": "Accepted"}
    )
    wire.start_transaction(transaction_id=42)
    wire.status(1, "Charging")
    wire.wait(10)
    wire.meter_values(transaction_id=7)
    wire.command("RemoteStopTransaction", {"transactionId": 42}, {"status": "Accepted"})
    wire.stop_transaction(transaction_id=42, reason="Remote")
    wire.status(1, "Finishing")

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.verdict == "N"
    assert any("for transaction 7 where transaction 42" in f.message for f in judgement.findings)


def heartbeats_around_a_trigger(wire: Wire, answers_the_trigger: bool) -> None:
    """A charger that keeps its 10 s Heartbeat exactly; TriggerMessage(Heartbeat) 3 s after
    one of them."""
    wire.heartbeat()
    wire.wait(3)
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    if answers_the_trigger:
        wire.wait(0.05)
        wire.heartbeat()
        wire.wait(6.95)
    else:
        wire.wait(7)
    wire.heartbeat()  # the periodic one, 10 s after the previous


def test_a_triggered_heartbeat_between_periodic_ones_passes() -> None:
    wire = Wire()
    heartbeats_around_a_trigger(wire, answers_the_trigger=True)

    judgement = trigger_message(
        wire.context(RunSettings(heartbeat_interval=10), kinds=["Heartbeat"])
    )

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]


def test_an_accepted_heartbeat_trigger_answered_only_by_the_periodic_heartbeat_fails() -> None:
    # TriggerMessage accepted, nothing sent: the next Heartbeat is the periodic one, 7 s after
    # the reply and exactly HeartbeatInterval after the previous Heartbeat.
    wire = Wire()
    heartbeats_around_a_trigger(wire, answers_the_trigger=False)

    judgement = trigger_message(
        wire.context(RunSettings(heartbeat_interval=10), kinds=["Heartbeat"])
    )

    assert judgement.verdict == "N"
    assert judgement.findings[0].message == (
        "TriggerMessage Heartbeat was accepted, but the first Heartbeat after it came 7 s later, "
        "when the periodic one was due (10 s after the previous Heartbeat, HeartbeatInterval "
        "10 s): no Heartbeat answered the trigger"
    )


def test_authorize_after_remote_start_follows_the_setting_in_force_at_the_remote_start() -> None:
    # AuthorizeRemoteTxRequests set true for the session and back to false after it: the
    # Authorize the charger sent was required then (OCPP 1.6 §5.11, §9.1.1).
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "AuthorizeRemoteTxRequests", "value": "true"},
        {"status": "Accepted"},
    )
    wire.status(1, "Preparing")
    wire.command(
        "RemoteStartTransaction", {"idTag": "CARD-1", "connectorId": 1}, {"status": "Accepted"}
    )
    wire.authorize("CARD-1")
    wire.start_transaction(transaction_id=42)
    wire.status(1, "Charging")
    wire.wait(10)
    wire.command("RemoteStopTransaction", {"transactionId": 42}, {"status": "Accepted"})
    wire.stop_transaction(transaction_id=42, reason="Remote")
    wire.status(1, "Finishing")
    wire.command(
        "ChangeConfiguration",
        {"key": "AuthorizeRemoteTxRequests", "value": "false"},
        {"status": "Accepted"},
    )

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.verdict == "Y"
    assert not judgement.minor, [f.message for f in judgement.findings]
    assert judgement.measurements["authorized"] is True


def inoperative_across_a_reset(wire: Wire, operative_answer: str) -> None:
    """Step 10 with connector 1 Inoperative: it stays Unavailable through the reboot, then
    the portal asks for Operative again."""
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.status(1, "Unavailable")
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    wire.wait(4)
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Unavailable")
    wire.wait(4)
    call = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
    if operative_answer == "Accepted":
        wire.status(1, "Available")  # before the reply, as OCPP 1.6 allows
    wire.result_in(call, {"status": operative_answer})
    if operative_answer != "Accepted":
        wire.status(1, "Available")


def test_an_inoperative_connector_made_operative_after_the_reboot_may_become_available() -> None:
    wire = Wire()
    inoperative_across_a_reset(wire, operative_answer="Accepted")

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]


def test_available_after_a_rejected_operative_is_still_a_fail() -> None:
    wire = Wire()
    inoperative_across_a_reset(wire, operative_answer="Rejected")

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert any("although it was set Inoperative" in f.message for f in judgement.findings)


def corrupt_image_with_reboot(wire: Wire, reboot_after_failure: bool) -> None:
    """Step 18 by a charger whose bootloader installs: it restarts, rejects the image, comes
    back on the old firmware and reports InstallationFailed."""
    wire.boot(firmware="V1.0.0")
    wire.command("UpdateFirmware", UPDATE, {})
    wire.firmware_status("Downloading")
    wire.firmware_status("Downloaded")
    wire.firmware_status("Installing")
    wire.wait(5)
    if not reboot_after_failure:
        wire.boot(firmware="V1.0.0")
        wire.status(0, "Available")
        wire.status(1, "Available")
    wire.firmware_status("InstallationFailed")
    if reboot_after_failure:
        wire.wait(5)
        wire.boot(firmware="V1.0.0")
        wire.status(0, "Available")
        wire.status(1, "Available")


def test_the_optional_installation_reboot_of_a_failed_install_is_not_a_minor_issue() -> None:
    wire = Wire()
    corrupt_image_with_reboot(wire, reboot_after_failure=False)

    judgement = firmware_installation_failed(wire.context())

    assert judgement.verdict == "Y"
    assert not judgement.minor, [f.message for f in judgement.findings]
    assert judgement.measurements["reboots"] == 1


def test_a_reboot_after_installation_failed_is_still_minor() -> None:
    wire = Wire()
    corrupt_image_with_reboot(wire, reboot_after_failure=True)

    judgement = firmware_installation_failed(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor


def reboot_required_change(wire: Wire, reboot_before_reading: bool) -> None:
    """Step 4 by a charger that takes MeterValueSampleInterval into use at its next start."""
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "10"},
        {"status": "RebootRequired"},
    )
    if reboot_before_reading:
        wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
        wire.wait(5)
        wire.boot()
    wire.command(
        "GetConfiguration",
        {"key": ["MeterValueSampleInterval"]},
        {
            "configurationKey": [
                {"key": "MeterValueSampleInterval", "readonly": False, "value": "20"}
            ]
        },
    )
    wire.command(
        "ChangeConfiguration",
        {"key": "CertPortalUnknownKey", "value": "1"},
        {"status": "NotSupported"},
    )
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "-1"},
        {"status": "Rejected"},
    )


def test_reboot_required_reads_the_old_value_until_the_reboot() -> None:
    # OCPP 1.6 §7.10: RebootRequired, "change will be available after reboot".
    wire = Wire()
    reboot_required_change(wire, reboot_before_reading=False)

    judgement = change_configuration(wire.context())

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]


def test_reboot_required_value_missing_after_the_reboot_fails() -> None:
    wire = Wire()
    reboot_required_change(wire, reboot_before_reading=True)

    judgement = change_configuration(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "read MeterValueSampleInterval as 20 where 10" in f.message for f in judgement.findings
    )


def inoperative_then_operative(wire: Wire, reverts_on_its_own: bool) -> None:
    """Step 2 by a charger that reports the new status before its reply."""
    call = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    wire.status(1, "Unavailable")
    wire.result_in(call, {"status": "Accepted"})
    wire.wait(1)
    if reverts_on_its_own:
        wire.status(1, "Available")
    wire.wait(1)
    call = wire.call_out("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
    wire.status(1, "Available")
    wire.result_in(call, {"status": "Accepted"})


def test_availability_kept_until_operative_passes() -> None:
    wire = Wire()
    inoperative_then_operative(wire, reverts_on_its_own=False)

    judgement = change_availability(wire.context())

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]


def test_a_connector_back_to_available_before_operative_fails() -> None:
    wire = Wire()
    inoperative_then_operative(wire, reverts_on_its_own=True)

    judgement = change_availability(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings[0].message == (
        "Connector 1 reported Available 1 s after ChangeAvailability(connector 1, Inoperative) "
        "made it Unavailable, before any Operative was sent: the charger did not keep the "
        "availability it accepted"
    )


def test_clear_cache_accepts_any_card_the_run_used_when_the_step_shows_none() -> None:
    # Cards OX-CARD-7 (local session) and CERT-TAG-1 (remote start, last) are both cached;
    # OX-CARD-7 presented before the ClearCache is authorized locally, unseen on the wire,
    # and sends Authorize after it (OCPP 1.6 §3.5.1, §5.4).
    wire = Wire()
    wire.wait(2)
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.wait(2)
    wire.authorize("OX-CARD-7")

    judgement = clear_cache(
        wire.context(
            last_authorized_id_tag="CERT-TAG-1", presented_id_tags=["OX-CARD-7", "CERT-TAG-1"]
        )
    )

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]
    assert judgement.measurements["cached_id_tag"] == "OX-CARD-7"
    assert judgement.measurements["cached"] is True


def test_clear_cache_still_fails_for_a_card_the_charger_never_used() -> None:
    wire = Wire()
    wire.command("ClearCache", {}, {"status": "Accepted"})
    wire.wait(2)
    wire.authorize("NEW-CARD")

    judgement = clear_cache(
        wire.context(last_authorized_id_tag="CERT-TAG-1", presented_id_tags=["CERT-TAG-1"])
    )

    assert judgement.verdict == "N"
    assert "came for idTag NEW-CARD where the cached card CERT-TAG-1" in (
        judgement.findings[0].message
    )


def test_queued_values_out_of_order_fail_without_a_negative_sampling_interval() -> None:
    # Samples taken 60 s apart and replayed newest first: the order is the finding; the
    # sampling interval is judged on the samples in time order (no "-60 s apart").
    wire = Wire()
    wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "60"},
        {"status": "Accepted"},
    )
    wire.authorize()
    wire.status(1, "Preparing")
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.event("closed")
    cut = wire.now
    wire.wait(200)
    wire.event("connected")
    wire.meter_values(sampled=cut + timedelta(seconds=90))
    wire.meter_values(sampled=cut + timedelta(seconds=30))

    judgement = local_id_first_connection_loss(wire.context())

    messages = [f.message for f in judgement.findings]
    assert judgement.verdict == "N"
    assert any("out of chronological order" in m for m in messages), messages
    assert not any("apart where MeterValueSampleInterval" in m for m in messages), messages
    assert judgement.measurements["queued_sample_intervals_s"] == [-60.0]  # as they arrived


def test_a_fault_cleared_with_the_cable_in_ends_at_preparing() -> None:
    # OCPP 1.6 §4.9: Faulted -> Preparing when the cable is still plugged in; the fault
    # lasted until then, not until the cable came out.
    wire = Wire()
    wire.status(1, "Preparing")
    wire.status(1, "Faulted", "GroundFailure")
    wire.wait(3)
    wire.status(1, "Preparing")
    wire.wait(2)
    wire.status(1, "Available")

    judgement = hardware_fault(wire.context())

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]
    assert judgement.measurements["faulted_s"] == 3.0


def test_an_accepted_soft_reset_with_no_sign_of_a_restart_fails() -> None:
    wire = Wire()
    wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.wait(10)
    wire.heartbeat()

    judgement = soft_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert "Reset(Soft) was accepted but the charger showed no sign of restarting" in (
        judgement.findings[0].message
    )


def test_a_soft_reset_that_reports_its_connectors_again_without_a_boot_passes() -> None:
    # The application restarts, the registration stays: BootNotification is optional.
    wire = Wire()
    wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    wire.status(2, "Unavailable")
    wire.wait(2)
    wire.status(1, "Available")
    wire.status(2, "Available")

    judgement = soft_reset_idle(wire.context(RunSettings(connectors=2)))

    assert judgement.verdict == "Y", [f.message for f in judgement.findings]
