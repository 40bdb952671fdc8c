from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from chargers.models import ChargerModel, FirmwareVersion, User

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent_and_both_demo_users_log_in(capsys: pytest.CaptureFixture) -> None:
    call_command("load_demo")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "user engineer" in out and "password engineer-demo" in out
    assert "user xcharge" in out and "password xcharge-demo" in out

    c8eu = ChargerModel.objects.get(manufacturer__name="Xcharge", name="C8EU")
    assert c8eu.current_type == "DC"
    assert FirmwareVersion.objects.filter(charger_model=c8eu).count() == 1
    assert User.objects.filter(username__in=["engineer", "xcharge", "admin"]).count() == 3

    for username, password in [("engineer", "engineer-demo"), ("xcharge", "xcharge-demo")]:
        client = Client()
        client.post("/accounts/login/", {"username": username, "password": password})
        assert "_auth_user_id" in client.session, username
        assert client.get("/").status_code == 200


def test_load_demo_keeps_a_changed_password(capsys: pytest.CaptureFixture) -> None:
    call_command("load_demo")
    engineer = User.objects.get(username="engineer")
    engineer.set_password("my-own-secret-99")
    engineer.save()
    call_command("load_demo")
    engineer.refresh_from_db()
    assert engineer.check_password("my-own-secret-99")
