"""Steps 3 and 4: reading and changing configuration keys."""

from __future__ import annotations

from typing import Any

import pytest

from certification.judge.configuration import REQUIRED_KEYS, change_configuration, get_configuration
from certification.judge.types import Finding, Frame, RunSettings
from tests.judge.frames import Wire


def listing(keys: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"configurationKey": [{"key": k, "readonly": False, "value": "1"} for k in keys]}


def full_wire(keys: tuple[str, ...] | list[str] = REQUIRED_KEYS["Core"]) -> Wire:
    wire = Wire()
    wire.command("GetConfiguration", {}, listing(keys))
    return wire


def test_get_configuration_passes_with_every_core_key_and_a_keyed_read() -> None:
    wire = full_wire()
    wire.command(
        "GetConfiguration",
        {"key": ["HeartbeatInterval", "NoSuchKey"]},
        {
            "configurationKey": [{"key": "HeartbeatInterval", "value": "300"}],
            "unknownKey": ["NoSuchKey"],
        },
    )

    judgement = get_configuration(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "configuration": dict.fromkeys(REQUIRED_KEYS["Core"], "1"),
        "key_count": 21,
        "missing_keys": [],
    }


def test_get_configuration_names_each_missing_required_key() -> None:
    keys = [k for k in REQUIRED_KEYS["Core"] if k not in ("ConnectionTimeOut", "ResetRetries")]
    wire = full_wire(keys)
    wire.command("GetConfiguration", {"key": ["HeartbeatInterval"]}, listing(["HeartbeatInterval"]))

    judgement = get_configuration(wire.context())

    assert judgement.verdict == "N"
    assert judgement.measurements["missing_keys"] == ["ConnectionTimeOut", "ResetRetries"]
    assert judgement.measurements["key_count"] == 19
    listed = tuple(wire.exchange_ids(wire.frames[0]))
    assert judgement.findings == (
        Finding(
            "fail",
            "Required Core key ConnectionTimeOut missing from the GetConfiguration reply",
            listed,
        ),
        Finding(
            "fail", "Required Core key ResetRetries missing from the GetConfiguration reply", listed
        ),
    )


def test_get_configuration_checks_keys_of_every_supported_profile() -> None:
    wire = full_wire()
    wire.command("GetConfiguration", {"key": ["HeartbeatInterval"]}, listing(["HeartbeatInterval"]))
    settings = RunSettings(supported_profiles=("Core", "Smart Charging"))

    judgement = get_configuration(wire.context(settings))

    missing = [
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleAllowedChargingRateUnit",
        "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled",
    ]
    assert judgement.measurements["missing_keys"] == missing
    assert judgement.findings == tuple(
        Finding(
            "fail",
            f"Required SmartCharging key {key} missing from the GetConfiguration reply",
            wire.exchange_ids(wire.frames[0]),
        )
        for key in missing
    )


def test_get_configuration_fails_when_a_known_key_is_reported_unknown() -> None:
    wire = full_wire()
    wire.command(
        "GetConfiguration", {"key": ["HeartbeatInterval"]}, {"unknownKey": ["HeartbeatInterval"]}
    )

    judgement = get_configuration(wire.context())

    keyed = wire.frames[2]
    assert judgement.findings == (
        Finding(
            "fail",
            "GetConfiguration(HeartbeatInterval) reported HeartbeatInterval in unknownKey "
            "although the full listing has it",
            wire.exchange_ids(keyed),
        ),
    )


def test_get_configuration_needs_a_keyed_request_after_the_listing() -> None:
    judgement = get_configuration(full_wire().context())

    assert judgement.findings == (
        Finding("fail", "No GetConfiguration with a key list sent after the full listing"),
    )


def change(wire: Wire, key: str, value: str, answer: str) -> None:
    wire.command("ChangeConfiguration", {"key": key, "value": value}, {"status": answer})


def read_back(wire: Wire, key: str, value: str) -> Frame:
    """A GetConfiguration of `key` alone, which the charger answers with `value`; the call."""
    return wire.command(
        "GetConfiguration", {"key": [key]}, {"configurationKey": [{"key": key, "value": value}]}
    )


