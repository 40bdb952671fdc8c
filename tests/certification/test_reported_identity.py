"""Reported identity (issue 12, item 2): every BootNotification of a run is compared with the
run's pinned manufacturer, model and firmware, with the aliases engineers record; a mismatch
is a finding on its step (a fail on step 1) and a warning in the report's header."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from certification import services
from certification.judge.identity import ExpectedIdentity, mismatches
from certification.models import StepResult, TestRun
from certification.reports.pdf import render_pdf
from chargers import services as charger_services
from chargers.models import ChargePoint, FirmwareImage, FirmwareVersion, Frame, User
from tests.reports.test_report_pdf import flat

# What the README's simulator sends by default.
SIMULATOR = {
    "chargePointVendor": "SimuCharge",
    "chargePointModel": "SIM-22",
    "firmwareVersion": "1.0.0",
}
C8EU = {
    "chargePointVendor": "Xcharge",
    "chargePointModel": "C8EU",
    "firmwareVersion": "V1.0.0_C8_Standard",
}
EXPECTED = ExpectedIdentity(("Xcharge",), ("C8EU", "C8-EU"), ("V1.0.0_C8_Standard",))


def test_the_pinned_names_and_their_aliases_match_whatever_the_case() -> None:
    assert mismatches(C8EU, EXPECTED) == ()
    assert (
        mismatches({**C8EU, "chargePointVendor": "XCHARGE", "chargePointModel": "c8-eu"}, EXPECTED)
        == ()
    )


def test_each_field_that_names_another_charger_is_a_mismatch() -> None:
    found = mismatches(SIMULATOR, EXPECTED)
    assert [m.field for m in found] == ["chargePointVendor", "chargePointModel", "firmwareVersion"]
    assert (
        found[1].sentence() == 'chargePointModel "SIM-22" where the run certifies "C8EU" or "C8-EU"'
    )
    assert [m.field for m in mismatches({**C8EU, "firmwareVersion": None}, EXPECTED)] == [
        "firmwareVersion"
    ]


def boot_in_step(run: TestRun, number: int, payload: dict[str, Any], engineer: User) -> StepResult:
    """Run the step with one BootNotification in it and finish it (the judge runs)."""
    result = services.start_step(
        run, run.plan.steps.get(number=number), engineer, anyway="the charger connects after"
    )
    connection = charger_services.open_connection(
        run.charge_point, remote_address="127.0.0.1:1", subprotocol="ocpp1.6", worker="test"
    )
    assert result.started_at is not None
    Frame.objects.create(
        charge_point=run.charge_point,
        connection=connection,
        seq=1,
        # Captured now: inside the attempt's window, which finish_step closes after this.
        captured_at=timezone.now(),
        direction="in",
        message_type=2,
        unique_id=f"boot-{number}",
        action="BootNotification",
        raw="[2,...]",
        payload=payload,
    )
    return services.finish_step(result)


def identity_findings(result: StepResult) -> list[dict[str, Any]]:
    return [f for f in result.findings if "reports another charger" in f["message"]]


@pytest.mark.django_db
def test_the_readme_simulator_booting_as_another_charger_fails_step_1_and_warns_in_the_report(
    run: TestRun, engineer: User, engineer_client: Client
) -> None:
    result = boot_in_step(run, 1, SIMULATOR, engineer)
    [finding] = identity_findings(result)
    assert finding["severity"] == "fail" and result.proposed_verdict == "N"
    assert 'chargePointVendor "SimuCharge" where the run certifies "Xcharge"' in finding["message"]
    assert (
        'firmwareVersion "1.0.0" where the run certifies "V1.0.0_C8_Standard"' in finding["message"]
    )
    assert finding["frame_ids"] == [Frame.objects.get(unique_id="boot-1").pk]

    warnings = services.identity_warnings(run)
    assert len(warnings) == 1 and "(step 1 attempt 1, frame" in warnings[0]
    html = engineer_client.get(f"/runs/{run.pk}/report/").content.decode()
    assert "Reported identity differs from the certified one." in html
    assert "chargePointModel &quot;SIM-22&quot; where the run certifies &quot;C8EU&quot;" in html
    pdf = flat(render_pdf(run, report_id="P-1", verification_url=None, generated_at=timezone.now()))
    assert "Warning: the charger reported another identity than the one certified." in pdf


@pytest.mark.django_db
def test_a_mismatch_in_another_step_is_a_minor_issue_of_that_step(
    run: TestRun, engineer: User
) -> None:
    result = boot_in_step(run, 12, {**C8EU, "chargePointModel": "C8"}, engineer)
    [finding] = identity_findings(result)
    assert finding["severity"] == "minor" and result.minor_issue


@pytest.mark.django_db
def test_aliases_engineers_record_are_the_same_charger(
    run: TestRun, engineer: User, c8eu_firmware: FirmwareVersion
) -> None:
    charger_model = c8eu_firmware.charger_model
    charger_model.vendor_aliases = "XCHARGE Tech\n"
    charger_model.model_aliases = "C8-EU\nC8 EU 22kW"
    charger_model.save()
    c8eu_firmware.reported_as = "1.0.0.C8"
    c8eu_firmware.save()
    sent = {
        "chargePointVendor": "XCHARGE Tech",
        "chargePointModel": "C8 EU 22kW",
        "firmwareVersion": "1.0.0.C8",
    }
    assert identity_findings(boot_in_step(run, 1, sent, engineer)) == []
    assert services.identity_warnings(run) == []


@pytest.mark.django_db
def test_after_the_firmware_update_step_the_new_images_version_is_expected(
    run: TestRun, engineer: User, c8eu_firmware: FirmwareVersion, run_charge_point: ChargePoint
) -> None:
    new = FirmwareVersion.objects.create(charger_model=c8eu_firmware.charger_model, version="2.0.0")
    FirmwareImage.objects.create(
        firmware_version=new,
        file="firmware/new.bin",
        original_name="new.bin",
        size=1,
        sha256="0" * 64,
        uploaded_at=timezone.now(),
    )
    # Before the update: the new version is not the certified one.
    before = boot_in_step(run, 12, {**C8EU, "firmwareVersion": "2.0.0"}, engineer)
    assert identity_findings(before)
    # In the firmware update step (19) and after it, the new image's version is expected.
    install = boot_in_step(run, 19, {**C8EU, "firmwareVersion": "2.0.0"}, engineer)
    assert identity_findings(install) == []
    after = boot_in_step(run, 5, {**C8EU, "firmwareVersion": "2.0.0"}, engineer)
    assert identity_findings(after) == []
    stranger = boot_in_step(run, 3, {**C8EU, "firmwareVersion": "9.9.9"}, engineer)
    assert identity_findings(stranger)
    assert len(services.identity_warnings(run)) == 2  # steps 12 and 3


@pytest.mark.django_db
def test_an_image_the_portal_does_not_know_is_expected_after_the_update_as_reported(
    run: TestRun, engineer: User
) -> None:
    """The seed's case: the image came from elsewhere; the version the charger reported
    in the update step is the new image's."""
    install = boot_in_step(run, 19, {**C8EU, "firmwareVersion": "2.0.0"}, engineer)
    assert identity_findings(install) == []
    assert (
        identity_findings(boot_in_step(run, 5, {**C8EU, "firmwareVersion": "2.0.0"}, engineer))
        == []
    )
    assert identity_findings(boot_in_step(run, 3, {**C8EU, "firmwareVersion": "3.0"}, engineer))
