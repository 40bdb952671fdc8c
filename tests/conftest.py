"""Shared fixtures: the named personas and a small catalog for two manufacturers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User


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