def set_and_read_back(wire: Wire, value_read: str) -> None:
    """Step 4's change of MeterValueSampleInterval to 30, Accepted, then read as `value_read`."""
    change(wire, "MeterValueSampleInterval", "30", "Accepted")
    read_back(wire, "MeterValueSampleInterval", value_read)


def passing_change_wire() -> Wire:
    wire = Wire()
    set_and_read_back(wire, "30")
    change(wire, "VendorMagicKey", "1", "NotSupported")
    change(wire, "MeterValueSampleInterval", "-1", "Rejected")
    return wire


def test_change_configuration_passes_when_the_value_reads_back() -> None:
    judgement = change_configuration(passing_change_wire().context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "key": "MeterValueSampleInterval",
        "value_set": "30",
        "value_read_back": "30",
        "invalid_value_answer": "Rejected",
        "unknown_key_answer": "NotSupported",
    }


def test_change_configuration_fails_when_the_read_back_differs() -> None:
    wire = Wire()
    set_and_read_back(wire, "60")

    judgement = change_configuration(wire.context(require_negative_cases=False))

    change_call, read = wire.frames[0], wire.frames[2]
    assert judgement.findings == (
        Finding(
            "fail",
            "ChangeConfiguration of MeterValueSampleInterval to 30 was answered Accepted, but "
            "GetConfiguration afterwards reads MeterValueSampleInterval as 60: the charger did "
            "not apply the value it accepted",
            (*wire.exchange_ids(change_call), wire.exchange_ids(read)[1]),
        ),
    )
    assert judgement.measurements == {
        "key": "MeterValueSampleInterval",
        "value_set": "30",
        "value_read_back": "60",
    }


def test_change_configuration_fails_when_the_unknown_key_is_accepted() -> None:
    wire = Wire()
    set_and_read_back(wire, "30")
    change(wire, "VendorMagicKey", "1", "Accepted")
    change(wire, "MeterValueSampleInterval", "-1", "Rejected")

    judgement = change_configuration(wire.context())

    unknown = wire.ids("ChangeConfiguration", "out")[1]
    assert judgement.findings == (
        Finding(
            "fail",
            "ChangeConfiguration of the unknown key VendorMagicKey answered Accepted where "
            "NotSupported was expected",
            (unknown, unknown + 1),
        ),
    )
    assert judgement.measurements["unknown_key_answer"] == "Accepted"


def test_change_configuration_accepts_property_constraint_violation_for_the_invalid_value() -> None:
    wire = Wire()
    set_and_read_back(wire, "30")
    change(wire, "VendorMagicKey", "1", "NotSupported")
    probe = wire.call_out("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "-1"})
    wire.error_in(probe, "PropertyConstraintViolation")

    judgement = change_configuration(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["invalid_value_answer"] == "CALLERROR PropertyConstraintViolation"


def test_change_configuration_fails_when_the_invalid_value_is_accepted() -> None:
    wire = Wire()
    change(wire, "MeterValueSampleInterval", "-1", "Accepted")

    judgement = change_configuration(wire.context(require_negative_cases=False))

    assert judgement.findings == (
        Finding("fail", "No ChangeConfiguration of MeterValueSampleInterval sent to the charger"),
        Finding(
            "fail",
            "ChangeConfiguration of MeterValueSampleInterval to the invalid value -1 answered "
            "Accepted where Rejected or CALLERROR PropertyConstraintViolation was expected",
            wire.exchange_ids(wire.frames[0]),
        ),
    )
    assert judgement.measurements == {
        "key": "MeterValueSampleInterval",
        "invalid_value_answer": "Accepted",
    }


def test_change_configuration_takes_the_key_as_a_param() -> None:
    wire = Wire()
    change(wire, "HeartbeatInterval", "120", "RebootRequired")
    read_back(wire, "HeartbeatInterval", "120")

    judgement = change_configuration(
        wire.context(key="HeartbeatInterval", require_negative_cases=False)
    )

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info",
            "ChangeConfiguration of HeartbeatInterval to 120 answered RebootRequired: the value "
            "applies after a reboot",
        ),
    )
    assert judgement.measurements == {
        "key": "HeartbeatInterval",
        "value_set": "120",
        "value_read_back": "120",
    }


