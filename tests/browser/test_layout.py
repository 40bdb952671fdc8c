"""Pages people read on a phone or beside the charger: nothing runs off the side (issue 12,
item 7). Layout is checked in Debian's chromium, where it is computed, not in the HTML."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from certification import services
from certification.default_plan import PLAN_NAME
from certification.models import Report, StepResult, TestPlan
from chargers import services as charger_services
from chargers.models import Command, FirmwareVersion, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNLOCK = "Charging session - Remote Start Transaction - Request first - Unlock Connector"
LONG_LOCATION = (
    "ftp://fw-7f3a9c2b:0123456789abcdef0123456789abcdef@127.0.0.1:2121/firmware/"
    "xcharge-c8eu-v1.1.0-standard-build-20230922-signed-and-packaged-for-the-lab.bin"
)


def horizontal_overflow(page: Page, selector: str) -> int:
    """How many CSS pixels the element's content is wider than the element (0: it fits)."""
    return int(page.eval_on_selector(selector, "e => e.scrollWidth - e.clientWidth"))


@pytest.fixture
def published_report(demo_logins: dict[str, str]) -> Report:
    """A published two-step run of the demo charger model, set up through the services."""
    plan = services.copy_plan(TestPlan.objects.get(name=PLAN_NAME), None, name="Layout")
    plan.steps.exclude(title__in=["Heartbeat", UNLOCK]).delete()
    for number, step in enumerate(plan.steps.order_by("number"), start=1):
        step.number = number
        step.save(update_fields=["number"])
    plan = services.publish_plan(plan, None)
    firmware = FirmwareVersion.objects.get(version="V1.0.0_C8_Standard")
    charge_point, _ = charger_services.create_charge_point(
        "LAYOUT-01", charger_model=firmware.charger_model, firmware_version=firmware
    )
    engineer = User.objects.get(username="engineer")
    run = services.create_run(
        charge_point=charge_point, plan=plan, tester=engineer, firmware_version=firmware
    )
    heartbeat, unlock = plan.steps.order_by("number")
    services.decide_step(
        StepResult.objects.create(run=run, step=heartbeat, proposed_verdict="Y"),
        verdict="Y",
        remarks="Set up for the layout test",
        minor_issue=False,
        user=engineer,
    )
    if not run.results.filter(step=unlock).exists():
        services.skip_step(run, unlock, "Set up", engineer, na_reason="fixed_cable")
    services.submit_for_review(run, engineer)
    return services.publish_run(run, User.objects.get(username="reviewer"))


@pytest.mark.parametrize("width", [360, 1280])
def test_the_verify_page_fits_its_card_on_a_phone_and_on_a_desktop(
    new_page: object, published_report: Report, width: int
) -> None:
    page = new_page()  # type: ignore[operator]
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"/verify/{published_report.report_id}/")
    assert page.get_by_role("heading", name="Report verification").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert horizontal_overflow(page, ".verify") == 0
    # The fingerprint is there whole, wrapped inside the card.
    assert published_report.sha256 in page.inner_text(".verify").replace("\n", "")


def test_the_recent_commands_table_fits_1280_px(engineer_page: Page) -> None:
    firmware = FirmwareVersion.objects.get(version="V1.0.0_C8_Standard")
    charge_point, _ = charger_services.create_charge_point(
        "LAYOUT-02", charger_model=firmware.charger_model, firmware_version=firmware
    )
    engineer = User.objects.get(username="engineer")
    keys = ["MeterValuesSampledData", "MeterValuesAlignedData", "StopTxnSampledData"]
    measurands = "Current.Import,Energy.Active.Import.Register,Power.Active.Import,Voltage,SoC"
    # Rows as the portal stores a sent command and its answer.
    Command.objects.create(
        charge_point=charge_point,
        action="GetConfiguration",
        payload={"key": keys},
        requested_by=engineer,
        requested_at=timezone.now(),
        status=Command.Status.ANSWERED,
        response={
            "configurationKey": [{"key": k, "readonly": False, "value": measurands} for k in keys]
        },
        round_trip_ms=35,
    )
    Command.objects.create(
        charge_point=charge_point,
        action="UpdateFirmware",
        payload={"location": LONG_LOCATION, "retrieveDate": "2023-09-22T10:00:00+00:00"},
        requested_by=engineer,
        requested_at=timezone.now(),
        status=Command.Status.FAILED,
        error="The charge point did not answer within 30 s: no CALLRESULT or CALLERROR for "
        "unique id 2c3a0f0e-8f2d-4d0b-9c51-1d3c5e7b9a11",
    )

    engineer_page.goto(f"/charge-points/{charge_point.pk}/")
    table = engineer_page.locator("table", has_text="UpdateFirmware")
    assert table.is_visible()
    assert engineer_page.evaluate("document.documentElement.scrollWidth") <= 1280
    container = table.locator("xpath=..")
    assert int(container.evaluate("e => e.scrollWidth - e.clientWidth")) == 0
    # The long location is shown whole, wrapped in its cell.
    assert LONG_LOCATION in table.inner_text().replace("\n", "")
