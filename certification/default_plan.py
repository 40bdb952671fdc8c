"""The default plan: the seed report's 23 steps (titles and profiles word for word), with
what the engineer does, what is expected on the wire (OCPP 1.6 edition 2 and the OCA
compliance test cases named in brackets), the commands the step typically needs, and the
judge rule that proposes its verdict."""

from __future__ import annotations

from typing import Any

PLAN_NAME = "OCPP 1.6-J: Core, Firmware Management, Remote Trigger"
PLAN_DESCRIPTION = (
    "The 23 steps of a CSMS operator's acceptance test of a charge station over OCPP 1.6-J, "
    "traced to the Open Charge Alliance's compliance test cases for a charge point."
)

# Placeholders are replaced when the command is sent (chargers.transfers.PLACEHOLDERS): by
# locations the portal hosts for the run (unguessable, expiring, recorded as evidence), and
# by the transactionId of the session running at that moment.
PAST = "2020-01-01T00:00:00Z"


def cmd(label: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "action": action, "payload": payload}


def trigger(kind: str, connector: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"requestedMessage": kind}
    if connector is not None:
        payload["connectorId"] = connector
    label = f"Trigger {kind}" + (f" (connector {connector})" if connector is not None else "")
    return cmd(label, "TriggerMessage", payload)


# What an unattended run does in each step (certification.unattended, docs/unattended-runs.md):
# bench actions through the lab's hook (docs/bench-hook.md), faults the portal injects, the
# step's commands by label, and waits, either fixed or until a charger's message arrives.


def bench(action: str, **arguments: Any) -> dict[str, Any]:
    return {"bench": action, **arguments}


def send(label: str) -> dict[str, Any]:
    return {"command": label}


def until(timeout: float | dict[str, float], **match: Any) -> dict[str, Any]:
    return {"until": match, "timeout": timeout}


def wait(seconds: float | dict[str, float]) -> dict[str, Any]:
    return {"wait": seconds}


def fault(kind: str, **fields: Any) -> dict[str, Any]:
    return {"fault": kind, **fields}


def status(name: str | list[str], connector: int = 1) -> dict[str, Any]:
    return {"action": "StatusNotification", "status": name, "connectorId": connector}


def session_with_reset(kind: str) -> list[dict[str, Any]]:
    """Steps 9 and 11: charge, reset, wait for the charger to be back, unplug."""
    return [
        bench("present_card", card="accepted"),
        bench("plug_in"),
        until(30, action="StartTransaction"),
        wait(2),
        send(f"{kind} reset"),
        until(120, action="BootNotification"),
        until(30, **status(["Finishing", "Preparing", "Available"])),
        wait(2),
        bench("unplug"),
        until(30, **status("Available")),
    ]


def idle_reset(kind: str) -> list[dict[str, Any]]:
    """Steps 10 and 12: reset, wait for the charger to be back and report its connectors."""
    return [
        send(f"{kind} reset"),
        until(120, action="BootNotification"),
        until(30, **status(["Available", "Unavailable"])),
        wait(2),
    ]


# Applicability conditions (certification.applicability) and the N/A reasons they give
# (TestStep.na_reasons: the report prints the text).
FIXED_CABLE = {
    "code": "fixed_cable",
    "text": "The charger has a fixed cable: there is no socket lock to release.",
}
SOCKET_OUTLET = {"fact": "outlet", "is": "socket", "na_reason": "fixed_cable"}
NO_RFID_READER = {
    "code": "no_rfid_reader",
    "text": "The charger has no RFID reader to present a card at.",
}
RFID_READER = {"fact": "rfid_reader", "is": True, "na_reason": "no_rfid_reader"}


def profile_not_supported(name: str, words: str) -> dict[str, Any]:
    """The N/A reason of a step whose feature profile the charger does not support."""
    return {
        "code": f"no_{name}",
        "text": f"The charger does not support the {words} profile.",
    }


def profile(name: str) -> dict[str, Any]:
    """The step needs a feature profile the charger may not support (OCPP 1.6 §3.1)."""
    return {"fact": "profiles", "includes": name, "na_reason": f"no_{name}"}