def test_change_configuration_requires_the_negative_probes_by_default() -> None:
    wire = Wire()
    set_and_read_back(wire, "30")

    judgement = change_configuration(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "No ChangeConfiguration of MeterValueSampleInterval to the invalid value -1 sent",
        ),
        Finding("fail", "No ChangeConfiguration of an unknown key sent"),
    )


def test_change_configuration_fails_without_a_read_back() -> None:
    wire = Wire()
    change(wire, "MeterValueSampleInterval", "30", "Accepted")

    judgement = change_configuration(wire.context(require_negative_cases=False))

    assert judgement.findings == (
        Finding(
            "fail",
            "MeterValueSampleInterval was not read back with GetConfiguration after it was set "
            "to 30",
            (wire.exchange_ids(wire.frames[0])[1],),
        ),
    )


# OCPP 1.6 §9.1-9.4: the keys each profile requires, spelled out from the specification (not
# from the module under test), in the specification's order.
SPEC_REQUIRED = {
    "Core": [
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
    ],
    "LocalAuthListManagement": [
        "LocalAuthListEnabled",
        "LocalAuthListMaxLength",
        "SendLocalListMaxLength",
    ],
    "SmartCharging": [
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleAllowedChargingRateUnit",
        "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled",
    ],
}
# The optional keys of OCPP 1.6 and of its security whitepaper.
SPEC_OPTIONAL = [
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
]


def test_an_empty_listing_misses_every_key_of_every_supported_profile() -> None:
    """Profiles named as the plan spells them ("Local Auth List Management", "Smart-Charging")
    are the specification's; the profiles without required keys add none."""
    wire = full_wire([])
    wire.command("GetConfiguration", {"key": ["HeartbeatInterval"]}, listing([]))
    settings = RunSettings(
        supported_profiles=(
            "Core",
            "Local Auth List Management",
            "Smart-Charging",
            "Firmware Management",
            "Reservation",
            "RemoteTrigger",
            "Core",
        )
    )

    judgement = get_configuration(wire.context(settings))

    expected = [(profile, key) for profile, keys in SPEC_REQUIRED.items() for key in keys]
    assert judgement.measurements["missing_keys"] == [key for _, key in expected]
    assert [f.message for f in judgement.findings] == [
        f"Required {profile} key {key} missing from the GetConfiguration reply"
        for profile, key in expected
    ]


@pytest.mark.parametrize(
    "key",
    [
        key
        for keys in SPEC_REQUIRED.values()
        for key in keys
        if key != "MeterValueSampleInterval"  # the key the step changes
    ]
    + SPEC_OPTIONAL,
)
def test_a_key_ocpp_defines_is_no_unknown_key_probe(key: str) -> None:
    """The unknown-key probe needs a key OCPP 1.6 does not define (TC_040)."""
    wire = passing_change_wire()
    wire.frames[:] = [f for f in wire.frames if "VendorMagicKey" not in str(f.payload)]
    change(wire, key, "1", "NotSupported")

    judgement = change_configuration(wire.context())

    assert judgement.findings == (Finding("fail", "No ChangeConfiguration of an unknown key sent"),)


def test_a_step_without_get_configuration_fails_saying_so() -> None:
    wire = Wire()
    wire.heartbeat()

    judgement = get_configuration(wire.context())

    assert judgement.findings == (Finding("fail", "No GetConfiguration sent to the charger"),)
    assert judgement.measurements == {}


def test_a_refused_full_listing_reads_no_key() -> None:
    wire = Wire()
    full = wire.call_out("GetConfiguration", {})
    wire.error_in(full, "InternalError")
    wire.command("GetConfiguration", {"key": ["HeartbeatInterval"]}, listing(["HeartbeatInterval"]))

    judgement = get_configuration(wire.context())

    assert judgement.findings[0] == Finding(
        "fail",
        "GetConfiguration without keys answered CALLERROR InternalError",
        wire.exchange_ids(full),
    )
    assert len(judgement.findings) == 1 + len(SPEC_REQUIRED["Core"])
    assert judgement.measurements["key_count"] == 0


