"""Demo data of the seed report (Xcharge C8EU): the catalog, the logins, the default plan and
the seed run, loaded by ``manage.py load_demo`` (certification's command: it uses both apps).

Idempotent: running it again changes nothing that is already there, so an engineer's own
edits and changed passwords survive a second ``make run``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction

from certification.demo.seed_run import SeedRunOutcome, ensure_seed_run
from certification.services import (
    install_default_plan,
    install_full_plan,
    install_security_plan,
)
from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    created: bool


DEMO_PASSWORDS = {
    "engineer": "engineer-demo",
    "xcharge": "xcharge-demo",
    "admin": "admin-demo",
    "reviewer": "reviewer-demo",
}


@dataclass(frozen=True)
class DemoData:
    logins: list[DemoLogin]
    seed_run: SeedRunOutcome | None


def load_demo_catalog(*, seed_run: bool = True) -> DemoData:
    """Create the seed's manufacturer, model and firmware, the demo logins, and (unless
    ``seed_run`` is false) the seed report's own run, published when the report renderer
    works."""
    logins = _load_catalog()
    # Not in the catalog's transaction: publishing renders the report in another process,
    # which reads committed rows only.
    return DemoData(logins=logins, seed_run=ensure_seed_run() if seed_run else None)


@transaction.atomic
def _load_catalog() -> list[DemoLogin]:
    xcharge, _ = Manufacturer.objects.get_or_create(
        name="Xcharge",
        defaults={"country": "China", "website": "https://www.xcharge.com"},
    )
    c8eu, _ = ChargerModel.objects.get_or_create(
        manufacturer=xcharge,
        name="C8EU",
        defaults={
            "current_type": ChargerModel.CurrentType.DC,
            "connectors": 2,
            "outlet": ChargerModel.Outlet.FIXED_CABLE,
            "notes": (
                "Has an internal storage battery that self-checks at every boot; "
                "vendor DataTransfer messages report its state "
                "(configuration key BatterySampleInterval)."
            ),
        },
    )
    install_default_plan()
    install_full_plan()
    install_security_plan()
    FirmwareVersion.objects.get_or_create(
        charger_model=c8eu,
        version="V1.0.0_C8_Standard",
        defaults={"release_date": datetime.date(2023, 9, 1)},
    )
    return [
        _ensure_login("engineer", User.Role.ENGINEER, first_name="Demo", last_name="Engineer"),
        _ensure_login("xcharge", User.Role.MANUFACTURER, manufacturer=xcharge),
        _ensure_login("admin", User.Role.ADMINISTRATOR, superuser=True),
        _ensure_login("reviewer", User.Role.ENGINEER, first_name="Demo", last_name="Reviewer"),
    ]


def _ensure_login(
    username: str,
    role: str,
    *,
    manufacturer: Manufacturer | None = None,
    superuser: bool = False,
    first_name: str = "",
    last_name: str = "",
) -> DemoLogin:
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        user = User(
            username=username,
            role=role,
            manufacturer=manufacturer,
            is_superuser=superuser,
            first_name=first_name,
            last_name=last_name,
        )
        user.set_password(DEMO_PASSWORDS[username])
        user.save()
    return DemoLogin(username, DEMO_PASSWORDS[username], user.get_role_display(), created)
