"""Shared fixtures: the named personas and a small catalog for two manufacturers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from certification.models import TestPlan, TestRun
from certification.services import create_run, install_default_plan
from chargers import services as charger_services
from chargers.models import ChargePoint, ChargerModel, FirmwareVersion, Manufacturer, User

RUN_KEY = "run-key-0123456789"


@pytest.fixture
def xcharge(db: None) -> Manufacturer:
    return Manufacturer.objects.create(name="Xcharge", country="China")


@pytest.fixture
def rival(db: None) -> Manufacturer:
    """A second manufacturer whose data the first one's users must never see."""
    return Manufacturer.objects.create(name="Rival Charging", country="Netherlands")


@pytest.fixture
def c8eu(xcharge: Manufacturer) -> ChargerModel:
    return ChargerModel.objects.create(
        manufacturer=xcharge,
        name="C8EU",
        current_type=ChargerModel.CurrentType.DC,
        connectors=2,
        outlet=ChargerModel.Outlet.FIXED_CABLE,
    )


@pytest.fixture
def c8eu_firmware(c8eu: ChargerModel) -> FirmwareVersion:
    return FirmwareVersion.objects.create(charger_model=c8eu, version="V1.0.0_C8_Standard")


@pytest.fixture
def rival_model(rival: Manufacturer) -> ChargerModel:
    return ChargerModel.objects.create(
        manufacturer=rival, name="R22", current_type=ChargerModel.CurrentType.AC
    )


@pytest.fixture
def rival_firmware(rival_model: ChargerModel) -> FirmwareVersion:
    return FirmwareVersion.objects.create(charger_model=rival_model, version="R22-2.4.1")


@pytest.fixture
def engineer(db: None) -> User:
    return User.objects.create_user(
        "wei", password="pw-engineer-1", role=User.Role.ENGINEER, first_name="Wei"
    )


@pytest.fixture
def manufacturer_user(xcharge: Manufacturer) -> User:
    return User.objects.create_user(
        "xc-user", password="pw-maker-1", role=User.Role.MANUFACTURER, manufacturer=xcharge
    )


@pytest.fixture
def rival_user(rival: Manufacturer) -> User:
    return User.objects.create_user(
        "rival-user", password="pw-rival-1", role=User.Role.MANUFACTURER, manufacturer=rival
    )


@pytest.fixture
def engineer_client(engineer: User) -> Client:
    client = Client()
    client.force_login(engineer)
    return client


@pytest.fixture
def manufacturer_client(manufacturer_user: User) -> Client:
    client = Client()
    client.force_login(manufacturer_user)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: object) -> None:
    """PBKDF2 at production strength makes every login in a test take ~0.3 s."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def close_connections_of_the_async_db_thread() -> Iterator[None]:
    """Async tests reach the database from asgiref's single sync thread; its connection
    must be closed after the test, or PostgreSQL refuses to drop the test database."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture(autouse=True)
def media_in_a_temporary_directory(
    settings: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Uploaded images, diagnostics and reports of a test never land in var/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")  # type: ignore[attr-defined]


# --- A certification run of the default plan ---------------------------------------------


@pytest.fixture
def default_plan(db: None) -> TestPlan:
    return install_default_plan()


@pytest.fixture
def run_charge_point(c8eu_firmware: FirmwareVersion) -> ChargePoint:
    charge_point, _ = charger_services.create_charge_point(
        "CP1",
        authorization_key=RUN_KEY,
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
