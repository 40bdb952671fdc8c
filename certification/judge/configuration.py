"""Steps 3 and 4: reading and changing the charger's configuration keys."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, bool_param, step_rule, str_param
from certification.judge.sequence import (
    Exchange,
    between,
    exchanges,
    is_after,
    is_call,
    payload_of,
    same_setting,
)
from certification.judge.types import Judgement, StepContext

# The plan's Core list, completed with the two other keys OCPP 1.6 marks required for Core
# (ConnectorPhaseRotation, StopTransactionOnEVSideDisconnect).
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "Core": (
        "AuthorizeRemoteTxRequests",
        "ClockAlignedDataInterval",
        "ConnectionTimeOut",
        "ConnectorPhaseRotation",
        "GetConfigurationMaxKeys",
        "HeartbeatInterval",
        "LocalAuthorizeOffline",
        "LocalPreAuthorize",
        "MeterValuesAlignedData",
        "MeterValuesSampledData",
        "MeterValueSampleInterval",
        "NumberOfConnectors",
        "ResetRetries",
        "StopTransactionOnEVSideDisconnect",
        "StopTransactionOnInvalidId",
        "StopTxnAlignedData",
        "StopTxnSampledData",
        "SupportedFeatureProfiles",
        "TransactionMessageAttempts",
        "TransactionMessageRetryInterval",
        "UnlockConnectorOnEVSideDisconnect",
    ),
    "LocalAuthListManagement": (
        "LocalAuthListEnabled",
        "LocalAuthListMaxLength",
        "SendLocalListMaxLength",
    ),
    "SmartCharging": (
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleAllowedChargingRateUnit",
        "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled",
    ),
    "FirmwareManagement": (),
    "Reservation": (),
    "RemoteTrigger": (),
}

# Every key OCPP 1.6 (and its security extension) defines, required or optional: a key not
# in here and not listed by the charger is an unknown key, which must be NotSupported.
STANDARD_KEYS: frozenset[str] = frozenset(
    key for keys in REQUIRED_KEYS.values() for key in keys
) | {
    "AllowOfflineTxForUnknownId",
    "AuthorizationCacheEnabled",
    "BlinkRepeat",
    "ConnectorPhaseRotationMaxLength",
    "LightIntensity",
    "MaxEnergyOnInvalidId",
    "MeterValuesAlignedDataMaxLength",
    "MeterValuesSampledDataMaxLength",
    "MinimumStatusDuration",
    "StopTxnAlignedDataMaxLength",
    "StopTxnSampledDataMaxLength",
    "SupportedFeatureProfilesMaxLength",
    "WebSocketPingInterval",
    "ReserveConnectorZeroSupported",
    "ConnectorSwitch3to1PhaseSupported",
    "SupportedFileTransferProtocols",
    "AuthorizationKey",
    "SecurityProfile",
    "CpoName",
    "CertificateSignedMaxChainSize",
    "CertificateStoreMaxLength",
    "AdditionalRootCertificateCheck",
}


def profile_name(profile: str) -> str:
    """ "Firmware Management" (the plan's spelling) and "FirmwareManagement" are one profile."""
    compact = profile.replace(" ", "").replace("-", "").lower()
    for name in REQUIRED_KEYS:
        if name.lower() == compact:
            return name
    return profile


def listed_keys(exchange: Exchange) -> dict[str, Any]:
    """The keys a GetConfiguration reply lists, with their values (None when not readable)."""
    entries = exchange.response.get("configurationKey") or []
    return {
        str(entry["key"]): entry.get("value")
        for entry in entries
        if isinstance(entry, dict) and "key" in entry
    }


def requested_keys(exchange: Exchange) -> list[str]:
    keys = exchange.request.get("key") or []
    return [str(key) for key in keys] if isinstance(keys, list) else []


@step_rule("GetConfiguration sent to the charger")
def get_configuration(context: StepContext) -> Judgement:
    """Step 3, Get Configuration (TC_019).

    GetConfiguration() without keys must list every key required by each supported profile
    (the run's supported_profiles); each missing key is a fail naming it. Then a
    GetConfiguration with a key list must not report a known key in unknownKey.

    Measures: the configuration read (key -> value), the number of keys, the missing keys.
    """
    findings = Findings()
    requests = exchanges(context.frames, "GetConfiguration")
    if not requests:
        findings.fail("No GetConfiguration sent to the charger")
        return findings.judgement()
    full = [r for r in requests if not requested_keys(r)]
    keyed = [r for r in requests if requested_keys(r)]
    configuration: dict[str, Any] = {}
    for request in full:
        if findings.expect_result(request, "GetConfiguration without keys"):
            configuration.update(listed_keys(request))
    measurements: dict[str, Any] = {"configuration": configuration, "key_count": len(configuration)}
    if not full:
        findings.fail("No GetConfiguration without keys sent: the full key list was not read")
    else:
        missing: list[str] = []
        for profile in dict.fromkeys(profile_name(p) for p in context.settings.supported_profiles):
            for key in REQUIRED_KEYS.get(profile, ()):
                if key not in configuration:
                    missing.append(key)
                    findings.fail(
                        f"Required {profile} key {key} missing from the GetConfiguration reply",
                        *full[-1].frames,
                    )
        measurements["missing_keys"] = missing
    if not keyed:
        findings.fail("No GetConfiguration with a key list sent after the full listing")
    for request in keyed:
        what = f"GetConfiguration({', '.join(requested_keys(request))})"
        if not findings.expect_result(request, what):
            continue
        unknown = {str(key) for key in request.response.get("unknownKey") or []}
        returned = listed_keys(request)
        for key in requested_keys(request):
            if key not in configuration:
                continue
            if key in unknown:
                findings.fail(
                    f"{what} reported {key} in unknownKey although the full listing has it",
                    *request.frames,
                )
            elif key not in returned:
                findings.fail(
                    f"{what} returned neither a value nor unknownKey for the known key {key}",
                    *request.frames,
                )
    return findings.judgement(measurements)


@step_rule("ChangeConfiguration sent to the charger")
def change_configuration(context: StepContext) -> Judgement:
    """Step 4, Change Configuration (TC_021, TC_040).

    ChangeConfiguration(key, v) -> Accepted or RebootRequired, and a later GetConfiguration
    reads v back. An unknown key -> NotSupported. The invalid value -> Rejected or CALLERROR
    PropertyConstraintViolation.

    Params: `key` (default "MeterValueSampleInterval"); `invalid_value` (default "-1");
    `unknown_key` (default: any key that is neither an OCPP key nor listed by the charger in
    the step); `require_negative_cases` (default True: the unknown-key and invalid-value
    probes must both be in the step).
    Measures: the key, the value set, the value read back, and the answer to each probe.
    """
    frames, findings = context.frames, Findings()
    key = str_param(context, "key", "MeterValueSampleInterval")
    invalid_value = str_param(context, "invalid_value", "-1")
    changes = exchanges(frames, "ChangeConfiguration")
    listed: set[str] = set()
    for request in exchanges(frames, "GetConfiguration"):
        listed.update(listed_keys(request))
    explicit_unknown = context.params.get("unknown_key")

    def is_unknown(name: str) -> bool:
        if explicit_unknown is not None:
            return name == explicit_unknown
        return name != key and name not in STANDARD_KEYS and name not in listed

    valid = [
        c
        for c in changes
        if c.request.get("key") == key and c.request.get("value") != invalid_value
    ]
    invalid = [
        c
        for c in changes
        if c.request.get("key") == key and c.request.get("value") == invalid_value
    ]
    unknown = [c for c in changes if is_unknown(str(c.request.get("key")))]
    measurements: dict[str, Any] = {"key": key}
    if not valid:
        findings.fail(f"No ChangeConfiguration of {key} sent to the charger")
    applied: Exchange | None = None
    for change in valid:
        what = f"ChangeConfiguration of {key} to {change.request.get('value')}"
        if findings.expect_reply(change, ("Accepted", "RebootRequired"), what):
            applied = change
            if change.status == "RebootRequired":
                findings.info(f"{what} answered RebootRequired: the value applies after a reboot")
    if applied is not None:
        _check_read_back(context, key, applied, findings, measurements)
    for probe in invalid:
        what = f"ChangeConfiguration of {key} to the invalid value {invalid_value}"
        expected = "Rejected or CALLERROR PropertyConstraintViolation"
        error = payload_of(probe.reply).get("errorCode") if probe.is_error else None
        if probe.status != "Rejected" and error != "PropertyConstraintViolation":
            findings.fail(
                f"{what} answered {probe.answer} where {expected} was expected", *probe.frames
            )
        measurements["invalid_value_answer"] = probe.answer
    for probe in unknown:
        what = f"ChangeConfiguration of the unknown key {probe.request.get('key')}"
        findings.expect_reply(probe, ("NotSupported",), what)
        measurements["unknown_key_answer"] = probe.answer
    if bool_param(context, "require_negative_cases", True):
        if not invalid:
            findings.fail(
                f"No ChangeConfiguration of {key} to the invalid value {invalid_value} sent"
            )
        if not unknown:
            findings.fail("No ChangeConfiguration of an unknown key sent")
    return findings.judgement(measurements)


def _check_read_back(
    context: StepContext,
    key: str,
    applied: Exchange,
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    value = str(applied.request.get("value"))
    measurements["value_set"] = value
    reads = [
        r
        for r in exchanges(context.frames, "GetConfiguration")
        if is_after(r.call, applied.last) and key in listed_keys(r)
    ]
    if not reads:
        findings.fail(
            f"{key} was not read back with GetConfiguration after it was set to {value}",
            applied.last,
        )
        return
    read = listed_keys(reads[-1])[key]
    measurements["value_read_back"] = read
    # An Accepted value read back as another one is worded by the check every step shares
    # (outcome.unapplied_configuration); RebootRequired is judged here.
    if applied.status != "Accepted" and not same_setting(value, read):
        rebooted = any(
            is_call(frame, "BootNotification", "in")
            for frame in between(context.frames, applied.last, reads[-1].call)
        )
        if applied.status == "RebootRequired" and not rebooted:
            # OCPP 1.6 §7.10 ConfigurationStatus RebootRequired: "change will be available
            # after reboot (Charge Point will not reboot itself)": the old value until then.
            findings.info(
                f"GetConfiguration read {key} as {read} before any reboot: the value "
                f"{value} answered RebootRequired applies after the next reboot",
                *reads[-1].frames,
            )
            return
        findings.fail(
            f"GetConfiguration after the change read {key} as {read} where {value} was set",
            *reads[-1].frames,
        )
