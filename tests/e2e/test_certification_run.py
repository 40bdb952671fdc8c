"""A whole certification run of the 23 steps, driven through the automation API against a
live Daphne server, with the scripted charge point as the charger under test.

A well-behaved DC charger gets Y on every step it supports and N/A where it cannot (no
unlock on a fixed cable); a misbehaving one gets the N and minor findings a certification
engineer would write, in the judge's own sentences."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from certification.services import install_default_plan
from chargers.api_tokens import create_api_token
from chargers.models import (
    Frame,
    Transfer,
    User,
)
from chargers.simulator import ChargerConfig
from tests.e2e.harness import (
    FIRMWARE_IMAGE,
    Api,
    ChargerThread,
    FileServer,
    file_server,
    settle,
)
from tests.live import LiveServer, daphne_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

KEY = "e2e-key-0123456789"
CARD = "04A2B3C4D5E6F7"
STRANGER = "DEADBEEF000000"


@dataclass
class Lab:
    server: LiveServer
    files: FileServer
    api: Api
    firmware_id: int
    charge_point_id: int
    plan_id: int


@pytest.fixture
def lab(tmp_path: Path, db: None) -> Iterator[Lab]:
    """The portal with its default plan and an engineer's token; everything else a lab
    script sets up through the API alone: catalog, charge point, idTags (issue 15, 11)."""
    plan = install_default_plan()
    engineer = User.objects.create_user("lab-engineer", role=User.Role.ENGINEER)
    _, token = create_api_token(engineer)
    with daphne_server(tmp_path) as server, file_server() as files:
        api = Api(server.http_url, token)
        xcharge = api.post("/api/manufacturers/", {"name": "Xcharge", "country": "China"})
        c8eu = api.post(
            "/api/charger-models/",
            {
                "manufacturer": xcharge["id"],
                "name": "C8EU",
                "current_type": "DC",
                "connectors": 2,
                "outlet": "cable",
            },
        )
        firmware = api.post(
            "/api/firmware-versions/",
            {"charger_model": c8eu["id"], "version": "V1.0.0_C8_Standard"},
        )
        charge_point = api.post(
            "/api/charge-points/",
            {
                "charge_point_id": "E2E-1",
                "authorization_key": KEY,
                "charger_model": c8eu["id"],
                "firmware_version": firmware["id"],
                "heartbeat_interval": 2,
            },
        )
        tags = f"/api/charge-points/{charge_point['id']}/id-tags/"
        api.post(tags, {"id_tag": CARD, "status": "Accepted"})
        api.post(tags, {"id_tag": STRANGER, "status": "Blocked"})
        yield Lab(
            server=server,
            files=files,
            api=api,
            firmware_id=firmware["id"],
            charge_point_id=charge_point["id"],
            plan_id=plan.pk,
        )


def charger_config(lab: Lab, misbehaviours: frozenset[str] = frozenset()) -> ChargerConfig:
    return ChargerConfig(
        charge_point_id="E2E-1",
        url=f"{lab.server.ws_url}/ocpp/E2E-1",
        password=KEY,
        connectors=2,
        vendor="Xcharge",
        model="C8EU",
        serial="XC8EU-000042",
        firmware="V1.0.0_C8_Standard",
        iccid="8931440400000000042",
        id_tag=CARD,
        unknown_id_tag=STRANGER,
        fixed_cable=True,
        reboot_seconds=1,
        response_timeout=10,
        transfer_timeout=5,
        misbehaviours=misbehaviours,
    )


class Run:
    """One certification run as a lab script drives it."""

    def __init__(self, lab: Lab, charger: ChargerThread) -> None:
        self.lab = lab
        self.api = lab.api
        self.charger = charger
        created = self.api.post(
            "/api/runs/",
            {
                "charge_point": lab.charge_point_id,
                "firmware_version": lab.firmware_id,
                "plan": lab.plan_id,
            },
        )
        self.id = created["id"]
        self.results: dict[int, dict[str, Any]] = {}

    def command(self, action: str, payload: dict[str, Any], wait: float = 0.6) -> dict[str, Any]:
        answer = self.api.post(
            f"/api/runs/{self.id}/commands/", {"action": action, "payload": payload}
        )
        settle(wait)
        return answer

    def step(self, number: int, drive: Callable[[Run], None] | None = None) -> dict[str, Any]:
        """Start the step, do what it asks at the charger and from the portal, finish it."""
        self.api.post(f"/api/runs/{self.id}/steps/{number}/start/")
        if drive is None:
            drive_step(self, number)
        else:
            drive(self)
        result = self.api.post(f"/api/runs/{self.id}/steps/{number}/finish/")
        self.results[number] = result
        return result

    def hw(self, name: str, *args: Any) -> Any:
        """An action at the charger's hardware (plug, card, fault...)."""
        station = self.charger.charger
        return self.charger.do(getattr(station, name)(*args))


