"""The full "OCPP 1.6-J charge point" plan: the default plan's 23 steps, then the OCTT
charge-point cases they leave out, for the Local Auth List Management, Reservation and Smart
Charging profiles and the remaining Core cases. Each new step has its prompts, pre-filled
commands, a judge rule (certification/judge/) and its OCTT ids and specification sections.

The cases of OCPP 1.6 this plan does not cover, and why, are listed in docs/plans.md.
"""

from __future__ import annotations

import copy
from typing import Any

from certification.default_plan import (
    NO_RFID_READER,
    RFID_READER,
    bench,
    cmd,
    fault,
    profile,
    profile_not_supported,
    send,
    status,
    until,
    wait,
)
from certification.default_plan import STEPS as DEFAULT_STEPS

PLAN_NAME = "OCPP 1.6-J: all feature profiles, charge point"
PLAN_DESCRIPTION = (
    "The default plan's 23 steps and the OCA compliance test cases for a charge point they "
    "leave out: Local Auth List Management, Reservation, Smart Charging and the remaining "
    "Core cases. Steps of a profile the charger does not declare are N/A."
)

CARD = "CERT-TAG-1"
# A card the portal does not know: it answers its StartTransaction Invalid.
UNKNOWN_CARD = "CERT-TAG-UNKNOWN"
BLOCKED_CARD = "CERT-TAG-BLOCKED"
# A card of the run whose parentIdTag (in the portal's answers) is GROUP.
GROUP = "CERT-GROUP"
GROUP_CARD = "CERT-TAG-CHILD"
# A reservation that expires a little after it is sent: the portal replaces the placeholder
# by the time the command leaves (chargers.transfers.PLACEHOLDERS), 30 s ahead by default.
EXPIRY_SOON = "{time:+30s}"
LATER = "{time:+1h}"


def _reason(name: str, words: str) -> dict[str, Any]:
    return {
        "applies_when": [profile(name)],
        "na_reasons": [profile_not_supported(name, words)],
    }


LOCAL_LIST = _reason("LocalAuthListManagement", "Local Auth List Management")
WITH_CARD = {"applies_when": [RFID_READER], "na_reasons": [NO_RFID_READER]}
UNKNOWN_OFFLINE = {
    "code": "no_unknown_offline_authorization",
    "text": "The charger does not start transactions offline for unknown cards "
    "(AllowOfflineTxForUnknownId not supported): none can be answered Invalid afterwards.",
}


NO_METER = {
    "code": "no_energy_meter",
    "text": "The charger has no energy meter: it has no meter data to align to the clock.",
}
NO_CONNECTOR_ZERO = {
    "code": "no_reserve_connector_zero",
    "text": "The charger does not support reserving connector 0 (ReserveConnectorZeroSupported).",
}


def _reserve(connector: int, reservation_id: int) -> dict[str, Any]:
    return {
        "connectorId": connector,
        "expiryDate": LATER,
        "idTag": CARD,
        "reservationId": reservation_id,
    }


def _setting(key: str, value: str, label: str | None = None) -> dict[str, Any]:
    return cmd(label or f"{key} {value}", "ChangeConfiguration", {"key": key, "value": value})


# Steps 37 and 38 start an offline transaction with UNKNOWN_CARD: a charger that cached the
# Invalid its StartTransaction was answered earlier (OCPP 1.6 §3.5.2: the cache is updated
# "when the Charge Point receives ... StartTransaction.conf") rightly refuses it offline
# (§3.5.4 Unknown Offline Authorization is for cards it does not know). The cache is cleared
# first, so either step may run after the other, or again.
CLEAR_CACHE = cmd("Clear cache", "ClearCache", {})

RESERVATION = _reason("Reservation", "Reservation")
SMART_CHARGING = _reason("SmartCharging", "Smart Charging")


def _profile(purpose: str, limit: float, unit: str = "W", **extra: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": extra.pop("chargingProfileId", 1),
        "stackLevel": extra.pop("stackLevel", 0),
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute" if "startSchedule" in extra else "Relative",
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            **({"startSchedule": extra.pop("startSchedule")} if "startSchedule" in extra else {}),
        },
        **extra,
    }


NOW = "{time:+0s}"


