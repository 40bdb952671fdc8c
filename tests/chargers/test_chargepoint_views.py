"""Engineer pages of charge point identities, the connected list, events and evidence."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chargers import services
from chargers.models import (
    ChargePoint,
    ChargerModel,
    Command,
    Connection,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    IdTag,
)

pytestmark = pytest.mark.django_db

KEY = "page-key-0123456789"


@pytest.fixture
def charge_point(c8eu: ChargerModel) -> ChargePoint:
    charge_point, _ = services.create_charge_point(
        "CP-PAGE", authorization_key=KEY, charger_model=c8eu
    )
    return charge_point


def get_urls(cp: ChargePoint) -> dict[str, str]:
    return {
        "list": reverse("chargers:chargepoint-list"),
        "create": reverse("chargers:chargepoint-create"),
        "connected": reverse("chargers:connected"),
        "events": reverse("chargers:event-list"),
        "detail": reverse("chargers:chargepoint-detail", args=[cp.pk]),
        "frames": reverse("chargers:frame-list", args=[cp.pk]),
    }


def post_urls(cp: ChargePoint) -> dict[str, str]:
    tag, _ = IdTag.objects.get_or_create(charge_point=cp, id_tag="T1")
    return {
        "settings": reverse("chargers:chargepoint-settings", args=[cp.pk]),
        "rotate": reverse("chargers:chargepoint-rotate-key", args=[cp.pk]),
        "toggle": reverse("chargers:chargepoint-toggle", args=[cp.pk]),
        "idtag-add": reverse("chargers:idtag-add", args=[cp.pk]),
        "idtag-delete": reverse("chargers:idtag-delete", args=[cp.pk, tag.pk]),
        "command": reverse("chargers:command-send", args=[cp.pk]),
    }


def test_anonymous_visitors_log_in_first(client: Client, charge_point: ChargePoint) -> None:
    actions = post_urls(charge_point)
    for name, url in (get_urls(charge_point) | actions).items():
        response = client.post(url) if name in actions else client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_manufacturer_users_may_not_reach_the_lab_pages(
    manufacturer_client: Client, charge_point: ChargePoint
) -> None:
    for name, url in get_urls(charge_point).items():
        assert manufacturer_client.get(url).status_code == 403, name
    for name, url in post_urls(charge_point).items():
        assert manufacturer_client.post(url).status_code == 403, name
    charge_point.refresh_from_db()
    assert charge_point.enabled


def test_engineer_opens_every_page(engineer_client: Client, charge_point: ChargePoint) -> None:
    for name, url in get_urls(charge_point).items():
        assert engineer_client.get(url).status_code == 200, name


def test_actions_refuse_get_and_pages_refuse_post(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    for name, url in post_urls(charge_point).items():
        assert engineer_client.get(url).status_code == 405, name
    for name in ("list", "connected", "events", "detail", "frames"):
        assert engineer_client.post(get_urls(charge_point)[name]).status_code == 405, name


def test_creating_an_identity_shows_its_key_once(
    engineer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    response = engineer_client.post(
        reverse("chargers:chargepoint-create"),
        {
            "charge_point_id": "NEW-1",
            "charger_model": c8eu.pk,
            "firmware_version": c8eu_firmware.pk,
            "authorization_key": "",
        },
    )
    charge_point = ChargePoint.objects.get(charge_point_id="NEW-1")
    assert response["Location"] == charge_point.get_absolute_url()
    first = engineer_client.get(charge_point.get_absolute_url()).content.decode()
    key = first.split('<code id="new-key">')[1].split("</code>")[0]
    assert 16 <= len(key) <= 40
    assert key not in charge_point.auth_key_hash
    assert services.authenticate_charge_point("NEW-1", _basic("NEW-1", key)).refused is None
    again = engineer_client.get(charge_point.get_absolute_url()).content.decode()
    assert key not in again


def test_create_form_says_what_to_fix(
    engineer_client: Client, charge_point: ChargePoint, rival_firmware: FirmwareVersion
) -> None:
    response = engineer_client.post(
        reverse("chargers:chargepoint-create"),
        {
            "charge_point_id": "CP-PAGE",
            "authorization_key": "short",
            "charger_model": charge_point.charger_model_id,
            "firmware_version": rival_firmware.pk,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "already exists" in body
    assert "at least 16 characters" in body
    assert "is not a firmware of" in body


def test_rotating_the_key_locks_out_the_old_one(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    engineer_client.post(reverse("chargers:chargepoint-rotate-key", args=[charge_point.pk]))
    page = engineer_client.get(charge_point.get_absolute_url()).content.decode()
    new_key = page.split('<code id="new-key">')[1].split("</code>")[0]
    assert services.authenticate_charge_point("CP-PAGE", _basic("CP-PAGE", KEY)).refused
    assert services.authenticate_charge_point("CP-PAGE", _basic("CP-PAGE", new_key)).refused is None


def test_disabling_and_enabling_an_identity(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    engineer_client.post(reverse("chargers:chargepoint-toggle", args=[charge_point.pk]))
    charge_point.refresh_from_db()
    assert not charge_point.enabled
    refused = services.authenticate_charge_point("CP-PAGE", _basic("CP-PAGE", KEY)).refused
    assert refused == "identity is disabled"
    engineer_client.post(reverse("chargers:chargepoint-toggle", args=[charge_point.pk]))
    charge_point.refresh_from_db()
    assert charge_point.enabled


def test_central_system_answers_are_edited_with_clear_errors(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    url = reverse("chargers:chargepoint-settings", args=[charge_point.pk])
    bad = engineer_client.post(
        url, {"boot_answer": "Pending", "heartbeat_interval": 0, "data_transfer_answer": "Accepted"}
    )
    assert bad.status_code == 400 and "at least one second" in bad.content.decode()
    engineer_client.post(
        url,
        {"boot_answer": "Pending", "heartbeat_interval": 30, "data_transfer_answer": "Rejected"},
    )
    charge_point.refresh_from_db()
    assert (charge_point.boot_answer, charge_point.heartbeat_interval) == ("Pending", 30)
    assert charge_point.data_transfer_answer == "Rejected"


def test_id_tags_are_added_once_and_removed(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    url = reverse("chargers:idtag-add", args=[charge_point.pk])
    engineer_client.post(url, {"id_tag": "BLOCKED-1", "status": "Blocked"})
    assert services.id_tag_info(charge_point.pk, "BLOCKED-1") == {"status": "Blocked"}
    twice = engineer_client.post(url, {"id_tag": "BLOCKED-1", "status": "Accepted"})
    assert twice.status_code == 400 and "already in this charge point" in twice.content.decode()
    tag = IdTag.objects.get(id_tag="BLOCKED-1")
    engineer_client.post(reverse("chargers:idtag-delete", args=[charge_point.pk, tag.pk]))
    assert services.id_tag_info(charge_point.pk, "BLOCKED-1") == {"status": "Invalid"}


def test_an_expired_tag_is_answered_expired(charge_point: ChargePoint) -> None:
    IdTag.objects.create(
        charge_point=charge_point,
        id_tag="OLD",
        expiry_date=timezone.now() - datetime.timedelta(days=1),
    )
    assert services.id_tag_info(charge_point.pk, "OLD")["status"] == "Expired"


@pytest.mark.django_db(transaction=True)  # send_command reaches the database from async code
def test_command_form_errors_and_not_connected(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    url = reverse("chargers:command-send", args=[charge_point.pk])
    not_json = engineer_client.post(url, {"action": "Reset", "payload": "{type: Hard}"})
    assert not_json.status_code == 400 and "Not valid JSON" in not_json.content.decode()
    wrong = engineer_client.post(url, {"action": "Reset", "payload": '{"type": "Gentle"}'})
    assert "Reset payload is not valid OCPP 1.6" in wrong.content.decode()
    assert not Command.objects.exists()
    response = engineer_client.post(
        url, {"action": "Reset", "payload": '{"type": "Soft"}'}, follow=True
    )
    assert "not connected" in response.content.decode()
    command = Command.objects.get()
    assert command.status == Command.Status.NOT_CONNECTED and command.requested_by is not None


def _connect(charge_point: ChargePoint) -> Connection:
    return services.open_connection(
        charge_point, remote_address="127.0.0.1:5000", subprotocol="ocpp1.6", worker="test"
    )


def test_connected_page_lists_only_connected_charge_points(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    services.create_charge_point("OFFLINE-1", no_auth=True)  # never connects
    _connect(charge_point)
    services.record_status(
        charge_point.pk, {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
    )
    fragment = engineer_client.get(reverse("chargers:connected"), {"fragment": 1}).content.decode()
    assert "CP-PAGE" in fragment and "1: Charging" in fragment
    assert "OFFLINE-1" not in fragment and "<html" not in fragment
    listing = engineer_client.get(reverse("chargers:chargepoint-list")).content.decode()
    assert "CP-PAGE" in listing and "OFFLINE-1" in listing


def test_events_page_shows_refusals_of_unknown_identities(engineer_client: Client) -> None:
    services.record_refusal("GHOST-9", "unknown chargePointId", "10.0.0.9:1234")
    page = engineer_client.get(reverse("chargers:event-list"), {"kind": "refused"})
    body = page.content.decode()
    assert "GHOST-9" in body and "unknown chargePointId" in body


def test_evidence_page_filters_and_exports(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    connection = _connect(charge_point)
    now = timezone.now()
    Frame.objects.bulk_create(
        [
            Frame(
                charge_point=charge_point,
                connection=connection,
                seq=1,
                captured_at=now,
                direction="in",
                message_type=2,
                unique_id="a",
                action="Heartbeat",
                raw='[2,"a","Heartbeat",{}]',
                payload={},
            ),
            Frame(
                charge_point=charge_point,
                connection=connection,
                seq=2,
                captured_at=now,
                direction="in",
                message_type=None,
                raw="garbage",
                validation_error="not valid JSON",
            ),
        ]
    )
    url = reverse("chargers:frame-list", args=[charge_point.pk])
    invalid = engineer_client.get(url, {"invalid": "true"}).content.decode()
    assert "garbage" in invalid and "Heartbeat" not in invalid
    csv = engineer_client.get(url, {"_export": "csv"}).content.decode()
    assert "Heartbeat" in csv and "garbage" in csv and "not valid JSON" in csv


def test_add_charge_point_command(
    c8eu_firmware: FirmwareVersion, capsys: pytest.CaptureFixture
) -> None:
    call_command(
        "add_charge_point",
        "LAB-7",
        "--password",
        "lab-key-0123456789",
        "--model",
        "C8EU",
        "--firmware",
        "V1.0.0_C8_Standard",
    )
    assert "AuthorizationKey (shown once): lab-key-0123456789" in capsys.readouterr().out
    lab = ChargePoint.objects.get(charge_point_id="LAB-7")
    assert lab.firmware_version == c8eu_firmware
    call_command("add_charge_point", "OPEN-7", "--no-auth")
    assert ChargePoint.objects.get(charge_point_id="OPEN-7").security_profile == 0
    with pytest.raises(CommandError, match="already exists"):
        call_command("add_charge_point", "LAB-7", "--no-auth")
    with pytest.raises(CommandError, match="16 to 40"):
        call_command("add_charge_point", "LAB-8", "--password", "short")
    with pytest.raises(CommandError, match="must match exactly one"):
        call_command("add_charge_point", "LAB-9", "--model", "Nope")


def test_connection_events_record_why_a_connection_ended(charge_point: ChargePoint) -> None:
    connection = _connect(charge_point)
    services.close_connection(connection.pk, close_code=4000, replaced=True)
    services.close_connection(connection.pk, close_code=1000)  # a second close changes nothing
    kinds = list(ConnectionEvent.objects.order_by("pk").values_list("kind", "close_code"))
    assert kinds == [("connected", None), ("replaced", 4000)]


def _basic(identity: str, key: str) -> bytes:
    import base64

    return b"Basic " + base64.b64encode(f"{identity}:{key}".encode())


def test_a_new_connection_closes_any_other_still_recorded_as_open(
    charge_point: ChargePoint,
) -> None:
    first = _connect(charge_point)
    second = _connect(charge_point)
    first.refresh_from_db()
    assert first.closed_at is not None and second.closed_at is None
    assert ConnectionEvent.objects.filter(connection=first, kind="replaced").exists()


def test_serve_closes_connections_of_workers_that_stopped(charge_point: ChargePoint) -> None:
    import os
    import socket

    other, _ = services.create_charge_point("OTHER-1", no_auth=True)
    host = socket.gethostname()
    dead = services.open_connection(
        charge_point, remote_address="", subprotocol="ocpp1.6", worker=f"{host}:999999"
    )
    alive = services.open_connection(
        other, remote_address="", subprotocol="ocpp1.6", worker=f"{host}:{os.getpid()}"
    )
    assert services.close_connections_of_dead_workers() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.closed_at is not None and alive.closed_at is None
    event = ConnectionEvent.objects.get(connection=dead, kind="closed")
    assert "999999" in event.detail and "stopped" in event.detail


def test_evidence_page_queries_do_not_grow_with_its_rows(
    engineer_client: Client, charge_point: ChargePoint, django_assert_max_num_queries: object
) -> None:
    connection = _connect(charge_point)
    now = timezone.now()
    Frame.objects.bulk_create(
        Frame(
            charge_point=charge_point,
            connection=connection,
            seq=n,
            captured_at=now,
            direction="in",
            message_type=2,
            unique_id=str(n),
            action="Heartbeat",
            raw="[2]",
            payload={},
        )
        for n in range(1, 151)
    )
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = engineer_client.get(reverse("chargers:frame-list", args=[charge_point.pk]))
    assert response.status_code == 200
