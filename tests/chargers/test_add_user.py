"""manage.py add_user: the first accounts of a deployment, with their roles."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from chargers.models import Manufacturer, User

pytestmark = pytest.mark.django_db


def add(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = "a-Long-pass-2026") -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("add_user", *args, "--password-stdin", stdout=out)
    return out.getvalue()


def test_it_creates_an_engineer_and_a_manufacturer_user(
    monkeypatch: pytest.MonkeyPatch, xcharge: Manufacturer
) -> None:
    assert "Created certification engineer wei" in add(monkeypatch, "wei", "--role", "engineer")
    add(monkeypatch, "xc-anna", "--role", "manufacturer", "--manufacturer", "Xcharge")
    wei, anna = User.objects.get(username="wei"), User.objects.get(username="xc-anna")
    assert wei.role == "engineer" and wei.check_password("a-Long-pass-2026")
    assert (anna.role, anna.manufacturer) == ("manufacturer", xcharge)


def test_it_refuses_a_weak_password_and_a_manufacturer_user_without_manufacturer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(CommandError, match=r"too common|too short"):
        add(monkeypatch, "ops", "--role", "admin", password="password")
    with pytest.raises(CommandError, match="needs --manufacturer"):
        add(monkeypatch, "maker", "--role", "manufacturer")
    assert not User.objects.exists()