def test_only_a_keyed_request_leaves_the_full_listing_unread() -> None:
    wire = Wire()
    wire.command("GetConfiguration", {"key": ["HeartbeatInterval"]}, listing(["HeartbeatInterval"]))

    judgement = get_configuration(wire.context())

    assert judgement.findings == (
        Finding("fail", "No GetConfiguration without keys sent: the full key list was not read"),
    )
    assert judgement.measurements == {"configuration": {}, "key_count": 0}


def test_every_keyed_request_and_every_known_key_in_it_is_judged() -> None:
    """A refused keyed request does not end the judging; an unknown key asked for (not in
    the listing) is skipped; a known key must come back with a value or in unknownKey.
    A listed entry without a key is ignored."""
    wire = Wire()
    core = listing(REQUIRED_KEYS["Core"])
    core["configurationKey"].append({"readonly": True, "value": "x"})
    wire.command("GetConfiguration", {}, core)
    refused = wire.call_out("GetConfiguration", {"key": ["HeartbeatInterval"]})
    wire.error_in(refused, "NotSupported")
    mixed = wire.command(
        "GetConfiguration",
        {"key": ["NoSuchKey", "HeartbeatInterval", "ConnectionTimeOut"]},
        {"configurationKey": [], "unknownKey": ["NoSuchKey", "HeartbeatInterval"]},
    )

    judgement = get_configuration(wire.context())

    what = "GetConfiguration(NoSuchKey, HeartbeatInterval, ConnectionTimeOut)"
    assert judgement.findings == (
        Finding(
            "fail",
            "GetConfiguration(HeartbeatInterval) answered CALLERROR NotSupported",
            wire.exchange_ids(refused),
        ),
        Finding(
            "fail",
            f"{what} reported HeartbeatInterval in unknownKey although the full listing has it",
            wire.exchange_ids(mixed),
        ),
        Finding(
            "fail",
            f"{what} returned neither a value nor unknownKey for the known key ConnectionTimeOut",
            wire.exchange_ids(mixed),
        ),
    )
    assert judgement.measurements["key_count"] == 21


def test_the_probes_follow_the_invalid_value_and_unknown_key_params() -> None:
    wire = Wire()
    set_and_read_back(wire, "30")
    change(wire, "VendorMagicKey", "1", "Accepted")
    change(wire, "LabUnknownKey", "1", "NotSupported")
    change(wire, "MeterValueSampleInterval", "0", "Rejected")

    judgement = change_configuration(wire.context(invalid_value="0", unknown_key="LabUnknownKey"))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "key": "MeterValueSampleInterval",
        "value_set": "30",
        "value_read_back": "30",
        "invalid_value_answer": "Rejected",
        "unknown_key_answer": "NotSupported",
    }


def test_a_vendor_key_the_charger_listed_is_no_unknown_key() -> None:
    wire = Wire()
    wire.command("GetConfiguration", {}, listing(["VendorMagicKey"]))
    set_and_read_back(wire, "30")
    change(wire, "VendorMagicKey", "1", "Accepted")
    change(wire, "MeterValueSampleInterval", "-1", "Rejected")

    judgement = change_configuration(wire.context())

    assert judgement.findings == (Finding("fail", "No ChangeConfiguration of an unknown key sent"),)


@pytest.mark.parametrize("rebooted", [False, True])
def test_a_reboot_required_value_read_back_as_the_old_one_is_fine_until_a_reboot(
    rebooted: bool,
) -> None:
    """OCPP 1.6 §7.10 RebootRequired: "change will be available after reboot (Charge Point
    will not reboot itself)"; after a reboot the old value is a fail."""
    wire = Wire()
    change(wire, "HeartbeatInterval", "120", "RebootRequired")
    if rebooted:
        wire.boot()
    read = read_back(wire, "HeartbeatInterval", "300")

    judgement = change_configuration(
        wire.context(key="HeartbeatInterval", require_negative_cases=False)
    )

    assert judgement.findings[1:] == (
        (
            Finding(
                "fail",
                "GetConfiguration after the change read HeartbeatInterval as 300 where 120 was set",
                wire.exchange_ids(read),
            )
            if rebooted
            else Finding(
                "info",
                "GetConfiguration read HeartbeatInterval as 300 before any reboot: the value 120 "
                "answered RebootRequired applies after the next reboot",
                wire.exchange_ids(read),
            )
        ),
    )
    assert judgement.measurements["value_read_back"] == "300"
