from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from chargers.access import can_edit, visible
from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User

pytestmark = pytest.mark.django_db


def test_engineer_sees_every_manufacturers_models(
    engineer: User, c8eu: ChargerModel, rival_model: ChargerModel
) -> None:
    assert set(visible(ChargerModel.objects.all(), engineer)) == {c8eu, rival_model}


def test_manufacturer_user_sees_only_own_rows(
    manufacturer_user: User,
    c8eu_firmware: FirmwareVersion,
    rival_firmware: FirmwareVersion,
) -> None:
    assert list(visible(Manufacturer.objects.all(), manufacturer_user)) == [
        manufacturer_user.manufacturer
    ]
    assert list(visible(ChargerModel.objects.all(), manufacturer_user)) == [
        c8eu_firmware.charger_model
    ]
    assert list(visible(FirmwareVersion.objects.all(), manufacturer_user)) == [c8eu_firmware]


def test_anonymous_and_inactive_users_see_nothing(engineer: User, c8eu: ChargerModel) -> None:
    assert not visible(ChargerModel.objects.all(), AnonymousUser()).exists()
    engineer.is_active = False
    engineer.save()
    assert not visible(ChargerModel.objects.all(), engineer).exists()


def test_only_engineers_and_administrators_edit(engineer: User, manufacturer_user: User) -> None:
    admin = User.objects.create_superuser("root", password="pw-root-1")
    assert can_edit(engineer)
    assert can_edit(admin)
    assert not can_edit(manufacturer_user)
    assert not can_edit(AnonymousUser())


def test_superuser_becomes_an_administrator_with_admin_access(db: None) -> None:
    admin = User.objects.create_superuser("root", password="pw-root-1")
    assert admin.role == User.Role.ADMINISTRATOR
    assert admin.is_staff


def test_a_manufacturer_user_must_belong_to_a_manufacturer(db: None) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("orphan", role=User.Role.MANUFACTURER)
