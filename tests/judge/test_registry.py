"""The rule registry the plan steps name their judging rule by."""

from __future__ import annotations

import pytest

from certification.judge import (
    DEFAULT_PLAN_RULES,
    FULL_PLAN_RULES,
    RULES,
    SECURITY_PLAN_RULES,
    judge,
)
from certification.judge.types import Finding, Judgement, StepContext
from tests.judge.frames import Wire


def test_default_plan_has_one_rule_per_step_in_plan_order() -> None:
    assert len(DEFAULT_PLAN_RULES) == 23
    assert DEFAULT_PLAN_RULES[0] == "boot"
    assert DEFAULT_PLAN_RULES[14] == "remote_start_unlock"
    assert DEFAULT_PLAN_RULES[-1] == "trigger_message"
    assert set(DEFAULT_PLAN_RULES) | set(SECURITY_PLAN_RULES) | set(FULL_PLAN_RULES) == set(RULES)


def test_the_full_plan_names_every_rule_of_ocpp_16_charge_points() -> None:
    from certification import full_plan

    named = {step["judge_rule"] for step in full_plan.steps()}
    assert named == set(DEFAULT_PLAN_RULES) | set(FULL_PLAN_RULES)


def test_judge_rejects_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="no_such_rule"):
        judge("no_such_rule", StepContext(frames=()))


CHARGING = "charging session before the Reset (StartTransaction or StatusNotification Charging)"

# What each rule waits for first: an empty step fails with "No <this>: ...".
FIRST_EXPECTED = {
    "boot": "BootNotification received",
    "change_availability": "ChangeAvailability sent to the charger",
    "get_configuration": "GetConfiguration sent to the charger",
    "change_configuration": "ChangeConfiguration sent to the charger",
    "heartbeat": "Heartbeat received",
    "local_plugin_first": "StatusNotification Preparing received",
    "local_id_first_connection_loss": "StartTransaction received",
    "local_id_first_connection_timeout": "StatusNotification Preparing received",
    "hard_reset_charging": CHARGING,
    "hard_reset_idle": "Reset(Hard) sent to the charger",
    "soft_reset_charging": CHARGING,
    "soft_reset_idle": "Reset(Soft) sent to the charger",
    "local_unauthorized": "StatusNotification Preparing received",
    "remote_start_stop_cable_first": "StatusNotification Preparing received",
    "remote_start_unlock": "RemoteStartTransaction sent to the charger",
    "hardware_fault": "StatusNotification Faulted received",
    "firmware_download_failed": "UpdateFirmware sent to the charger",
    "firmware_installation_failed": "UpdateFirmware sent to the charger",
    "firmware_install": "UpdateFirmware sent to the charger",
    "diagnostics_upload": "GetDiagnostics sent to the charger",
    "diagnostics_upload_failed": "GetDiagnostics sent to the charger",
    "clear_cache": "ClearCache sent to the charger",
    "trigger_message": "TriggerMessage sent to the charger",
    "tls_connection": "connection over TLS",
    "invalid_server_certificate": "handshake with the faulty server certificate",
    "certificate_renewal": "SignCertificate received",
    "security_log": "GetLog sent to the charger",
    "signed_firmware": "SignedUpdateFirmware sent to the charger",
    "security_profile_downgrade": "ChangeConfiguration SecurityProfile sent to the charger",
    "authorization_key_change": "ChangeConfiguration AuthorizationKey sent to the charger",
    "local_list_full": "GetLocalListVersion sent to the charger",
    "local_list_differential": "SendLocalList sent to the charger",
    "local_list_authorizes": "SendLocalList sent to the charger",
    "reserve_now_start": "ReserveNow sent to the charger",
    "reservation_expiry": "ReserveNow sent to the charger",
    "cancel_reservation": "ReserveNow sent to the charger",
    "tx_default_profile": "SetChargingProfile sent to the charger",
    "tx_profile": "SetChargingProfile sent to the charger",
    "configuration_refusals": "ChangeConfiguration sent to the charger",
    "unlock_connector_idle": "UnlockConnector sent to the charger",
    "data_transfer_unknown_vendor": "DataTransfer sent to the charger",
    "remote_refusals": "RemoteStopTransaction sent to the charger",
    "offline_transaction": "StartTransaction received",
    "stop_transaction_on_invalid_id": "StartTransaction received",
    "local_list_offline": "SendLocalList sent to the charger",
    "reserve_now_refusals": "ReserveNow sent to the charger",
    "clock_aligned_meter_values": "ChangeConfiguration sent to the charger",
    "stacked_profiles": "SetChargingProfile sent to the charger",
    "tx_profile_refusals": "SetChargingProfile sent to the charger",
    "transaction_message_retry": "transaction message received",
}


def test_the_table_of_first_expected_messages_covers_every_rule() -> None:
    assert set(FIRST_EXPECTED) == set(RULES)


@pytest.mark.parametrize(("rule", "expected"), sorted(FIRST_EXPECTED.items()))
def test_every_rule_turns_an_empty_step_into_a_fail_that_names_what_was_expected(
    rule: str, expected: str
) -> None:
    judgement = judge(rule, StepContext(frames=()))

    assert judgement == Judgement(
        "N", (Finding("fail", f"No {expected}: the step recorded no frames"),), {}
    )


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_survives_a_step_of_unrelated_or_broken_frames(rule: str) -> None:
    wire = Wire()
    wire.garbage_in("not a JSON array")
    wire.heartbeat()

    judgement = judge(rule, wire.context())

    assert judgement.verdict in ("N", "NA")
    assert any("not valid OCPP-J" in f.message for f in judgement.findings)


def test_judgement_is_minor_only_with_a_minor_finding() -> None:
    clean = Judgement("Y", (Finding("info", "noted"),), {})
    remarked = Judgement("Y", (Finding("minor", "remark"),), {})

    assert not clean.minor
    assert remarked.minor
