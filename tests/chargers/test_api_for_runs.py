"""What a lab script needs to drive a run through the API alone, without the pages: the
idTags of a charge point, firmware images, and the charge point's transactions with the
ongoing one per connector (issue 15, item 11)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from chargers import services
from chargers.models import ChargePoint, FirmwareVersion, IdTag, User
from chargers.ocpp.validation import parse_ocpp_time

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_id_tags_are_listed_added_and_their_status_changed(
    engineer: User, run_charge_point: ChargePoint
) -> None:
    url = f"/api/charge-points/{run_charge_point.pk}/id-tags/"
    client = api(engineer)

    added = client.post(url, {"id_tag": "04A2B3C4D5E6F7", "status": "Accepted"}, format="json")
    blocked = client.post(url, {"id_tag": "DEADBEEF000000", "status": "Blocked"}, format="json")
    twice = client.post(url, {"id_tag": "04A2B3C4D5E6F7"}, format="json")
    changed = client.patch(f"{url}DEADBEEF000000/", {"status": "Expired"}, format="json")
    listed = client.get(url)

    assert added.status_code == 201 and blocked.status_code == 201
    assert twice.status_code == 400
    assert twice.json() == {"id_tag": ["04A2B3C4D5E6F7 is already in this charge point's list."]}
    assert changed.status_code == 200 and changed.json()["status"] == "Expired"
    assert [(t["id_tag"], t["status"]) for t in listed.json()] == [
        ("04A2B3C4D5E6F7", "Accepted"),
        ("DEADBEEF000000", "Expired"),
    ]
    # The central system answers with what the API set.
    assert services.id_tag_info(run_charge_point.pk, "DEADBEEF000000") == {"status": "Expired"}
    assert client.get(f"{url}NOSUCHTAG/").status_code == 404


def test_id_tags_are_for_engineers_only(
    manufacturer_user: User, run_charge_point: ChargePoint
) -> None:
    url = f"/api/charge-points/{run_charge_point.pk}/id-tags/"

    assert api(manufacturer_user).get(url).status_code == 403
    assert api(manufacturer_user).post(url, {"id_tag": "X"}, format="json").status_code == 403
    assert not IdTag.objects.exists()


def test_firmware_images_are_uploaded_and_listed(
    engineer: User, manufacturer_user: User, c8eu_firmware: FirmwareVersion
) -> None:
    url = f"/api/firmware-versions/{c8eu_firmware.pk}/images/"
    content = b"SIMFW 2.0.0\n" + bytes(range(256)) * 4

    uploaded = api(engineer).post(
        url, {"image": SimpleUploadedFile("c8eu-2.0.0.apk", content)}, format="multipart"
    )
    empty = api(engineer).post(
        url, {"image": SimpleUploadedFile("empty.apk", b"")}, format="multipart"
    )
    refused = api(manufacturer_user).post(
        url, {"image": SimpleUploadedFile("x.apk", content)}, format="multipart"
    )
    listed = api(engineer).get(url)

    assert uploaded.status_code == 201, uploaded.json()
    assert uploaded.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert uploaded.json()["size"] == len(content)
    assert uploaded.json()["purpose"] == "valid"
    assert empty.status_code == 400
    assert refused.status_code == 403
    assert [(i["original_name"], i["size"]) for i in listed.json()] == [
        ("c8eu-2.0.0.apk", len(content))
    ]


def test_transactions_with_the_ongoing_one_per_connector(
    engineer: User, run_charge_point: ChargePoint
) -> None:
    def start(connector: int, minute: int) -> int:
        started = services.start_transaction(
            run_charge_point.pk,
            {
                "connectorId": connector,
                "idTag": "CARD-1",
                "meterStart": 100,
                "timestamp": parse_ocpp_time(f"2023-09-22T10:{minute:02d}:00Z").value,
            },
        )
        return started.transaction_id

    IdTag.objects.create(charge_point=run_charge_point, id_tag="CARD-1")

    done = start(1, 0)
    services.stop_transaction(
        run_charge_point.pk,
        {
            "transactionId": done,
            "meterStop": 1600,
            "timestamp": parse_ocpp_time("2023-09-22T10:05:00Z").value,
        },
    )
    running = start(2, 10)

    answer = api(engineer).get(f"/api/charge-points/{run_charge_point.pk}/transactions/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["ongoing"]["1"] is None
    assert body["ongoing"]["2"]["transaction_id"] == running
    assert [(t["transaction_id"], t["ongoing"], t["energy_wh"]) for t in body["transactions"]] == [
        (running, True, None),
        (done, False, 1500),
    ]
