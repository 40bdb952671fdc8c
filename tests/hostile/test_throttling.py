"""Brute force is throttled and logged: AuthorizationKeys at the websocket handshake, and
passwords at the login form."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from chargers import services, throttle
from chargers.models import ConnectionEvent, User
from tests.chargers.ocpp_helpers import adb, communicator

KEY = "right-key-0123456789"
WINDOW = 300


@pytest.fixture(autouse=True)
def small_limits(settings: object) -> None:
    settings.OCPP_THROTTLE_FAILURES = 3  # type: ignore[attr-defined]
    settings.OCPP_THROTTLE_ADDRESS_FAILURES = 5  # type: ignore[attr-defined]
    settings.OCPP_THROTTLE_WINDOW = WINDOW  # type: ignore[attr-defined]
    settings.LOGIN_THROTTLE_FAILURES = 3  # type: ignore[attr-defined]
    settings.LOGIN_THROTTLE_ADDRESS_FAILURES = 5  # type: ignore[attr-defined]
    settings.LOGIN_THROTTLE_WINDOW = WINDOW  # type: ignore[attr-defined]
    cache.clear()


# --- Charge point keys ----------------------------------------------------------------


def age_refusals(seconds: int) -> None:
    """Time travel: the recorded refusals happened ``seconds`` earlier."""
    for event in ConnectionEvent.objects.filter(kind=ConnectionEvent.Kind.REFUSED):
        event.at -= datetime.timedelta(seconds=seconds)
        event.save(update_fields=["at"])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_correct_key_is_refused_after_too_many_wrong_ones_until_the_window_passes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await adb(services.create_charge_point)("CP1", authorization_key=KEY)
    for _ in range(3):
        ws = communicator(key="wrong-key-0123456789")
        connected, _ = await ws.connect()
        assert not connected

    with caplog.at_level(logging.WARNING):
        ws = communicator(key=KEY)
        connected, _ = await ws.connect()
    assert not connected
    assert "throttling 'CP1'" in caplog.text
    refusals = await adb(
        lambda: list(
            ConnectionEvent.objects.filter(kind="refused")
            .order_by("pk")
            .values_list("detail", flat=True)
        )
    )()
    assert refusals == ["wrong AuthorizationKey"] * 3 + ["too many failed attempts"]

    # Throttled refusals do not extend the lock: once the failures age out, the key works.
    await adb(age_refusals)(WINDOW + 1)
    ws = communicator(key=KEY)
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol == "ocpp1.6"
    await ws.disconnect()


def refuse(identity: str, remote_address: str, times: int) -> None:
    for _ in range(times):
        services.record_refusal(identity, "wrong AuthorizationKey", remote_address)


@pytest.mark.django_db
def test_refusals_just_under_the_limit_do_not_throttle() -> None:
    charge_point, _ = services.create_charge_point("CP1", authorization_key=KEY)
    refuse("CP1", "10.0.0.7:5100", 2)
    result = services.authenticate_charge_point("CP1", _basic("CP1", KEY), "10.0.0.7:5101")
    assert result.refused is None and result.charge_point == charge_point


@pytest.mark.django_db
def test_one_address_guessing_many_identities_is_throttled_on_every_port() -> None:
    services.create_charge_point("CP1", authorization_key=KEY)
    for number in range(5):
        refuse(f"GUESS{number}", f"10.0.0.7:{5000 + number}", 1)
    throttled = services.authenticate_charge_point("CP1", _basic("CP1", KEY), "10.0.0.7:6000")
    assert throttled.refused == "too many failed attempts"
    other_host = services.authenticate_charge_point("CP1", _basic("CP1", KEY), "10.0.0.70:6000")
    assert other_host.refused is None


@pytest.mark.django_db
def test_refusals_older_than_the_window_do_not_count() -> None:
    services.create_charge_point("CP1", authorization_key=KEY)
    refuse("CP1", "10.0.0.7:5100", 3)
    assert services.refusal_throttle("CP1") == "too many failed attempts"
    age_refusals(WINDOW + 1)
    assert services.refusal_throttle("CP1") is None


@pytest.mark.django_db
def test_a_limit_of_zero_disables_the_throttle(settings: object) -> None:
    settings.OCPP_THROTTLE_FAILURES = 0  # type: ignore[attr-defined]
    settings.OCPP_THROTTLE_ADDRESS_FAILURES = 0  # type: ignore[attr-defined]
    refuse("CP1", "10.0.0.7:5100", 6)
    assert services.refusal_throttle("CP1", "10.0.0.7:5100") is None


def _basic(identity: str, key: str) -> bytes:
    return dict(communicator(identity, key).scope["headers"])[b"authorization"]


# --- Logins ---------------------------------------------------------------------------


def log_in(client: Client, username: str, password: str) -> str:
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code in (200, 302)
    return response.content.decode()


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.urls("tests.hostile.urls")
def test_a_correct_password_is_refused_after_too_many_failures_until_the_window_passes(
    engineer: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    for _ in range(3):
        assert "did not match" in log_in(client, "wei", "guess")
    with caplog.at_level(logging.WARNING):
        page = log_in(client, "wei", "pw-engineer-1")
    assert "Too many failed attempts; try again in 5 minutes." in page
    assert not is_logged_in(client)
    assert "login: refused 'wei'" in caplog.text

    now = throttle._now()
    monkeypatch.setattr(throttle, "_now", lambda: now + WINDOW + 1)
    log_in(client, "wei", "pw-engineer-1")
    assert is_logged_in(client)


@pytest.mark.urls("tests.hostile.urls")
def test_the_wait_shown_is_what_is_left_of_the_window(
    engineer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        log_in(Client(), "wei", "guess")
    now = throttle._now()
    monkeypatch.setattr(throttle, "_now", lambda: now + WINDOW - 30)
    assert "try again in 1 minute." in log_in(Client(), "wei", "pw-engineer-1")


@pytest.mark.urls("tests.hostile.urls")
def test_the_username_is_throttled_whatever_its_case(engineer: User) -> None:
    for username in ("wei", "WEI", "Wei"):
        log_in(Client(), username, "guess")
    assert "Too many failed attempts" in log_in(Client(), "wei", "pw-engineer-1")


@pytest.mark.urls("tests.hostile.urls")
def test_one_address_trying_many_usernames_is_throttled(engineer: User) -> None:
    for number in range(5):
        log_in(Client(), f"user{number}", "guess")
    assert "Too many failed attempts" in log_in(Client(), "wei", "pw-engineer-1")
    other_address = Client(REMOTE_ADDR="10.1.2.3")
    log_in(other_address, "wei", "pw-engineer-1")
    assert is_logged_in(other_address)


@pytest.mark.urls("tests.hostile.urls")
def test_a_successful_login_forgets_earlier_typos(engineer: User) -> None:
    for _ in range(2):
        log_in(Client(), "wei", "typo")
    log_in(Client(), "wei", "pw-engineer-1")
    for _ in range(2):
        log_in(Client(), "wei", "typo")
    client = Client()
    log_in(client, "wei", "pw-engineer-1")
    assert is_logged_in(client)