PAST = "2020-01-01T00:00:00Z"


def ensure_target_image(lab: Lab) -> None:
    """Step 19 installs the newest image of another firmware version of the model: the
    script adds version 2.0.0 and uploads its image through the API."""
    api = lab.api
    model = api.get(f"/api/firmware-versions/{lab.firmware_id}/")["charger_model"]
    versions = api.get(f"/api/firmware-versions/?charger_model={model}")
    versions = versions["results"] if isinstance(versions, dict) else versions
    newer = next((v for v in versions if v["version"] == "2.0.0"), None)
    if newer is None:
        newer = api.post("/api/firmware-versions/", {"charger_model": model, "version": "2.0.0"})
    if not api.get(f"/api/firmware-versions/{newer['id']}/images/"):
        api.upload(
            f"/api/firmware-versions/{newer['id']}/images/",
            "image",
            "c8eu-2.0.0.apk",
            FIRMWARE_IMAGE,
        )


def drive_step(run: Run, number: int) -> None:
    """What the engineer does during each step of the default plan."""
    match number:
        case 1:
            run.charger.do(run.charger.charger.connect())
            settle(3)
        case 2:
            run.command("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
            run.command("ChangeAvailability", {"connectorId": 1, "type": "Operative"})
        case 3:
            run.command("GetConfiguration", {})
            run.command("GetConfiguration", {"key": ["HeartbeatInterval", "ConnectionTimeOut"]})
        case 4:
            run.command("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "1"})
            run.command("GetConfiguration", {"key": ["MeterValueSampleInterval"]})
            run.command("ChangeConfiguration", {"key": "CertPortalUnknownKey", "value": "1"})
            run.command("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "-1"})
        case 5:
            settle(7)
        case 6:
            run.hw("plug_in")
            settle(0.5)
            run.hw("present_card")
            settle(2.5)
            run.hw("present_card")
            settle(0.5)
            run.hw("unplug")
            settle(0.8)
        case 7:
            run.hw("present_card")
            run.hw("plug_in")
            settle(1.5)
            run.hw("drop_connection")
            settle(4)
            run.hw("present_card")  # stopped while offline: queued
            run.hw("restore_connection")
            settle(2)
            run.hw("unplug")
            settle(0.8)
        case 8:
            run.command("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "3"})
            run.hw("present_card")
            settle(4.5)
        case 9 | 11:
            run.hw("present_card")
            run.hw("plug_in")
            settle(1.5)
            run.command("Reset", {"type": "Hard" if number == 9 else "Soft"}, wait=4)
            run.hw("unplug")
            settle(0.8)
        case 10 | 12:
            run.command("Reset", {"type": "Hard" if number == 10 else "Soft"}, wait=4)
        case 13:
            run.hw("plug_in")
            settle(0.5)
            run.hw("present_card", STRANGER)
            settle(0.5)
            run.hw("unplug")
            settle(0.5)
        case 14:
            run.hw("plug_in")
            settle(0.5)
            run.command("RemoteStartTransaction", {"connectorId": 1, "idTag": CARD}, wait=1.5)
            # The plan's pre-filled remote stop: the portal fills in the running session.
            ongoing = run.api.get(f"/api/charge-points/{run.lab.charge_point_id}/transactions/")
            transaction_id = run.charger.charger.connector(1).transaction_id
            assert transaction_id is not None, "the remote start started no transaction"
            assert ongoing["ongoing"]["1"]["transaction_id"] == transaction_id, ongoing
            stop = run.command("RemoteStopTransaction", {"transactionId": "{transaction:ongoing}"})
            assert stop["payload"] == {"transactionId": transaction_id}, stop
            run.hw("unplug")
            settle(0.8)
        case 15:
            run.command("UnlockConnector", {"connectorId": 1})
        case 16:
            run.hw("fault", 1, "GroundFailure")
            settle(1)
            run.hw("clear_fault", 1)
            settle(0.5)
        case 17:
            payload = {
                "location": "http://127.0.0.1:9/unreachable.bin",
                "retrieveDate": "2020-01-01T00:00:00Z",
                "retries": 0,
            }
            run.command("UpdateFirmware", payload, wait=2)
        case 18:
            # The portal serves a corrupt image of the model's file type.
            payload = {"location": "{firmware:corrupt}", "retrieveDate": PAST, "retries": 0}
            run.command("UpdateFirmware", payload, wait=2)
        case 19:
            ensure_target_image(run.lab)
            payload = {"location": "{firmware:valid}", "retrieveDate": PAST, "retries": 0}
            run.command("UpdateFirmware", payload, wait=5)
        case 20:
            # Diagnostics to the portal's own FTP server, with the run's credentials.
            run.command("GetDiagnostics", {"location": "{diagnostics:ftp}", "retries": 0}, wait=2)
        case 21:
            run.command(
                "GetDiagnostics", {"location": "ftp://127.0.0.1:9/nowhere/", "retries": 0}, wait=3
            )
        case 22:
            run.hw("present_card")  # fills the authorization cache
            settle(3.5)
            run.command("ClearCache", {})
            run.hw("present_card")
            settle(3.5)
        case 23:
            for kind, connector in [
                ("BootNotification", None),
                ("Heartbeat", None),
                ("StatusNotification", 1),
                ("MeterValues", 1),
                ("DiagnosticsStatusNotification", None),
                ("FirmwareStatusNotification", None),
                ("MeterValues", 99),
            ]:
                trigger: dict[str, Any] = {"requestedMessage": kind}
                if connector is not None:
                    trigger["connectorId"] = connector
                run.command("TriggerMessage", trigger, wait=0.7)


def explain(results: dict[int, dict[str, Any]]) -> str:
    return "\n".join(
        f"step {n}: {r['proposed_verdict']} "
        + "; ".join(f"[{f['severity']}] {f['message']}" for f in r["findings"])
        for n, r in sorted(results.items())
    )


def test_a_well_behaved_dc_charger_passes_every_step_it_supports(lab: Lab) -> None:
    """All 23 steps started from the API alone, with the plan's pre-filled commands where a
    step has them: 22 proposals of Y and N/A for the unlock of a fixed cable."""
    charger = ChargerThread(charger_config(lab))
    try:
        run = Run(lab, charger)
        for number in range(1, 24):
            run.step(number)
    finally:
        charger.stop()
    verdicts = {n: r["proposed_verdict"] for n, r in run.results.items()}
    expected = {n: "Y" for n in range(1, 24)} | {15: "NA"}
    assert verdicts == expected, explain(run.results)
    fails = [f for r in run.results.values() for f in r["findings"] if f["severity"] == "fail"]
    assert fails == [], explain(run.results)

    report = lab.api.get(f"/api/runs/{run.id}/report/")
    assert report["charge_point"]["serial"] == "XC8EU-000042"
    # The evidence is complete: every frame since the run began carries the run, and the
    # only ones outside a step are the heartbeats of an idle charger between two steps.
    frames = Frame.objects.filter(run_id=run.id)
    assert not Frame.objects.filter(
        run__isnull=True, captured_at__gte=frames.earliest("captured_at").captured_at
    ).exists()
    between_steps = set(frames.filter(step_result__isnull=True).values_list("action", flat=True))
    assert between_steps <= {"Heartbeat"}, between_steps
    assert frames.filter(validation_error__gt="").count() == 0
    # Files travelled through the portal: both images downloaded whole, the diagnostics
    # received over FTP, each attached to its step.
    moved = {
        (t.step_result.step.number, t.direction, t.protocol, t.status)
        for t in Transfer.objects.filter(run_id=run.id, step_result__isnull=False).select_related(
            "step_result__step"
        )
        if t.step_result is not None
    }
    assert {
        (18, "download", "http", "completed"),
        (19, "download", "http", "completed"),
        (20, "upload", "ftp", "completed"),
    } <= moved, moved
    assert run.results[19]["measurements"]["portal_downloads"] >= 1
    assert run.results[20]["findings"] == [] or all(
        f["severity"] != "fail" for f in run.results[20]["findings"]
    )
    # Measured values are reported: heartbeat intervals near the configured 2 s, the
    # firmware before and after the update.
    heartbeat = run.results[5]["measurements"]
    assert heartbeat["heartbeat_intervals_s"], explain(run.results)
    assert all(1.5 <= gap <= 2.6 for gap in heartbeat["heartbeat_intervals_s"]), heartbeat
    firmware = run.results[19]["measurements"]
    assert (firmware["firmware_before"], firmware["firmware_after"]) == (
        "V1.0.0_C8_Standard",
        "2.0.0",
    )


def test_a_misbehaving_charger_gets_the_engineers_findings(lab: Lab) -> None:
    misbehaviours = frozenset(
        {
            "preparing-after-reset",
            "no-unavailable-during-reset",
            "double-reboot",
            "download-failed-instead-of-installation-failed",
            "no-metervalues-trigger-when-idle",
            "schema-violation",
        }
    )
    charger = ChargerThread(charger_config(lab, misbehaviours))
    try:
        run = Run(lab, charger)
        for number in (1, 9, 10, 18, 23):
            run.step(number)
    finally:
        charger.stop()
    results = run.results

    def messages(number: int, severity: str) -> str:
        return " | ".join(
            f["message"] for f in results[number]["findings"] if f["severity"] == severity
        )

    # A StatusNotification outside the 1.6 schema fails the boot step, naming it.
    assert results[1]["proposed_verdict"] == "N", explain(results)
    assert "StatusNotification" in messages(1, "fail")
    # Seed step 9: Preparing where Finishing was expected, no Unavailable during the reset.
    assert results[9]["proposed_verdict"] == "Y", explain(results)
    assert "Preparing" in messages(9, "minor") and "Finishing" in messages(9, "minor")
    assert "Unavailable" in messages(9, "minor")
    # Seed step 10: the charger reboots twice.
    assert results[10]["measurements"]["reboots"] == 2, explain(results)
    assert "rebooted 2 times" in messages(10, "minor")
    # Seed step 18: DownloadFailed instead of InstallationFailed, after the portal served the
    # whole image: the judge proposes N and the engineer decides.
    assert results[18]["proposed_verdict"] == "N", explain(results)
    assert (
        "FirmwareStatusNotification DownloadFailed received where InstallationFailed was expected"
        in messages(18, "fail")
    ), explain(results)
    assert "downloaded the whole image" in messages(18, "fail"), explain(results)
    # Seed step 23: MeterValues cannot be triggered without a transaction.
    assert "TriggerMessage MeterValues for connector 1 answered Rejected" in messages(
        23, "minor"
    ), explain(results)


def test_the_judge_fails_what_a_charger_accepted_and_did_not_do(lab: Lab) -> None:
    """Deviations real chargers committed (issue 15): each is a fail naming its frames, and an
    FTP-only charger that OCPP allows still passes the diagnostics step."""
    misbehaviours = frozenset(
        {
            "heartbeat-ignores-interval",
            "meter-values-after-offline-stop",
            "transaction-survives-reboot",
            "ftp-only-diagnostics",
            "ignores-sampled-data",
        }
    )
    config = charger_config(lab, misbehaviours)
    config.meter_sample_interval = 1
    charger = ChargerThread(config)

    def heartbeat_15_s(run: Run) -> None:
        run.command("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "15"})
        settle(17)

    def sample_voltage_too(run: Run) -> None:
        sampled = "Energy.Active.Import.Register,Voltage"
        run.command("ChangeConfiguration", {"key": "MeterValuesSampledData", "value": sampled})
        drive_step(run, 7)

    def http_then_ftp(run: Run) -> None:
        run.command("GetDiagnostics", {"location": "{diagnostics:http}", "retries": 0}, wait=2)
        run.command("GetDiagnostics", {"location": "{diagnostics:ftp}", "retries": 0}, wait=2)

    try:
        run = Run(lab, charger)
        run.step(1)
        run.step(5, heartbeat_15_s)
        run.step(7, sample_voltage_too)
        run.step(20, http_then_ftp)
        run.step(9)
    finally:
        charger.stop()
    results = run.results

    def fails(number: int) -> str:
        return " | ".join(
            f["message"] for f in results[number]["findings"] if f["severity"] == "fail"
        )

    # Item 6: HeartbeatInterval 15 accepted, heartbeats every 5 s.
    assert results[5]["proposed_verdict"] == "N", explain(results)
    assert "shorter than the HeartbeatInterval of 15 s" in fails(5), explain(results)
    # Item 8: a value of the transaction sampled after its offline stop.
    assert results[7]["proposed_verdict"] == "N", explain(results)
    assert "sampled after its StopTransaction" in fails(7), explain(results)
    # Item 6 again: MeterValuesSampledData accepted with Voltage, never sampled.
    assert "never carry Voltage" in fails(7), explain(results)
    # Item 3: the HTTP attempt failed, the FTP one uploaded: allowed, and passed.
    assert results[20]["proposed_verdict"] == "Y", explain(results)
    assert any("did not upload" in f["message"] for f in results[20]["findings"])
    # Item 9: no StopTransaction, and the transaction meters on after the reboot.
    assert results[9]["proposed_verdict"] == "N", explain(results)
    assert "survived the reboot" in fails(9), explain(results)
    survivor = next(f for f in results[9]["findings"] if "survived" in f["message"])
    assert len(survivor["frame_ids"]) >= 2
