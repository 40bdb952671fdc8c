"""Brute force is throttled and logged: AuthorizationKeys at the websocket handshake, and
passwords at the login form."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import openpyxl
import pytest
from axes.models import AccessAttempt
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db.models import F
from django.test import Client

from chargers import services
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
    ConnectionEvent.objects.filter(kind=ConnectionEvent.Kind.REFUSED).update(
        at=F("at") - timedelta(seconds=seconds), last_at=F("last_at") - timedelta(seconds=seconds)
    )


def handshake(identity: str, key: str, remote_address: str) -> str | None:
    """What the consumer does before the upgrade: decide, and record a refusal."""
    result = services.authenticate_charge_point(identity, _basic(identity, key), remote_address)
    if result.refused:
        services.record_refusal(identity, result.refused, remote_address)
    return result.refused


def refusals() -> list[tuple[str, str, str, int]]:
    return list(
        ConnectionEvent.objects.filter(kind="refused")
        .order_by("pk")
        .values_list("charge_point_identity", "remote_address", "detail", "count")
    )


def connecting_from(host: str, key: str, identity: str = "CP1") -> WebsocketCommunicator:
    ws = communicator(identity, key)
    ws.scope["client"] = (host, 40000)
    return ws


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_correct_key_is_refused_after_too_many_wrong_ones_until_the_window_passes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await adb(services.create_charge_point)("CP1", authorization_key=KEY)
    for _ in range(3):
        connected, _ = await connecting_from("10.0.0.7", "wrong-key-0123456789").connect()
        assert not connected

    with caplog.at_level(logging.WARNING):
        connected, _ = await connecting_from("10.0.0.7", KEY).connect()
    assert not connected
    assert "throttling 'CP1' from 10.0.0.7" in caplog.text
    assert await adb(refusals)() == [
        ("CP1", "10.0.0.7", "wrong AuthorizationKey", 3),
        ("CP1", "10.0.0.7", "too many failed attempts", 1),
    ]

    # Throttled refusals do not extend the lock: once the failures age out, the key works.
    await adb(age_refusals)(WINDOW + 1)
    ws = connecting_from("10.0.0.7", KEY)
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol == "ocpp1.6"
    await ws.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_nobody_locks_a_charger_out_from_another_address() -> None:
    """The weakness: ten bad handshakes for an identity, with no credentials, refused the
    real key for five minutes, renewable for ever."""
    await adb(services.create_charge_point)("CP1", authorization_key=KEY)
    for _ in range(4):
        connected, _ = await connecting_from("10.66.0.1", "").connect()
        assert not connected
    assert not (await connecting_from("10.66.0.1", KEY).connect())[0]

    ws = connecting_from("192.0.2.10", KEY)
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
    assert services.refusal_throttle("CP1", "10.0.0.7:5200") == "too many failed attempts"
    age_refusals(WINDOW + 1)
    assert services.refusal_throttle("CP1", "10.0.0.7:5200") is None


@pytest.mark.django_db
def test_a_limit_of_zero_disables_the_throttle(settings: object) -> None:
    settings.OCPP_THROTTLE_FAILURES = 0  # type: ignore[attr-defined]
    settings.OCPP_THROTTLE_ADDRESS_FAILURES = 0  # type: ignore[attr-defined]
    refuse("CP1", "10.0.0.7:5100", 6)
    assert services.refusal_throttle("CP1", "10.0.0.7:5100") is None


@pytest.mark.django_db
def test_a_flood_of_refused_handshakes_is_a_few_counted_rows(settings: object) -> None:
    """500 refused handshakes were 500 rows; throttled ones too."""
    settings.OCPP_THROTTLE_ADDRESS_FAILURES = 1000  # type: ignore[attr-defined]
    services.create_charge_point("CP1", authorization_key=KEY)
    for port in range(200):
        handshake("CP1", "wrong-key-0123456789", f"10.66.0.1:{port}")
    for port in range(50):
        handshake("NOSUCH", "", f"10.66.0.1:{port}")
    handshake("CP1", "wrong-key-0123456789", "10.66.0.2:1")
    assert refusals() == [
        ("CP1", "10.66.0.1", "wrong AuthorizationKey", 3),
        ("CP1", "10.66.0.1", "too many failed attempts", 197),
        ("NOSUCH", "10.66.0.1", "unknown chargePointId", 3),
        ("NOSUCH", "10.66.0.1", "too many failed attempts", 47),
        ("CP1", "10.66.0.2", "wrong AuthorizationKey", 1),
    ]
    first, last = ConnectionEvent.objects.filter(detail="too many failed attempts").values_list(
        "at", "last_at"
    )[0]
    assert last is not None and last > first


@pytest.mark.django_db
def test_a_new_window_starts_a_new_row() -> None:
    refuse("NOSUCH", "10.0.0.7:5100", 2)
    age_refusals(WINDOW + 1)
    refuse("NOSUCH", "10.0.0.7:5100", 1)
    assert [count for *_, count in refusals()] == [2, 1]


@pytest.mark.django_db
def test_an_identity_with_control_characters_breaks_no_page_or_export(
    engineer_client: Client,
) -> None:
    identity = "CP\x00\x07\x1b[31m\\"
    handshake(identity, "", "10.66.0.1:1")
    stored = "CP\\x00\\x07\\x1b[31m\\x5c"
    assert refusals() == [(stored, "10.66.0.1", "unknown chargePointId", 1)]
    page = engineer_client.get("/charge-points/events/")
    assert page.status_code == 200 and stored in page.content.decode()
    csv = engineer_client.get("/charge-points/events/?_export=csv")
    assert csv.status_code == 200 and stored in csv.content.decode()
    xlsx = engineer_client.get("/charge-points/events/?_export=xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert stored in [cell.value for row in sheet.iter_rows() for cell in row]


def _basic(identity: str, key: str) -> bytes:
    return dict(communicator(identity, key).scope["headers"])[b"authorization"]


# --- Logins: django-axes on every path ------------------------------------------------

GUESSER = "10.66.0.1"


def log_in(client: Client, username: str, password: str, path: str = "/accounts/login/") -> str:
    response = client.post(path, {"username": username, "password": password})
    assert response.status_code in (200, 302, 429)
    return response.content.decode()


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def age_login_failures(seconds: int) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=seconds))


def test_the_admin_login_shares_the_portal_logins_guard(engineer: User) -> None:
    """The breach: failures on the portal's form did not count at /admin/login/, whose
    guesses went through, and then the right password logged in."""
    engineer.is_staff = True
    engineer.save()
    guesser = Client(REMOTE_ADDR=GUESSER)
    for _ in range(2):
        assert "did not match" in log_in(guesser, "wei", "guess")
    assert "Too many failed attempts" in log_in(guesser, "wei", "guess")
    response = guesser.post("/admin/login/", {"username": "wei", "password": "pw-engineer-1"})
    assert response.status_code == 429
    assert not is_logged_in(guesser)


def test_admin_login_failures_alone_lock_the_admin_login(engineer: User) -> None:
    engineer.is_staff = True
    engineer.save()
    guesser = Client(REMOTE_ADDR=GUESSER)
    statuses = [
        guesser.post("/admin/login/", {"username": "wei", "password": "x"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    page = log_in(guesser, "wei", "pw-engineer-1", "/admin/login/")
    assert "Too many failed attempts; try again in 5 minutes." in page
    assert not is_logged_in(guesser)
    assert "Too many failed attempts" in log_in(guesser, "wei", "pw-engineer-1")


def test_a_guesser_cannot_lock_the_real_user_out_from_another_address(engineer: User) -> None:
    guesser = Client(REMOTE_ADDR=GUESSER)
    for _ in range(4):
        log_in(guesser, "wei", "guess")
    log_in(guesser, "wei", "pw-engineer-1")
    assert not is_logged_in(guesser)
    user = Client(REMOTE_ADDR="192.0.2.10")
    log_in(user, "wei", "pw-engineer-1")
    assert is_logged_in(user)


def test_the_lock_lifts_when_the_window_passes(engineer: User) -> None:
    client = Client()
    for _ in range(3):
        log_in(client, "wei", "guess")
    assert "Too many failed attempts" in log_in(client, "wei", "pw-engineer-1")
    age_login_failures(WINDOW - 30)
    assert "Too many failed attempts" in log_in(client, "wei", "pw-engineer-1")
    age_login_failures(31)
    log_in(client, "wei", "pw-engineer-1")
    assert is_logged_in(client)


def test_refusals_while_locked_do_not_extend_the_lock(engineer: User) -> None:
    client = Client()
    for _ in range(3):
        log_in(client, "wei", "guess")
    age_login_failures(WINDOW - 10)
    for _ in range(5):
        log_in(client, "wei", "guess")  # refused without being counted
    age_login_failures(11)
    log_in(client, "wei", "pw-engineer-1")
    assert is_logged_in(client)


def test_the_username_is_counted_whatever_its_case(engineer: User) -> None:
    for username in ("wei", "WEI", "Wei "):
        log_in(Client(), username, "guess")
    assert "Too many failed attempts" in log_in(Client(), "wei", "pw-engineer-1")


def test_one_address_trying_many_usernames_is_locked(engineer: User) -> None:
    for number in range(5):
        log_in(Client(REMOTE_ADDR=GUESSER), f"user{number}", "guess")
    assert "Too many failed attempts" in log_in(Client(REMOTE_ADDR=GUESSER), "wei", "pw-engineer-1")
    other_address = Client(REMOTE_ADDR="192.0.2.10")
    log_in(other_address, "wei", "pw-engineer-1")
    assert is_logged_in(other_address)


def test_an_address_under_its_limit_is_not_locked(engineer: User) -> None:
    for number in range(4):
        log_in(Client(REMOTE_ADDR=GUESSER), f"user{number}", "guess")
    client = Client(REMOTE_ADDR=GUESSER)
    log_in(client, "wei", "pw-engineer-1")
    assert is_logged_in(client)


def test_failures_are_counted_in_the_database_for_every_worker(engineer: User) -> None:
    """Several Daphne workers share the database, not a process's memory: a failure
    counted in one is a row every other one reads."""
    log_in(Client(REMOTE_ADDR=GUESSER), "wei", "guess")
    log_in(Client(REMOTE_ADDR=GUESSER), "wei", "guess")
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == (
        "wei",
        GUESSER,
        2,
    )
    cache.clear()
    log_in(Client(REMOTE_ADDR=GUESSER), "wei", "guess")
    assert "Too many failed attempts" in log_in(Client(REMOTE_ADDR=GUESSER), "wei", "pw-engineer-1")
