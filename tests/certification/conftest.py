from __future__ import annotations

import pytest

from certification.models import TestPlan, TestRun
from certification.services import create_run, install_default_plan
from chargers import services as charger_services
from chargers.models import ChargePoint, FirmwareVersion, User

KEY = "run-key-0123456789"


@pytest.fixture
def default_plan(db: None) -> TestPlan:
    return install_default_plan()


@pytest.fixture
def run_charge_point(c8eu_firmware: FirmwareVersion) -> ChargePoint:
    charge_point, _ = charger_services.create_charge_point(
        "CP1",
        authorization_key=KEY,
        charger_model=c8eu_firmware.charger_model,
        firmware_version=c8eu_firmware,
    )
    return charge_point


@pytest.fixture
def run(
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> TestRun:
    return create_run(
        charge_point=run_charge_point,
        plan=default_plan,
        tester=engineer,
        firmware_version=c8eu_firmware,
    )