# Each step names the OCA compliance test cases for a charge point it covers ("octt": the
# TC_xxx_CS ids without the suffix) and the OCPP 1.6 edition 2 sections it checks ("spec").
STEPS: list[dict[str, Any]] = [
    {
        "profile": "Core",
        "title": "Boot charging station",
        "octt": ["TC_001", "TC_002"],
        "spec": ["4.2 Boot Notification", "4.9 Status Notification", "4.6 Heartbeat"],
        "description": "The charge station boots, is accepted and reports every connector. "
        "[TC_001, TC_002]",
        "manual_actions": "Power-cycle the charge station.\n"
        "Wait until every connector reports a status and a Heartbeat arrives.\n"
        "Or send the pre-filled TriggerMessage: a triggered BootNotification is not a reboot, "
        "so it is judged as a triggered boot and no StatusNotifications need follow it.",
        "expected_sequence": "BootNotification → Accepted with interval → StatusNotification "
        "Available for connector 0 and every connector → Heartbeat every interval seconds. "
        "Vendor, model, serial, firmware and ICCID are recorded from the BootNotification.",
        "commands": [trigger("BootNotification")],
        "judge_rule": "boot",
        "automation": [
            bench("power_cycle"),
            until(120, action="BootNotification"),
            until({"heartbeat_intervals": 1.5}, action="Heartbeat"),
        ],
        # The charger may be powered off when the step starts.
        "start_checks": ["no_transaction"],
    },
    {
        "profile": "Core",
        "title": "Change availability",
        "octt": ["TC_013", "TC_014", "TC_034"],
        "spec": ["5.2 Change Availability", "4.9 Status Notification"],
        "description": "The connector follows ChangeAvailability. [TC_013, TC_014, TC_034]",
        "expected_sequence": "ChangeAvailability(1, Inoperative) → Accepted → StatusNotification "
        "Unavailable; ChangeAvailability(1, Operative) → Accepted → StatusNotification "
        "Available. During a transaction the answer is Scheduled.",
        "commands": [
            cmd(
                "Connector 1 Inoperative",
                "ChangeAvailability",
                {"connectorId": 1, "type": "Inoperative"},
            ),
            cmd(
                "Connector 1 Operative",
                "ChangeAvailability",
                {"connectorId": 1, "type": "Operative"},
            ),
        ],
        "judge_rule": "change_availability",
        "automation": [
            send("Connector 1 Inoperative"),
            until(30, **status("Unavailable")),
            send("Connector 1 Operative"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Get Configuration",
        "octt": ["TC_019_1", "TC_019_2"],
        "spec": ["5.8 Get Configuration", "9.1 Core Profile"],
        "description": "Every key required by the supported profiles is reported. [TC_019]",
        "expected_sequence": "GetConfiguration() lists every required key; GetConfiguration"
        "(key list) answers the known keys with unknownKey empty.",
        "commands": [
            cmd("All keys", "GetConfiguration", {}),
            cmd(
                "Some keys",
                "GetConfiguration",
                {"key": ["HeartbeatInterval", "MeterValueSampleInterval", "ConnectionTimeOut"]},
            ),
        ],
        "judge_rule": "get_configuration",
        "automation": [send("All keys"), send("Some keys")],
    },
    {
        "profile": "Core",
        "title": "Change Configuration",
        "octt": ["TC_021", "TC_040_1", "TC_040_2"],
        "spec": ["5.3 Change Configuration", "9.1 Core Profile"],
        "description": "A changed key reads back; unknown keys and invalid values are refused. "
        "[TC_021, TC_040]",
        "expected_sequence": "ChangeConfiguration(MeterValueSampleInterval, 10) → Accepted and "
        "GetConfiguration reads 10 back; unknown key → NotSupported; value -1 → Rejected.",
        "commands": [
            cmd(
                "Set interval 10",
                "ChangeConfiguration",
                {"key": "MeterValueSampleInterval", "value": "10"},
            ),
            cmd("Read it back", "GetConfiguration", {"key": ["MeterValueSampleInterval"]}),
            cmd(
                "Unknown key", "ChangeConfiguration", {"key": "CertPortalUnknownKey", "value": "1"}
            ),
            cmd(
                "Invalid value",
                "ChangeConfiguration",
                {"key": "MeterValueSampleInterval", "value": "-1"},
            ),
        ],
        "judge_rule": "change_configuration",
        "automation": [
            send("Set interval 10"),
            send("Read it back"),
            send("Unknown key"),
            send("Invalid value"),
        ],
    },
    {
        "profile": "Core",
        "title": "Heartbeat",
        "octt": ["TC_001"],
        "spec": ["4.6 Heartbeat", "9.1 Core Profile: HeartbeatInterval"],
        "description": "Heartbeats arrive at the configured interval. [TC_001 step 7]",
        "manual_actions": "Leave the charge station idle for at least three heartbeat intervals.",
        "expected_sequence": "Heartbeat every HeartbeatInterval seconds (a charger may skip one "
        "when it sent another message within the interval). The observed intervals are reported.",
        "commands": [trigger("Heartbeat")],
        "judge_rule": "heartbeat",
        "automation": [wait({"heartbeat_intervals": 3.5})],
    },
    {
        "profile": "Core",
        "title": "Charging Session - Local - Plugin first",
        "octt": ["TC_003", "TC_068"],
        "spec": [
            "4.1 Authorize",
            "4.8 Start Transaction",
            "4.7 Meter Values",
            "4.10 Stop Transaction",
        ],
        "applies_when": [RFID_READER],
        "na_reasons": [NO_RFID_READER],
        "description": "A local session, cable first. [TC_003, TC_068]",
        "manual_actions": "Plug in the cable.\nPresent an accepted card.\n"
        "Let it charge for a few sample intervals.\nPresent the same card.\nUnplug.",
        "expected_sequence": "SN Preparing → Authorize → Accepted → StartTransaction + SN Charging "
        "→ MeterValues → StopTransaction (reason Local) + SN Finishing → SN Available.",
        "judge_rule": "local_plugin_first",
        "automation": [
            bench("plug_in"),
            until(30, **status("Preparing")),
            bench("present_card", card="accepted"),
            until(30, action="StartTransaction"),
            until(30, action="MeterValues"),
            bench("present_card", card="accepted"),
            until(30, action="StopTransaction"),
            bench("unplug"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Charging Session - Local - Identification first - Connection Loss",
        "octt": ["TC_004_1", "TC_036", "TC_038"],
        "spec": [
            "4.8 Start Transaction",
            "4.7 Meter Values",
            "4.10 Stop Transaction",
            "Local Authorization & Offline Behavior",
        ],
        "applies_when": [RFID_READER],
        "na_reasons": [NO_RFID_READER],
        "description": "Meter values queued while offline arrive in order. "
        "[TC_004_1, TC_036, TC_038]",
        "manual_actions": "Present an accepted card.\nPlug in the cable.\n"
        "Cut the charger's network for at least three sample intervals.\n"
        "Optionally stop the session while offline.\nRestore the network.",
        "expected_sequence": "Authorize → SN Preparing → StartTransaction + SN Charging → "
        "connection lost → reconnect → queued MeterValues in chronological order before new "
        "ones → StopTransaction if stopped offline.",
        "commands": [
            cmd(
                "Sample every 5 s",
                "ChangeConfiguration",
                {"key": "MeterValueSampleInterval", "value": "5"},
            )
        ],
        "judge_rule": "local_id_first_connection_loss",
        "automation": [
            send("Sample every 5 s"),
            bench("present_card", card="accepted"),
            bench("plug_in"),
            until(30, action="StartTransaction"),
            wait(2),
            fault("disconnect", seconds=15),
            wait(8),
            bench("present_card", card="accepted"),
            until(120, connected=True),
            until(60, action="StopTransaction"),
            bench("unplug"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Charging session - Local - Identification first - Connection TimeOut",
        "octt": ["TC_004_2"],
        "spec": ["4.1 Authorize", "9.1 Core Profile: ConnectionTimeOut"],
        "applies_when": [RFID_READER],
        "na_reasons": [NO_RFID_READER],
        "description": "Without a cable the authorization lapses after ConnectionTimeOut. "
        "[TC_004_2]",
        "manual_actions": "Present an accepted card.\nDo not plug in; wait for the connector "
        "to return to Available.",
        "expected_sequence": "Authorize → SN Preparing → after ConnectionTimeOut seconds SN "
        "Available, no StartTransaction. The measured timeout is compared with the configured one.",
        "commands": [
            cmd(
                "Set ConnectionTimeOut 30",
                "ChangeConfiguration",
                {"key": "ConnectionTimeOut", "value": "30"},
            ),
            cmd("Read ConnectionTimeOut", "GetConfiguration", {"key": ["ConnectionTimeOut"]}),
        ],
        "judge_rule": "local_id_first_connection_timeout",
        "automation": [
            send("Set ConnectionTimeOut 30"),
            send("Read ConnectionTimeOut"),
            bench("present_card", card="accepted"),
            until(30, **status("Preparing")),
            until(100, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Hard Reset - During Charging session",
        "octt": ["TC_015"],
        "spec": ["5.14 Reset", "4.10 Stop Transaction", "4.2 Boot Notification"],
        "description": "A hard reset stops the session and reboots. [TC_015]",
        "manual_actions": "Start a charging session.\nSend the hard reset.",
        "expected_sequence": "Reset(Hard) → Accepted → StopTransaction reason HardReset → "
        "BootNotification → SN per connector (charging connector Finishing). Recommended: SN "
        "Unavailable during the reset.",
        "commands": [cmd("Hard reset", "Reset", {"type": "Hard"})],
        "judge_rule": "hard_reset_charging",
        "automation": session_with_reset("Hard"),
        # The session may be started before the step as well as in it.
        "start_checks": ["connected"],
    },
    {
        "profile": "Core",
        "title": "Hard Reset - No charging session",
        "octt": ["TC_013"],
        "spec": ["5.14 Reset", "4.2 Boot Notification"],
        "description": "An idle hard reset reboots once. [TC_013]",
        "expected_sequence": "Reset(Hard) → Accepted → BootNotification → SN Available per "
        "connector; an Inoperative connector stays Unavailable. Reboots are counted.",
        "commands": [cmd("Hard reset", "Reset", {"type": "Hard"})],
        "judge_rule": "hard_reset_idle",
        "automation": idle_reset("Hard"),
    },
    {
        "profile": "Core",
        "title": "Soft Reset - During Charging session",
        "octt": ["TC_016"],
        "spec": ["5.14 Reset", "4.10 Stop Transaction"],
        "description": "A soft reset stops the session. [TC_016]",
        "manual_actions": "Start a charging session.\nSend the soft reset.",
        "expected_sequence": "As step 9 with reason SoftReset; BootNotification is optional.",
        "commands": [cmd("Soft reset", "Reset", {"type": "Soft"})],
        "judge_rule": "soft_reset_charging",
        "automation": session_with_reset("Soft"),
        "start_checks": ["connected"],
    },
    {
        "profile": "Core",
        "title": "Soft Reset - No charging session",
        "octt": ["TC_014"],
        "spec": ["5.14 Reset"],
        "description": "An idle soft reset. [TC_014]",
        "expected_sequence": "As step 10; BootNotification optional.",
        "commands": [cmd("Soft reset", "Reset", {"type": "Soft"})],
        "judge_rule": "soft_reset_idle",
        "automation": idle_reset("Soft"),
    },
    {
        "profile": "Core",
        "title": "Charging session - Local - Unauthorized",
        "octt": ["TC_023_1", "TC_023_2", "TC_023_3"],
        "spec": ["4.1 Authorize"],
        "applies_when": [RFID_READER],
        "na_reasons": [NO_RFID_READER],
        "description": "An unknown or blocked card starts nothing. [TC_023]",
        "manual_actions": "Plug in the cable.\nPresent an unknown or blocked card.",
        "expected_sequence": "SN Preparing → Authorize → Invalid (or Blocked/Expired) → no "
        "StartTransaction.",
        "judge_rule": "local_unauthorized",
        "automation": [
            bench("plug_in"),
            until(30, **status("Preparing")),
            bench("present_card", card="rejected"),
            until(30, action="Authorize"),
            wait(2),
            bench("unplug"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Charging session - Remote Start and Stop Transaction - Cable first",
        "octt": ["TC_010", "TC_012"],
        "spec": [
            "5.11 Remote Start Transaction",
            "5.12 Remote Stop Transaction",
            "4.8 Start Transaction",
            "4.10 Stop Transaction",
        ],
        "description": "Remote start and stop with the cable plugged in first. [TC_010, TC_012]",
        "manual_actions": "Plug in the cable.\nSend the remote start.\n"
        "Send the remote stop with the transactionId.",
        "expected_sequence": "SN Preparing → RemoteStartTransaction → Accepted → (Authorize if "
        "AuthorizeRemoteTxRequests) → StartTransaction + SN Charging → RemoteStopTransaction → "
        "Accepted → StopTransaction reason Remote → SN Finishing.",
        "commands": [
            cmd(
                "Remote start", "RemoteStartTransaction", {"connectorId": 1, "idTag": "CERT-TAG-1"}
            ),
            cmd(
                "Remote stop",
                "RemoteStopTransaction",
                {"transactionId": "{transaction:ongoing}"},
            ),
        ],
        "judge_rule": "remote_start_stop_cable_first",
        "automation": [
            bench("plug_in"),
            until(30, **status("Preparing")),
            send("Remote start"),
            until(30, action="StartTransaction"),
            wait(1),
            send("Remote stop"),
            until(30, action="StopTransaction"),
            bench("unplug"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Charging session - Remote Start Transaction - Request first - Unlock Connector",
        "octt": ["TC_011_1", "TC_018_1"],
        "spec": ["5.11 Remote Start Transaction", "5.18 Unlock Connector", "4.10 Stop Transaction"],
        "applies_when": [SOCKET_OUTLET],
        "description": "Remote start before the cable, then unlock. N/A for a fixed cable. "
        "[TC_011_1, TC_018_1]",
        "manual_actions": "Send the remote start.\nPlug in the cable.\nSend the unlock.\nUnplug.",
        "expected_sequence": "RemoteStartTransaction → Accepted → SN Preparing → StartTransaction "
        "+ SN Charging → UnlockConnector → Unlocked → StopTransaction reason UnlockCommand → SN "
        "Finishing → SN Available. A fixed-cable charger answers NotSupported: N/A.",
        "commands": [
            cmd(
                "Remote start", "RemoteStartTransaction", {"connectorId": 1, "idTag": "CERT-TAG-1"}
            ),
            cmd("Unlock connector 1", "UnlockConnector", {"connectorId": 1}),
        ],
        "judge_rule": "remote_start_unlock",
        "na_reasons": [FIXED_CABLE],
        "automation": [
            send("Remote start"),
            bench("plug_in"),
            until(30, action="StartTransaction"),
            wait(1),
            send("Unlock connector 1"),
            until(15, action="StopTransaction"),
            bench("unplug"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Core",
        "title": "Hardware related notification / error condition",
        "octt": ["TC_041", "TC_024"],
        "spec": ["4.9 Status Notification"],
        "description": "A fault is reported and cleared. [TC_041, TC_024]",
        "manual_actions": "Cause a fault (e.g. trip the ground-fault protection).\n"
        "Clear the fault.",
        "expected_sequence": "SN Faulted with an errorCode other than NoError → no transaction "
        "can start → SN Available once cleared.",
        "judge_rule": "hardware_fault",
        "automation": [
            bench("raise_fault", errorCode="GroundFailure"),
            until(30, **status("Faulted")),
            wait(1),
            bench("clear_fault"),
            until(30, **status("Available")),
        ],
    },
    {
        "profile": "Firmware Management",
        "title": "Remote Firmware update - Download failed",
        "octt": ["TC_044_2"],
        "spec": ["5.19 Update Firmware", "4.5 Firmware Status Notification"],
        "applies_when": [profile("FirmwareManagement")],
        "na_reasons": [profile_not_supported("FirmwareManagement", "Firmware Management")],
        "description": "A firmware location that cannot be reached. [TC_044_2]",
        "expected_sequence": "UpdateFirmware(unreachable location, retries 0) → FSN Downloading "
        "(optional) → FSN DownloadFailed; the charger keeps its firmware and stays Available.",
        "commands": [
            cmd(
                "Unreachable location",
                "UpdateFirmware",
                {"location": "{firmware:unreachable}", "retrieveDate": PAST, "retries": 0},
            )
        ],
        "judge_rule": "firmware_download_failed",
        "automation": [
            send("Unreachable location"),
            until(300, action="FirmwareStatusNotification", status="DownloadFailed"),
            wait(1),
        ],
    },
    {
        "profile": "Firmware Management",
        "title": "Remote Firmware update - Installation failed",
        "octt": ["TC_044_3"],
        "spec": ["5.19 Update Firmware", "4.5 Firmware Status Notification"],
        "applies_when": [profile("FirmwareManagement")],
        "na_reasons": [profile_not_supported("FirmwareManagement", "Firmware Management")],
        "description": "A corrupt image of the model's file type. [TC_044_3]",
        "manual_actions": "Send the UpdateFirmware below: the portal serves a corrupt image of "
        "the model's file type.",
        "expected_sequence": "UpdateFirmware(corrupt image) → FSN Downloading → Downloaded → "
        "Installing (optional) → optional reboot → FSN InstallationFailed → SN Available. "
        "DownloadFailed here is a deviation.",
        "commands": [
            cmd(
                "Corrupt image",
                "UpdateFirmware",
                {
                    "location": "{firmware:corrupt}",
                    "retrieveDate": PAST,
                    "retries": 0,
                },
            )
        ],
        "judge_rule": "firmware_installation_failed",
        "automation": [
            send("Corrupt image"),
            until(
                300,
                action="FirmwareStatusNotification",
                status=["InstallationFailed", "DownloadFailed"],
            ),
            wait(2),
        ],
    },
    {
        "profile": "Firmware Management",
        "title": "Remote Firmware update - Download & install",
        "octt": ["TC_044_1"],
        "spec": [
            "5.19 Update Firmware",
            "4.5 Firmware Status Notification",
            "4.2 Boot Notification",
        ],
        "applies_when": [profile("FirmwareManagement")],
        "na_reasons": [profile_not_supported("FirmwareManagement", "Firmware Management")],
        "description": "A valid image is installed and reported. [TC_044_1]",
        "manual_actions": "Upload the image to install to its firmware version (charger "
        "model page) before the step; the UpdateFirmware below serves the newest one.",
        "expected_sequence": "UpdateFirmware(valid image) → FSN Downloading → Downloaded → "
        "Installing → BootNotification with the new firmwareVersion → SN Available → FSN "
        "Installed (Boot and Installed may swap). Recommended: SN Unavailable while installing.",
        "commands": [
            cmd(
                "Valid image",
                "UpdateFirmware",
                {
                    "location": "{firmware:valid}",
                    "retrieveDate": PAST,
                    "retries": 1,
                },
            )
        ],
        "judge_rule": "firmware_install",
        "automation": [
            send("Valid image"),
            until(600, action="FirmwareStatusNotification", status="Installed"),
            # The reboot into the new firmware comes before or after FSN Installed.
            until(120, action="BootNotification", since="step"),
            wait(2),
        ],
    },
    {
        "profile": "Firmware Management",
        "title": "Remote get diagnostics report",
        "octt": ["TC_045_1"],
        "spec": ["5.9 Get Diagnostics", "4.4 Diagnostics Status Notification"],
        "applies_when": [profile("FirmwareManagement")],
        "na_reasons": [profile_not_supported("FirmwareManagement", "Firmware Management")],
        "description": "The diagnostics file is uploaded to the location. [TC_045_1]",
        "manual_actions": "Send GetDiagnostics over HTTP or FTP: the portal receives the file.",
        "expected_sequence": "GetDiagnostics(location) → fileName → DSN Uploading → DSN "
        "Uploaded, and the file arrived.",
        "commands": [
            cmd("Upload over HTTP", "GetDiagnostics", {"location": "{diagnostics:http}"}),
            cmd("Upload over FTP", "GetDiagnostics", {"location": "{diagnostics:ftp}"}),
        ],
        "judge_rule": "diagnostics_upload",
        "automation": [
            send("Upload over FTP"),
            until(300, action="DiagnosticsStatusNotification", status=["Uploaded", "UploadFailed"]),
            wait(1),
        ],
    },
    {
        "profile": "Firmware Management",
        "title": "Remote get diagnostics - fail",
        "octt": ["TC_045_2"],
        "spec": ["5.9 Get Diagnostics", "4.4 Diagnostics Status Notification"],
        "applies_when": [profile("FirmwareManagement")],
        "na_reasons": [profile_not_supported("FirmwareManagement", "Firmware Management")],
        "description": "An invalid location makes the upload fail. [TC_045_2]",
        "expected_sequence": "GetDiagnostics(invalid location, retries 0) → DSN Uploading "
        "(optional) → DSN UploadFailed; the charger keeps working.",
        "commands": [
            cmd(
                "Invalid location",
                "GetDiagnostics",
                {"location": "ftp://127.0.0.1:9/nowhere/", "retries": 0},
            )
        ],
        "judge_rule": "diagnostics_upload_failed",
        "automation": [
            send("Invalid location"),
            until(300, action="DiagnosticsStatusNotification", status="UploadFailed"),
            wait(1),
        ],
    },
    {
        "profile": "Core",
        "title": "Clear cache",
        "octt": ["TC_061"],
        "spec": ["5.4 Clear Cache", "4.1 Authorize"],
        "description": "After ClearCache a known card is authorized again. [TC_061]",
        "preconditions": "LocalPreAuthorize=true and the card used in the cache.",
        "manual_actions": "Send ClearCache.\nPresent the same card as before.",
        "expected_sequence": "ClearCache → Accepted → an Authorize request for the card is sent "
        "again (proof the cache is empty).",
        "commands": [cmd("Clear cache", "ClearCache", {})],
        "judge_rule": "clear_cache",
        "automation": [
            bench("present_card", card="accepted"),
            until(30, action="Authorize"),
            wait(1),
            send("Clear cache"),
            bench("present_card", card="accepted"),
            until(30, action="Authorize"),
            wait(1),
        ],
    },
    {
        "profile": "Remote Trigger",
        "title": "TriggerMessage",
        "octt": ["TC_054", "TC_055"],
        "spec": ["5.17 Trigger Message"],
        "applies_when": [profile("RemoteTrigger")],
        "na_reasons": [profile_not_supported("RemoteTrigger", "Remote Trigger")],
        "description": "Every message kind can be triggered. [TC_054, TC_055]",
        "expected_sequence": "TriggerMessage for BootNotification, Heartbeat, StatusNotification, "
        "MeterValues, DiagnosticsStatusNotification, FirmwareStatusNotification → Accepted and "
        "the message follows; MeterValues for a connector that does not exist → Rejected.",
        "commands": [
            trigger("BootNotification"),
            trigger("Heartbeat"),
            trigger("StatusNotification", 1),
            trigger("MeterValues", 1),
            trigger("DiagnosticsStatusNotification"),
            trigger("FirmwareStatusNotification"),
            trigger("MeterValues", 99),
        ],
        "judge_rule": "trigger_message",
        "automation": [{"commands": "all", "wait": 1}, wait(1)],
    },
]

COMMON_PRECONDITIONS = (
    "Charge station booted and Accepted, connectors Available, no transaction running, "
    "no queued messages."
)
