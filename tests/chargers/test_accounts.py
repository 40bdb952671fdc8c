from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from chargers.models import User

pytestmark = pytest.mark.django_db


def test_login_with_right_password_lands_on_overview(client: Client, engineer: User) -> None:
    response = client.post(
        reverse("login"), {"username": "wei", "password": "pw-engineer-1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Overview" in response.content.decode()


def test_login_with_wrong_password_says_so(client: Client, engineer: User) -> None:
    response = client.post(reverse("login"), {"username": "wei", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_logout_is_a_post(engineer_client: Client) -> None:
    assert engineer_client.get(reverse("logout")).status_code == 405
    response = engineer_client.post(reverse("logout"))
    assert response.status_code == 302
    assert engineer_client.get(reverse("home")).status_code == 302


def test_password_change(engineer_client: Client, engineer: User) -> None:
    page = engineer_client.get(reverse("password_change"))
    assert page.status_code == 200
    bad = engineer_client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    assert "Your old password was entered incorrectly" in bad.content.decode()
    good = engineer_client.post(
        reverse("password_change"),
        {
            "old_password": "pw-engineer-1",
            "new_password1": "a-much-longer-passphrase-42",
            "new_password2": "a-much-longer-passphrase-42",
        },
    )
    assert good["Location"] == reverse("password_change_done")
    engineer.refresh_from_db()
    assert engineer.check_password("a-much-longer-passphrase-42")


def test_password_change_needs_login(client: Client) -> None:
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
