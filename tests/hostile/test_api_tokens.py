"""API tokens (django-rest-knox): hashed at rest, shown once, expiring, revocable by their
owner, revoked by a password change, never usable from the admin."""

from __future__ import annotations

import base64
import datetime

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from chargers.api_tokens import create_api_token
from chargers.models import User


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def works(token: str) -> bool:
    return api(token).get("/api/charge-points/").status_code == 200


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.django_db
def test_a_token_is_stored_only_as_a_hash(engineer: User) -> None:
    _, token = create_api_token(engineer)
    assert works(token)
    row = AuthToken.objects.get()
    stored = " ".join(str(value) for value in row.__dict__.values())
    assert token not in stored
    assert token.startswith(row.token_key) and len(row.token_key) <= 15
    assert row.expiry is not None and row.expiry > timezone.now() + datetime.timedelta(days=29)


@pytest.mark.django_db
def test_the_page_shows_a_new_token_once(engineer_client: Client, engineer: User) -> None:
    made = engineer_client.post(reverse("chargers:api-tokens"))
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    token = made.context["new_token"]
    assert token in made.content.decode() and works(token)
    listed = engineer_client.get(reverse("chargers:api-tokens")).content.decode()
    assert token not in listed and token[:15] in listed


@pytest.mark.django_db
def test_an_expired_token_is_refused(engineer: User) -> None:
    instance, token = create_api_token(engineer)
    AuthToken.objects.filter(pk=instance.pk).update(
        expiry=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert not works(token)


@pytest.mark.django_db
def test_the_owner_revokes_a_token_and_nobody_else_can(
    engineer_client: Client, engineer: User, manufacturer_client: Client
) -> None:
    instance, token = create_api_token(engineer)
    url = reverse("chargers:api-token-revoke", args=[instance.digest])
    assert manufacturer_client.post(url).status_code == 404
    assert works(token)
    assert engineer_client.get(url).status_code == 405
    assert engineer_client.post(url).status_code == 302
    assert not works(token)


@pytest.mark.django_db
def test_logout_through_the_api_revokes_the_token(engineer: User) -> None:
    _, token = create_api_token(engineer)
    assert api(token).post("/api/auth/logout/").status_code == 204
    assert not works(token)


@pytest.mark.django_db
def test_a_password_change_revokes_every_token(engineer_client: Client, engineer: User) -> None:
    tokens = [create_api_token(engineer)[1] for _ in range(2)]
    response = engineer_client.post(
        reverse("password_change"),
        {
            "old_password": "pw-engineer-1",
            "new_password1": "a-new-long-passphrase-7",
            "new_password2": "a-new-long-passphrase-7",
        },
    )
    assert response.status_code == 302
    assert not any(works(token) for token in tokens)


@pytest.mark.django_db
def test_set_password_anywhere_revokes_every_token(engineer: User) -> None:
    _, token = create_api_token(engineer)
    engineer.first_name = "Wei Lin"
    engineer.save()
    assert works(token)  # an ordinary save keeps them
    engineer.set_password("another-long-passphrase-8")
    engineer.save()
    assert not works(token)


@pytest.mark.django_db
def test_the_api_login_gives_a_token_for_the_right_password_only(engineer: User) -> None:
    client = Client()
    wrong = client.post("/api/auth/login/", HTTP_AUTHORIZATION=basic("wei", "nope"))
    assert wrong.status_code == 401
    right = client.post("/api/auth/login/", HTTP_AUTHORIZATION=basic("wei", "pw-engineer-1"))
    assert right.status_code == 200 and works(right.json()["token"])


@pytest.mark.django_db
def test_the_api_login_shares_the_login_guard(engineer: User, settings: object) -> None:
    settings.LOGIN_THROTTLE_FAILURES = 3  # type: ignore[attr-defined]
    guesser = Client(REMOTE_ADDR="10.66.0.1")
    for _ in range(3):
        guesser.post("/accounts/login/", {"username": "wei", "password": "guess"})
    locked = guesser.post("/api/auth/login/", HTTP_AUTHORIZATION=basic("wei", "pw-engineer-1"))
    assert locked.status_code in (401, 403, 429)
    assert "token" not in locked.content.decode()
    assert not AuthToken.objects.exists()
    elsewhere = Client(REMOTE_ADDR="192.0.2.10")
    ok = elsewhere.post("/api/auth/login/", HTTP_AUTHORIZATION=basic("wei", "pw-engineer-1"))
    assert ok.status_code == 200


@pytest.mark.django_db
def test_the_admin_never_shows_a_usable_token(engineer: User) -> None:
    admin_user = User.objects.create_superuser("root", password="pw-root-123")
    _, token = create_api_token(engineer)
    client = Client()
    client.force_login(admin_user)
    listing = client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200 and token not in listing.content.decode()
    assert client.get("/admin/knox/authtoken/add/").status_code == 403
    assert client.get("/admin/authtoken/").status_code == 404  # DRF's clear-text tokens: gone
    row = AuthToken.objects.get()
    detail = client.get(f"/admin/knox/authtoken/{row.pk}/change/")
    assert detail.status_code == 200 and token not in detail.content.decode()


@pytest.mark.django_db
def test_the_management_command_prints_a_working_token(
    engineer: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_api_token", "wei")
    assert works(capsys.readouterr().out.strip())


@pytest.mark.django_db
def test_guesses_at_the_api_login_count_for_every_login_path(
    engineer: User, settings: object
) -> None:
    settings.LOGIN_THROTTLE_FAILURES = 3  # type: ignore[attr-defined]
    guesser = Client(REMOTE_ADDR="10.66.0.1")
    for _ in range(3):
        guesser.post("/api/auth/login/", HTTP_AUTHORIZATION=basic("wei", "guess"))
    page = guesser.post("/accounts/login/", {"username": "wei", "password": "pw-engineer-1"})
    assert page.status_code == 429 and "_auth_user_id" not in guesser.session
