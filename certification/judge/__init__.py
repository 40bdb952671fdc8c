"""The judge: one pure rule per step of a certification plan, proposing a verdict.

A rule reads a step's recorded frames and connection events and the run's settings, and
returns a Judgement (verdict, findings, measurements). The engineer always has the last word:
the judgement is a proposal with its reasons. No Django and no database in here, so every
rule is unit-tested with plain lists of frames.
"""

from __future__ import annotations

from collections.abc import Callable

from certification.judge.availability import change_availability, hardware_fault
from certification.judge.boot import boot, heartbeat
from certification.judge.cache import clear_cache
from certification.judge.clock_aligned import clock_aligned_meter_values
from certification.judge.configuration import change_configuration, get_configuration
from certification.judge.diagnostics import diagnostics_upload, diagnostics_upload_failed
from certification.judge.firmware import (
    firmware_download_failed,
    firmware_install,
    firmware_installation_failed,
)
from certification.judge.local_list import (
    local_list_authorizes,
    local_list_differential,
    local_list_full,
    local_list_offline,
)
from certification.judge.offline import offline_transaction, stop_transaction_on_invalid_id
from certification.judge.refusals import (
    configuration_refusals,
    data_transfer_unknown_vendor,
    remote_refusals,
    unlock_connector_idle,
)
from certification.judge.remote import remote_start_stop_cable_first, remote_start_unlock
from certification.judge.reservation import (
    cancel_reservation,
    reservation_expiry,
    reserve_now_refusals,
    reserve_now_start,
)
from certification.judge.resets import (
    hard_reset_charging,
    hard_reset_idle,
    soft_reset_charging,
    soft_reset_idle,
)
from certification.judge.security import (
    authorization_key_change,
    certificate_renewal,
    invalid_server_certificate,
    security_log,
    security_profile_downgrade,
    signed_firmware,
    tls_connection,
)
from certification.judge.sessions import (
    local_id_first_connection_loss,
    local_id_first_connection_timeout,
    local_plugin_first,
    local_unauthorized,
)
from certification.judge.smart_charging import (
    stacked_profiles,
    tx_default_profile,
    tx_profile,
    tx_profile_refusals,
)
from certification.judge.timing import transaction_message_retry
from certification.judge.triggers import trigger_message
from certification.judge.types import (
    ConnectionEvent,
    Finding,
    Frame,
    InjectedFault,
    Judgement,
    RunSettings,
    StepContext,
)

__all__ = [
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

# In the order of the default plan's steps 1..23; a plan step names its rule by this key.
RULES: dict[str, Callable[[StepContext], Judgement]] = {
    "boot": boot,
    "change_availability": change_availability,
    "get_configuration": get_configuration,
    "change_configuration": change_configuration,
    "heartbeat": heartbeat,
    "local_plugin_first": local_plugin_first,
    "local_id_first_connection_loss": local_id_first_connection_loss,
    "local_id_first_connection_timeout": local_id_first_connection_timeout,
    "hard_reset_charging": hard_reset_charging,
    "hard_reset_idle": hard_reset_idle,
    "soft_reset_charging": soft_reset_charging,
    "soft_reset_idle": soft_reset_idle,
    "local_unauthorized": local_unauthorized,
    "remote_start_stop_cable_first": remote_start_stop_cable_first,
    "remote_start_unlock": remote_start_unlock,
    "hardware_fault": hardware_fault,
    "firmware_download_failed": firmware_download_failed,
    "firmware_installation_failed": firmware_installation_failed,
    "firmware_install": firmware_install,
    "diagnostics_upload": diagnostics_upload,
    "diagnostics_upload_failed": diagnostics_upload_failed,
    "clear_cache": clear_cache,
    "trigger_message": trigger_message,
}

DEFAULT_PLAN_RULES: tuple[str, ...] = tuple(RULES)[:23]

# The "OCPP 1.6 Security" plan (certification/security_plan.py).
SECURITY_PLAN_RULES: dict[str, Callable[[StepContext], Judgement]] = {
    "tls_connection": tls_connection,
    "invalid_server_certificate": invalid_server_certificate,
    "certificate_renewal": certificate_renewal,
    "security_log": security_log,
    "signed_firmware": signed_firmware,
    "security_profile_downgrade": security_profile_downgrade,
    "authorization_key_change": authorization_key_change,
}
RULES.update(SECURITY_PLAN_RULES)

# The full plan's further steps (certification/full_plan.py).
FULL_PLAN_RULES: dict[str, Callable[[StepContext], Judgement]] = {
    "local_list_full": local_list_full,
    "local_list_differential": local_list_differential,
    "local_list_authorizes": local_list_authorizes,
    "reserve_now_start": reserve_now_start,
    "reservation_expiry": reservation_expiry,
    "cancel_reservation": cancel_reservation,
    "tx_default_profile": tx_default_profile,
    "tx_profile": tx_profile,
    "configuration_refusals": configuration_refusals,
    "unlock_connector_idle": unlock_connector_idle,
    "data_transfer_unknown_vendor": data_transfer_unknown_vendor,
    "remote_refusals": remote_refusals,
    # The step that injects a CALLERROR on StopTransaction.
    "transaction_message_retry": transaction_message_retry,
    "offline_transaction": offline_transaction,
    "stop_transaction_on_invalid_id": stop_transaction_on_invalid_id,
    "local_list_offline": local_list_offline,
    "reserve_now_refusals": reserve_now_refusals,
    "clock_aligned_meter_values": clock_aligned_meter_values,
    "stacked_profiles": stacked_profiles,
    "tx_profile_refusals": tx_profile_refusals,
}
RULES.update(FULL_PLAN_RULES)


def judge(rule: str, context: StepContext) -> Judgement:
    """Run the named rule over a step's evidence; an unknown name is a plan error."""
    try:
        judged = RULES[rule]
    except KeyError:
        known = ", ".join(RULES)
        raise ValueError(f"Unknown judging rule {rule!r}; known rules: {known}") from None
    return judged(context)
