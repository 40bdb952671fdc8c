"""The registry (certification.judge), pinned whole: a plan step names its rule by key, so
every key must lead to its module's rule, the three plans' tables must hold exactly their
rules in plan order, and an unknown key must be a plan error that lists the known ones."""

from __future__ import annotations

from importlib import import_module

import pytest

import certification.judge
from certification.judge import (
    DEFAULT_PLAN_RULES,
    FULL_PLAN_RULES,
    RULES,
    SECURITY_PLAN_RULES,
    judge,
    types,
)
from certification.judge.types import StepContext
from tests.judge.frames import Wire

# The default plan's steps 1..23, in order, and the module of each rule (by name: the
# package's own names of `boot` and the like are the rules, not their modules).
DEFAULT = [
    ("boot", "boot"),
    ("change_availability", "availability"),
    ("get_configuration", "configuration"),
    ("change_configuration", "configuration"),
    ("heartbeat", "boot"),
    ("local_plugin_first", "sessions"),
    ("local_id_first_connection_loss", "sessions"),
    ("local_id_first_connection_timeout", "sessions"),
    ("hard_reset_charging", "resets"),
    ("hard_reset_idle", "resets"),
    ("soft_reset_charging", "resets"),
    ("soft_reset_idle", "resets"),
    ("local_unauthorized", "sessions"),
    ("remote_start_stop_cable_first", "remote"),
    ("remote_start_unlock", "remote"),
    ("hardware_fault", "availability"),
    ("firmware_download_failed", "firmware"),
    ("firmware_installation_failed", "firmware"),
    ("firmware_install", "firmware"),
    ("diagnostics_upload", "diagnostics"),
    ("diagnostics_upload_failed", "diagnostics"),
    ("clear_cache", "cache"),
    ("trigger_message", "triggers"),
]
SECURITY = [
    ("tls_connection", "security"),
    ("invalid_server_certificate", "security"),
    ("certificate_renewal", "security"),
    ("security_log", "security"),
    ("signed_firmware", "security"),
    ("security_profile_downgrade", "security"),
    ("authorization_key_change", "security"),
]
FULL = [
    ("local_list_full", "local_list"),
    ("local_list_differential", "local_list"),
    ("local_list_authorizes", "local_list"),
    ("reserve_now_start", "reservation"),
    ("reservation_expiry", "reservation"),
    ("cancel_reservation", "reservation"),
    ("tx_default_profile", "smart_charging"),
    ("tx_profile", "smart_charging"),
    ("configuration_refusals", "refusals"),
    ("unlock_connector_idle", "refusals"),
    ("data_transfer_unknown_vendor", "refusals"),
    ("remote_refusals", "refusals"),
    ("transaction_message_retry", "timing"),
    ("offline_transaction", "offline"),
    ("stop_transaction_on_invalid_id", "offline"),
    ("local_list_offline", "local_list"),
    ("reserve_now_refusals", "reservation"),
    ("clock_aligned_meter_values", "clock_aligned"),
    ("stacked_profiles", "smart_charging"),
    ("tx_profile_refusals", "smart_charging"),
]


def rule_in(module: str, key: str) -> object:
    return getattr(import_module(f"certification.judge.{module}"), key)


def test_every_key_names_the_function_of_the_same_name_in_its_module() -> None:
    assert list(RULES.items()) == [
        (key, rule_in(module, key)) for key, module in DEFAULT + SECURITY + FULL
    ]


def test_the_default_plan_is_its_23_rules_in_step_order() -> None:
    assert tuple(key for key, _ in DEFAULT) == DEFAULT_PLAN_RULES


def test_the_security_and_full_plans_hold_their_rules_in_plan_order() -> None:
    assert list(SECURITY_PLAN_RULES) == [key for key, _ in SECURITY]
    assert list(FULL_PLAN_RULES) == [key for key, _ in FULL]
    assert all(RULES[key] is rule for key, rule in SECURITY_PLAN_RULES.items())
    assert all(RULES[key] is rule for key, rule in FULL_PLAN_RULES.items())


def test_the_package_exports_the_registry_and_the_contract() -> None:
    assert certification.judge.__all__ == [
        "DEFAULT_PLAN_RULES",
        "FULL_PLAN_RULES",
        "RULES",
        "ConnectionEvent",
        "Finding",
        "Frame",
        "InjectedFault",
        "Judgement",
        "RunSettings",
        "StepContext",
        "judge",
    ]
    exported: dict[str, object] = {}
    exec("from certification.judge import *", exported)
    assert {name: exported[name] for name in certification.judge.__all__} == {
        "DEFAULT_PLAN_RULES": DEFAULT_PLAN_RULES,
        "FULL_PLAN_RULES": FULL_PLAN_RULES,
        "RULES": RULES,
        "ConnectionEvent": types.ConnectionEvent,
        "Finding": types.Finding,
        "Frame": types.Frame,
        "InjectedFault": types.InjectedFault,
        "Judgement": types.Judgement,
        "RunSettings": types.RunSettings,
        "StepContext": types.StepContext,
        "judge": judge,
    }


def test_an_unknown_rule_is_a_plan_error_naming_it_and_every_known_rule() -> None:
    with pytest.raises(ValueError) as raised:
        judge("no_such_rule", StepContext(frames=()))
    known = ", ".join(key for key, _ in DEFAULT + SECURITY + FULL)
    assert str(raised.value) == f"Unknown judging rule 'no_such_rule'; known rules: {known}"
    # The KeyError of the lookup is not shown as its cause.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__ is True


@pytest.mark.parametrize(("key", "module"), DEFAULT + SECURITY + FULL)
def test_judge_runs_the_named_rule_over_the_steps_context(key: str, module: str) -> None:
    wire = Wire()
    wire.boot()
    wire.heartbeat()
    context = wire.context()
    assert judge(key, context) == rule_in(module, key)(context)  # type: ignore[operator]