def _absolute(
    purpose: str,
    profile_id: int,
    stack: int,
    periods: list[tuple[int, float]],
    duration: int | None = None,
    **validity: str,
) -> dict[str, Any]:
    """An Absolute profile starting when the command is sent, limits in W."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": "W",
        "startSchedule": NOW,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": limit} for s, limit in periods],
    }
    if duration is not None:
        schedule["duration"] = duration
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule,
        **validity,
    }


def _set_absolute(label: str, connector: int, profile: dict[str, Any]) -> dict[str, Any]:
    return cmd(
        label, "SetChargingProfile", {"connectorId": connector, "csChargingProfiles": profile}
    )


NEW_STEPS: list[dict[str, Any]] = [
    {
        "profile": "Local Auth List Management",
        "title": "Local list - version and full update",
        "description": "The list's version before and after a full SendLocalList.",
        "expected_sequence": "GetLocalListVersion → listVersion → SendLocalList(Full, 1, two "
        "cards) → Accepted → GetLocalListVersion → 1.",
        "commands": [
            cmd("List version", "GetLocalListVersion", {}),
            cmd(
                "Full list, version 1",
                "SendLocalList",
                {
                    "listVersion": 1,
                    "updateType": "Full",
                    "localAuthorizationList": [
                        {"idTag": CARD, "idTagInfo": {"status": "Accepted"}},
                        {"idTag": BLOCKED_CARD, "idTagInfo": {"status": "Blocked"}},
                    ],
                },
            ),
            cmd("List version again", "GetLocalListVersion", {}),
        ],
        "judge_rule": "local_list_full",
        "octt": ["TC_042_2", "TC_043"],
        "spec": ["5.10 Get Local List Version", "5.15 Send Local List"],
        **LOCAL_LIST,
    },
    {
        "profile": "Local Auth List Management",
        "title": "Local list - differential update and version mismatch",
        "description": "A differential update applies; one with a stale version is refused.",
        "expected_sequence": "SendLocalList(Differential, 2: add a card, remove one) → Accepted "
        "→ SendLocalList(Differential, 2 again) → VersionMismatch → GetLocalListVersion → 2.",
        "commands": [
            cmd(
                "Differential, version 2",
                "SendLocalList",
                {
                    "listVersion": 2,
                    "updateType": "Differential",
                    "localAuthorizationList": [
                        {"idTag": "CERT-TAG-2", "idTagInfo": {"status": "Accepted"}},
                        {"idTag": BLOCKED_CARD},
                    ],
                },
            ),
            cmd(
                "Stale version 2 again",
                "SendLocalList",
                {
                    "listVersion": 2,
                    "updateType": "Differential",
                    "localAuthorizationList": [
                        {"idTag": "CERT-TAG-3", "idTagInfo": {"status": "Accepted"}}
                    ],
                },
            ),
            cmd("List version", "GetLocalListVersion", {}),
        ],
        "judge_rule": "local_list_differential",
        "octt": ["TC_043", "TC_043_2"],
        "spec": ["5.15 Send Local List", "5.10 Get Local List Version"],
        **LOCAL_LIST,
    },
    {
        "profile": "Local Auth List Management",
        "title": "Local list - a listed card starts without Authorize",
        "description": "With LocalPreAuthorize, a card Accepted in the list starts at once.",
        "manual_actions": "Send LocalPreAuthorize true and the list below.\n"
        "Plug in the cable.\nPresent the listed card.\nPresent it again to stop; unplug.",
        "expected_sequence": "ChangeConfiguration(LocalPreAuthorize, true) → SendLocalList → "
        "Accepted → [card] → StartTransaction with no Authorize.req before it.",
        "commands": [
            cmd(
                "LocalPreAuthorize true",
                "ChangeConfiguration",
                {"key": "LocalPreAuthorize", "value": "true"},
            ),
            cmd(
                "List with the card",
                "SendLocalList",
                {
                    "listVersion": 10,
                    "updateType": "Full",
                    "localAuthorizationList": [
                        {"idTag": CARD, "idTagInfo": {"status": "Accepted"}}
                    ],
                },
            ),
        ],
        "judge_rule": "local_list_authorizes",
        "octt": ["TC_008_1"],
        "spec": ["Local Authorization & Offline Behavior", "4.8 Start Transaction"],
        **LOCAL_LIST,
    },
    {
        "profile": "Reservation",
        "title": "Reservation - reserved connector used by the reserving card",
        "description": "ReserveNow, SN Reserved, then a session carrying the reservationId.",
        "manual_actions": "Send the reservation.\nPresent the reserving card.\nPlug in.\n"
        "Stop the session and unplug.",
        "expected_sequence": "ReserveNow(1, card, 101) → Accepted → SN Reserved → "
        "StartTransaction with reservationId 101 → SN Charging.",
        "commands": [
            cmd(
                "Reserve connector 1",
                "ReserveNow",
                {"connectorId": 1, "expiryDate": LATER, "idTag": CARD, "reservationId": 101},
            )
        ],
        "judge_rule": "reserve_now_start",
        "octt": ["TC_046_1"],
        "spec": ["5.13 Reserve Now", "4.8 Start Transaction", "4.9 Status Notification"],
        **RESERVATION,
    },
    {
        "profile": "Reservation",
        "title": "Reservation - expiry",
        "description": "A reservation that runs out frees its connector.",
        "manual_actions": "Send the reservation and wait until it expires (30 s).",
        "expected_sequence": "ReserveNow(expiryDate in 30 s) → Accepted → SN Reserved → at "
        "expiryDate SN Available; no StartTransaction uses the reservation.",
        "commands": [
            cmd(
                "Reserve for 30 s",
                "ReserveNow",
                {
                    "connectorId": 1,
                    "expiryDate": EXPIRY_SOON,
                    "idTag": CARD,
                    "reservationId": 102,
                },
            )
        ],
        "judge_rule": "reservation_expiry",
        "octt": ["TC_047"],
        "spec": ["5.13 Reserve Now", "4.9 Status Notification"],
        **RESERVATION,
    },
    {
        "profile": "Reservation",
        "title": "Reservation - cancel, and cancel an unknown reservation",
        "description": "CancelReservation frees the connector; an unknown id is Rejected.",
        "expected_sequence": "ReserveNow → Accepted → SN Reserved → CancelReservation(103) → "
        "Accepted → SN Available; CancelReservation(999) → Rejected.",
        "commands": [
            cmd(
                "Reserve connector 1",
                "ReserveNow",
                {"connectorId": 1, "expiryDate": LATER, "idTag": CARD, "reservationId": 103},
            ),
            cmd("Cancel it", "CancelReservation", {"reservationId": 103}),
            cmd("Cancel an unknown one", "CancelReservation", {"reservationId": 999}),
        ],
        "judge_rule": "cancel_reservation",
        "octt": ["TC_051", "TC_052"],
        "spec": ["5.1 Cancel Reservation", "5.13 Reserve Now"],
        **RESERVATION,
    },
    {
        "profile": "Smart Charging",
        "title": "Smart charging - TxDefaultProfile, composite schedule, clear",
        "description": "A default profile is read back in the composite schedule, then cleared.",
        "expected_sequence": "SetChargingProfile(0, TxDefaultProfile 6000 W) → Accepted → "
        "GetCompositeSchedule(1, 3600 s, W) → limit at most 6000 W → ClearChargingProfile(id) "
        "→ Accepted.",
        "commands": [
            cmd(
                "TxDefaultProfile 6 kW",
                "SetChargingProfile",
                {
                    "connectorId": 0,
                    "csChargingProfiles": _profile(
                        "TxDefaultProfile", 6000.0, chargingProfileId=201
                    ),
                },
            ),
            cmd(
                "Composite schedule",
                "GetCompositeSchedule",
                {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
            ),
            cmd("Clear it", "ClearChargingProfile", {"id": 201}),
        ],
        "judge_rule": "tx_default_profile",
        "octt": ["TC_056", "TC_066", "TC_067"],
        "spec": [
            "5.16 Set Charging Profile",
            "5.7 Get Composite Schedule",
            "5.5 Clear Charging Profile",
            "9.4 Smart Charging Profile",
        ],
        **SMART_CHARGING,
    },
    {
        "profile": "Smart Charging",
        "title": "Smart charging - TxProfile during a transaction, power follows",
        "description": "The charger's MeterValues show the power limited by the TxProfile.",
        "manual_actions": "Start a charging session on connector 1.\n"
        "Send the TxProfile with the session's transactionId.\n"
        "Let it charge for a few sample intervals.\nStop the session.",
        "expected_sequence": "SetChargingProfile(1, TxProfile 3000 W, transactionId) → Accepted "
        "→ MeterValues with Power.Active.Import at most 3000 W.",
        "commands": [
            cmd(
                "TxProfile 3 kW",
                "SetChargingProfile",
                {
                    "connectorId": 1,
                    "csChargingProfiles": _profile(
                        "TxProfile",
                        3000.0,
                        chargingProfileId=202,
                        transactionId="{transaction:ongoing}",
                    ),
                },
            )
        ],
        "judge_rule": "tx_profile",
        "octt": ["TC_057"],
        "spec": ["5.16 Set Charging Profile", "Smart Charging", "4.7 Meter Values"],
        **SMART_CHARGING,
    },
    {
        "profile": "Core",
        "title": "Configuration - read-only and unknown keys",
        "description": "A read-only key is refused, an unknown key is not supported.",
        "expected_sequence": "ChangeConfiguration(NumberOfConnectors) → Rejected; "
        "ChangeConfiguration(unknown key) → NotSupported; GetConfiguration([unknown key]) → "
        "unknownKey lists it.",
        "commands": [
            cmd(
                "Read-only key",
                "ChangeConfiguration",
                {"key": "NumberOfConnectors", "value": "9"},
            ),
            cmd(
                "Unknown key",
                "ChangeConfiguration",
                {"key": "CertPortalUnknownKey", "value": "1"},
            ),
            cmd("Read the unknown key", "GetConfiguration", {"key": ["CertPortalUnknownKey"]}),
        ],
        "judge_rule": "configuration_refusals",
        "octt": ["TC_040_1", "TC_040_2", "TC_019_2"],
        "spec": ["5.3 Change Configuration", "5.8 Get Configuration"],
    },
    {
        "profile": "Core",
        "title": "Unlock connector - no session, unknown connector",
        "description": "Unlocked (socket) or NotSupported (fixed cable); an unknown connector "
        "is never Unlocked.",
        "expected_sequence": "UnlockConnector(1) → Unlocked, or NotSupported on a fixed cable; "
        "UnlockConnector(99) → UnlockFailed or NotSupported.",
        "commands": [
            cmd("Unlock connector 1", "UnlockConnector", {"connectorId": 1}),
            cmd("Unlock connector 99", "UnlockConnector", {"connectorId": 99}),
        ],
        "judge_rule": "unlock_connector_idle",
        "octt": ["TC_017_1", "TC_017_2", "TC_031"],
        "spec": ["5.18 Unlock Connector"],
    },
    {
        "profile": "Core",
        "title": "Remote start and stop refused",
        "description": "A stop of no running transaction and a start on no connector are Rejected.",
        "expected_sequence": "RemoteStopTransaction(999999) → Rejected; "
        "RemoteStartTransaction(connector 99) → Rejected.",
        "commands": [
            cmd("Stop no transaction", "RemoteStopTransaction", {"transactionId": 999999}),
            cmd(
                "Start on connector 99",
                "RemoteStartTransaction",
                {"connectorId": 99, "idTag": CARD},
            ),
        ],
        "judge_rule": "remote_refusals",
        "octt": ["TC_026", "TC_028"],
        "spec": ["5.11 Remote Start Transaction", "5.12 Remote Stop Transaction"],
    },
    {
        "profile": "Core",
        "title": "DataTransfer - unknown vendor",
        "description": "A vendorId the charger does not know is answered UnknownVendorId.",
        "expected_sequence": "DataTransfer(vendorId org.example.unknown) → UnknownVendorId.",
        "commands": [
            cmd(
                "Unknown vendor",
                "DataTransfer",
                {"vendorId": "org.example.unknown", "messageId": "Probe"},
            )
        ],
        "judge_rule": "data_transfer_unknown_vendor",
        "octt": ["TC_062"],
        "spec": ["5.6 Data Transfer"],
    },
    {
        "profile": "Core",
        "title": "Offline transaction - started and stopped offline, replayed in order",
        "description": "A transaction started and stopped while the charger is offline reaches "
        "the portal after the reconnect: its start, its meter values, then its stop.",
        "manual_actions": "Send the configuration below.\nCut the charger's network.\n"
        "Present the accepted card and plug in the cable.\nAfter a few sample intervals "
        "present the card again and unplug.\nRestore the network.",
        "expected_sequence": "[offline: card, plug in, card, unplug] → reconnect → "
        "StartTransaction (timestamp while offline) → transactionId → queued MeterValues → "
        "StopTransaction of that transactionId (timestamp while offline, reason Local).",
        "commands": [
            _setting("LocalAuthorizeOffline", "true"),
            _setting(
                "AllowOfflineTxForUnknownId",
                "true",
                "AllowOfflineTxForUnknownId true (if implemented)",
            ),
        ],
        "judge_rule": "offline_transaction",
        "octt": ["TC_039"],
        "spec": [
            "Local Authorization & Offline Behavior",
            "4.8 Start Transaction",
            "4.10 Stop Transaction",
        ],
        **WITH_CARD,
    },
    {
        "profile": "Core",
        "title": "StopTransactionOnInvalidId - a transaction answered Invalid stops",
        "description": "A transaction started offline with a card the portal does not know is "
        "stopped DeAuthorized once its StartTransaction is answered Invalid.",
        "manual_actions": "Clear the cache and send the configuration below.\nCut the "
        "charger's network.\n"
        f"Present a card the portal does not know ({UNKNOWN_CARD}) and plug in the cable.\n"
        "Restore the network: the portal answers the StartTransaction Invalid.\n"
        "Wait for the charger to stop the transaction; unplug.",
        "expected_sequence": "[offline: unknown card, plug in] → reconnect → StartTransaction "
        "→ idTagInfo Invalid → StopTransaction of that transactionId with reason "
        "DeAuthorized.",
        "commands": [
            CLEAR_CACHE,
            _setting("StopTransactionOnInvalidId", "true"),
            _setting("AllowOfflineTxForUnknownId", "true"),
            _setting("LocalAuthorizeOffline", "true"),
        ],
        "judge_rule": "stop_transaction_on_invalid_id",
        "octt": ["TC_037_3"],
        "spec": [
            "Unknown Offline Authorization",
            "4.8 Start Transaction",
            "4.10 Stop Transaction",
        ],
        "applies_when": [
            RFID_READER,
            {
                "fact": "AllowOfflineTxForUnknownId",
                "is_not": "unsupported",
                "na_reason": UNKNOWN_OFFLINE["code"],
            },
        ],
        "na_reasons": [NO_RFID_READER, UNKNOWN_OFFLINE],
    },
    {
        "profile": "Core",
        "title": "StopTransactionOnInvalidId false - a transaction answered Invalid goes on",
        "description": "With StopTransactionOnInvalidId false, a transaction started offline "
        "with a card the portal does not know is not stopped DeAuthorized.",
        "manual_actions": "Clear the cache and send the configuration below.\nCut the "
        "charger's network.\n"
        f"Present a card the portal does not know ({UNKNOWN_CARD}) and plug in the cable.\n"
        "Restore the network: the portal answers the StartTransaction Invalid.\nWait a few "
        "seconds: the transaction must not stop.\nPresent the card again to stop; unplug.",
        "expected_sequence": "[offline: unknown card, plug in] → reconnect → StartTransaction "
        "→ idTagInfo Invalid → no StopTransaction with reason DeAuthorized (the charger only "
        "stops the energy) → [card] → StopTransaction reason Local.",
        "commands": [
            CLEAR_CACHE,
            _setting("StopTransactionOnInvalidId", "false"),
            _setting("AllowOfflineTxForUnknownId", "true"),
            _setting("LocalAuthorizeOffline", "true"),
        ],
        "judge_rule": "stop_transaction_on_invalid_id",
        "octt": ["TC_037_2"],
        "spec": [
            "Unknown Offline Authorization",
            "4.8 Start Transaction",
            "4.10 Stop Transaction",
        ],
        "applies_when": [
            RFID_READER,
            {
                "fact": "AllowOfflineTxForUnknownId",
                "is_not": "unsupported",
                "na_reason": UNKNOWN_OFFLINE["code"],
            },
        ],
        "na_reasons": [NO_RFID_READER, UNKNOWN_OFFLINE],
    },
    {
        "profile": "Local Auth List Management",
        "title": "Local list - used offline: a listed card starts, a blocked one does not",
        "description": "Offline, the Local Authorization List decides: its Accepted card starts "
        "a transaction, its Blocked card does not.",
        "manual_actions": "Send the configuration and the list below.\nCut the charger's "
        f"network.\nPresent the blocked card ({BLOCKED_CARD}): nothing may start.\n"
        "Present the listed card and plug in the cable.\nRestore the network while it "
        "charges.\nStop the session and unplug.",
        "expected_sequence": "SendLocalList(Full: the card Accepted, another Blocked) → "
        "Accepted → [offline: blocked card refused; listed card, plug in] → reconnect → "
        "StartTransaction for the listed card (timestamp while offline) → SN Charging.",
        "commands": [
            _setting("LocalAuthorizeOffline", "true"),
            _setting("AuthorizationCacheEnabled", "false", "Cache off (the list alone decides)"),
            cmd(
                "List: the card Accepted, another Blocked",
                "SendLocalList",
                {
                    "listVersion": 11,
                    "updateType": "Full",
                    "localAuthorizationList": [
                        {"idTag": CARD, "idTagInfo": {"status": "Accepted"}},
                        {"idTag": BLOCKED_CARD, "idTagInfo": {"status": "Blocked"}},
                    ],
                },
            ),
        ],
        "judge_rule": "local_list_offline",
        "octt": ["TC_037_1"],
        "spec": [
            "Local Authorization & Offline Behavior",
            "5.15 Send Local List",
            "4.8 Start Transaction",
        ],
        "applies_when": [profile("LocalAuthListManagement"), RFID_READER],
        "na_reasons": [
            profile_not_supported("LocalAuthListManagement", "Local Auth List Management"),
            NO_RFID_READER,
        ],
    },
    {
        "profile": "Reservation",
        "title": "Reservation - refused: occupied, unavailable, faulted",
        "description": "ReserveNow of a connector that cannot be reserved says why, and the "
        "connector is not reported Reserved.",
        "manual_actions": "Plug the cable into connector 1; send the first reservation.\n"
        "Unplug; send Inoperative, then the second reservation.\nSend Operative; cause a "
        "fault on connector 1 (as in the hardware fault step), then send the third "
        "reservation.\nClear the fault.",
        "expected_sequence": "[cable in] → ReserveNow(1) → Occupied; ChangeAvailability(1, "
        "Inoperative) → SN Unavailable → ReserveNow(1) → Unavailable; [fault] → SN Faulted → "
        "ReserveNow(1) → Faulted; no SN Reserved.",
        "commands": [
            cmd("Reserve while occupied", "ReserveNow", _reserve(1, 105)),
            cmd(
                "Connector 1 Inoperative",
                "ChangeAvailability",
                {"connectorId": 1, "type": "Inoperative"},
            ),
            cmd("Reserve while unavailable", "ReserveNow", _reserve(1, 106)),
            cmd(
                "Connector 1 Operative",
                "ChangeAvailability",
                {"connectorId": 1, "type": "Operative"},
            ),
            cmd("Reserve while faulted", "ReserveNow", _reserve(1, 107)),
        ],
        "judge_rule": "reserve_now_refusals",
        "octt": ["TC_048_1", "TC_048_2", "TC_048_3"],
        "spec": ["5.13 Reserve Now", "5.2 Change Availability", "4.9 Status Notification"],
        **RESERVATION,
    },
    {
        "profile": "Reservation",
        "title": "Reservation - connector 0 (the charge point) used by the reserving card",
        "description": "With ReserveConnectorZeroSupported, a reservation of the charge point "
        "is used by a session of the reserving card on any connector.",
        "manual_actions": "Send the reservation.\nPresent the reserving card.\nPlug in.\n"
        "Stop the session and unplug.",
        "expected_sequence": "ReserveNow(0, card, 108) → Accepted → StartTransaction with "
        "reservationId 108.",
        "commands": [cmd("Reserve the charge point", "ReserveNow", _reserve(0, 108))],
        "judge_rule": "reserve_now_start",
        "octt": ["TC_049"],
        "spec": ["5.13 Reserve Now", "4.8 Start Transaction"],
        "applies_when": [
            profile("Reservation"),
            {"fact": "reserve_connector_zero", "is": True, "na_reason": NO_CONNECTOR_ZERO["code"]},
        ],
        "na_reasons": [profile_not_supported("Reservation", "Reservation"), NO_CONNECTOR_ZERO],
    },
    {
        "profile": "Reservation",
        "title": "Reservation - used by another card of the reservation's parentIdTag",
        "description": "A connector reserved with a parentIdTag is used by another card of "
        "that group.",
        "manual_actions": f"Give the run a card {GROUP_CARD} whose parentIdTag is {GROUP}.\n"
        f"Send the reservation.\nPresent {GROUP_CARD} at connector 1.\nPlug in.\nStop the "
        "session and unplug.",
        "expected_sequence": f"ReserveNow(1, {CARD}, 109, parentIdTag {GROUP}) → Accepted → SN "
        f"Reserved → Authorize({GROUP_CARD}) → Accepted, parentIdTag {GROUP} → "
        "StartTransaction with reservationId 109.",
        "commands": [
            cmd(
                "Reserve for the group",
                "ReserveNow",
                _reserve(1, 109) | {"parentIdTag": GROUP},
            )
        ],
        "judge_rule": "reserve_now_start",
        "octt": ["TC_053_1"],
        "spec": ["5.13 Reserve Now", "4.8 Start Transaction"],
        **RESERVATION,
    },
    {
        "profile": "Core",
        "title": "Clock-aligned meter data",
        "description": "With ClockAlignedDataInterval set, MeterValues of context Sample.Clock "
        "arrive on the interval's boundaries, counted from midnight.",
        "manual_actions": "Send the aligned measurands and the interval below.\nWait at least "
        "two intervals (a session may run, it need not).\nSend the interval 0 to stop them.",
        "expected_sequence": "ChangeConfiguration(MeterValuesAlignedData) and "
        "(ClockAlignedDataInterval 60) → Accepted → MeterValues with context Sample.Clock "
        "timestamped hh:mm:00, every 60 s, with the aligned measurands → "
        "ClockAlignedDataInterval 0.",
        "commands": [
            _setting(
                "MeterValuesAlignedData", "Energy.Active.Import.Register", "Aligned measurands"
            ),
            _setting("ClockAlignedDataInterval", "60", "Clock-aligned every 60 s"),
            _setting("ClockAlignedDataInterval", "0", "Stop clock-aligned data"),
        ],
        "judge_rule": "clock_aligned_meter_values",
        "octt": ["TC_071"],
        "spec": [
            "9.1 Core Profile: ClockAlignedDataInterval, MeterValuesAlignedData",
            "4.7 Meter Values",
        ],
        "applies_when": [{"fact": "energy_meter", "is": True, "na_reason": NO_METER["code"]}],
        "na_reasons": [NO_METER],
    },
    {
        "profile": "Smart Charging",
        "title": "Smart charging - stack levels, validity periods and ChargePointMaxProfile",
        "description": "Two stacked TxDefaultProfiles, a ChargePointMaxProfile and a profile "
        "not valid yet, read back in the composite schedule.",
        "expected_sequence": "SetChargingProfile(1, TxDefaultProfile stack 0: 6, 8, 10 kW at "
        "0, 100, 200 s for 400 s) → Accepted → (stack 1: 4 kW for 150 s) → Accepted → "
        "SetChargingProfile(0, ChargePointMaxProfile 7 kW) → Accepted → (stack 2: 1 kW, valid "
        "from an hour later) → Accepted → GetCompositeSchedule(1, 400 s, W) → 4 kW until "
        "150 s, then 7 kW → ClearChargingProfile of the default and the max profiles.",
        "commands": [
            _set_absolute(
                "Stack 0: 6, 8, 10 kW",
                1,
                _absolute(
                    "TxDefaultProfile", 301, 0, [(0, 6000.0), (100, 8000.0), (200, 10000.0)], 400
                ),
            ),
            _set_absolute(
                "Stack 1: 4 kW for 150 s",
                1,
                _absolute(
                    "TxDefaultProfile",
                    302,
                    1,
                    [(0, 4000.0)],
                    150,
                    validFrom=NOW,
                    validTo="{time:+401s}",
                ),
            ),
            _set_absolute(
                "Charge point max 7 kW",
                0,
                _absolute("ChargePointMaxProfile", 303, 0, [(0, 7000.0)]),
            ),
            _set_absolute(
                "Stack 2: 1 kW, valid in an hour",
                1,
                _absolute("TxDefaultProfile", 304, 2, [(0, 1000.0)], validFrom=LATER),
            ),
            cmd(
                "Composite schedule",
                "GetCompositeSchedule",
                {"connectorId": 1, "duration": 400, "chargingRateUnit": "W"},
            ),
            cmd(
                "Clear the default profiles",
                "ClearChargingProfile",
                {"chargingProfilePurpose": "TxDefaultProfile"},
            ),
            cmd(
                "Clear the max profile",
                "ClearChargingProfile",
                {"chargingProfilePurpose": "ChargePointMaxProfile"},
            ),
        ],
        "judge_rule": "stacked_profiles",
        "octt": ["TC_072"],
        "spec": [
            "Smart Charging: Stacking charging profiles",
            "5.16 Set Charging Profile",
            "5.7 Get Composite Schedule",
        ],
        **SMART_CHARGING,
    },
    {
        "profile": "Smart Charging",
        "title": "Smart charging - TxProfile refused: no transaction, another transactionId",
        "description": "A TxProfile is refused when no transaction runs on its connector, and "
        "when it names another transaction.",
        "manual_actions": "With no session running, send the first profile.\nStart a charging "
        "session on connector 1 (card, cable).\nSend the second profile.\nStop the session "
        "and unplug.",
        "expected_sequence": "SetChargingProfile(1, TxProfile) → Rejected; [session] → "
        "SetChargingProfile(1, TxProfile, transactionId 999999) → Rejected.",
        "commands": [
            cmd(
                "TxProfile with no transaction",
                "SetChargingProfile",
                {
                    "connectorId": 1,
                    "csChargingProfiles": _profile("TxProfile", 3000.0, chargingProfileId=205),
                },
            ),
            cmd(
                "TxProfile for another transaction",
                "SetChargingProfile",
                {
                    "connectorId": 1,
                    "csChargingProfiles": _profile(
                        "TxProfile", 3000.0, chargingProfileId=206, transactionId=999999
                    ),
                },
            ),
        ],
        "judge_rule": "tx_profile_refusals",
        "octt": ["TC_058_1", "TC_058_2"],
        "spec": ["5.16 Set Charging Profile", "Smart Charging"],
        **SMART_CHARGING,
    },
]


# Transaction messages the portal refuses on purpose (an injected CALLERROR): the retry
# interval is above the default 4 s tolerance, so a charger that resends at once is told.
RETRY_INTERVAL_S = 5

NEW_STEPS.append(
    {
        "profile": "Core",
        "title": "Transaction messages - StopTransaction refused, then retried",
        "description": "A StopTransaction the central system answers with a CALLERROR is "
        "resent as TransactionMessageAttempts and TransactionMessageRetryInterval say.",
        "manual_actions": "Send the two pre-filled ChangeConfiguration commands.\n"
        "Start a charging session (card, cable).\n"
        "Inject the fault: StopTransaction answered with CALLERROR InternalError, 2 times.\n"
        "Stop the session with the card; wait until the charger has sent its StopTransaction "
        f"a third time (about {RETRY_INTERVAL_S * 3} s) and reports Finishing (it may do so "
        "before).\nUnplug.",
        "expected_sequence": "ChangeConfiguration(TransactionMessageAttempts 3) and "
        f"(TransactionMessageRetryInterval {RETRY_INTERVAL_S}) → Accepted → StartTransaction → "
        "[the portal answers StopTransaction with CALLERROR InternalError twice] → "
        f"StopTransaction resent after {RETRY_INTERVAL_S} s, again after "
        f"{RETRY_INTERVAL_S * 2} s → accepted → SN Finishing.",
        "commands": [
            cmd(
                "Three attempts",
                "ChangeConfiguration",
                {"key": "TransactionMessageAttempts", "value": "3"},
            ),
            cmd(
                f"Retry after {RETRY_INTERVAL_S} s",
                "ChangeConfiguration",
                {"key": "TransactionMessageRetryInterval", "value": str(RETRY_INTERVAL_S)},
            ),
        ],
        "judge_rule": "transaction_message_retry",
        # No OCA 1.6 charge point case tests the retries (docs/plans.md).
        "octt": [],
        "spec": [
            "4.10 Stop Transaction",
            "3.7 Transaction-related messages",
            "9.1 Core Profile: TransactionMessageAttempts, TransactionMessageRetryInterval",
        ],
        "applies_when": [RFID_READER],
        "na_reasons": [NO_RFID_READER],
        "automation": [
            send("Three attempts"),
            send(f"Retry after {RETRY_INTERVAL_S} s"),
            bench("present_card", card="accepted"),
            bench("plug_in"),
            until(30, action="StartTransaction"),
            wait(2),
            fault("call_error", action="StopTransaction", error_code="InternalError", times=2),
            bench("present_card", card="accepted"),
            # The first StopTransaction and its two resends; a charger may report Finishing
            # when the session stops, before its StopTransaction is accepted (OCPP 1.6 §4.9:
            # the status is the connector's, not the message's), so that is not what ends
            # the wait.
            until(30, action="StopTransaction"),
            until(RETRY_INTERVAL_S + 30, action="StopTransaction"),
            until(RETRY_INTERVAL_S * 2 + 30, action="StopTransaction"),
            until(30, since="step", **status("Finishing")),
            bench("unplug"),
            until(30, **status("Available")),
        ],
    }
)


def steps() -> list[dict[str, Any]]:
    """The full plan's steps, in order: a copy (plans built from it must not share dicts)."""
    return copy.deepcopy(DEFAULT_STEPS + NEW_STEPS)
