"""Charge point identities: one syntax (chargers.models.validate_charge_point_id), enforced
wherever an identity is created, so that every identity the portal accepts can connect."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chargers import services
from chargers.models import ChargePoint, IdTag, User, validate_charge_point_id

pytestmark = pytest.mark.django_db

REFUSED = [
    ("CP:01", "cannot contain ':'"),
    (":", "cannot contain ':'"),
    ("A" * 49, "at most 48 characters"),
    ("CP 01", "URL path"),
    ("CP/01", "URL path"),
    ("CP?01", "URL path"),
    ("CP#01", "URL path"),
    ("CP%2F01", "URL path"),
    ("CPé01", "URL path"),
    ("", "cannot be empty"),
]


def _basic(user_and_key: str) -> bytes:
    return b"Basic " + base64.b64encode(user_and_key.encode())


@pytest.mark.parametrize(("identity", "reason"), REFUSED)
def test_the_syntax_refuses_what_http_basic_or_a_url_path_cannot_carry(
    identity: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate_charge_point_id(identity)


@pytest.mark.parametrize("identity", ["CP01", "A" * 48, "xc.C8-EU_01*+|@"])
def test_the_syntax_accepts_ocpp_identities(identity: str) -> None:
    validate_charge_point_id(identity)


@pytest.mark.parametrize(("identity", "reason"), REFUSED[:3])
def test_the_form_refuses_an_identity_that_could_never_connect(
    engineer_client: Client, identity: str, reason: str
) -> None:
    response = engineer_client.post(
        reverse("chargers:chargepoint-create"),
        {"charge_point_id": identity, "authorization_key": ""},
    )
    assert response.status_code == 200
    assert reason.replace("'", "&#x27;") in response.content.decode()
    assert not ChargePoint.objects.exists()


@pytest.mark.parametrize(("identity", "reason"), REFUSED[:3])
def test_the_api_refuses_an_identity_that_could_never_connect(
    engineer: User, identity: str, reason: str
) -> None:
    client = APIClient()
    client.force_authenticate(engineer)
    response = client.post("/api/charge-points/", {"charge_point_id": identity}, format="json")
    assert response.status_code == 400
    assert reason in str(response.json()["charge_point_id"])
    assert not ChargePoint.objects.exists()


@pytest.mark.parametrize(("identity", "reason"), REFUSED[:3])
def test_the_management_command_refuses_an_identity_that_could_never_connect(
    identity: str, reason: str
) -> None:
    with pytest.raises(CommandError, match=reason):
        call_command("add_charge_point", identity, "--no-auth")
    assert not ChargePoint.objects.exists()


def test_an_identity_created_with_a_colon_before_the_rule_still_connects() -> None:
    # Rows from before the rule: RFC 7617 ends the user-id at the first ':', so the
    # credentials are matched as "<identity>:" followed by the key.
    charge_point = ChargePoint(charge_point_id="OLD:01")
    charge_point.auth_key_hash = services.hash_authorization_key("right-key-0123456789")
    charge_point.save()
    result = services.authenticate_charge_point("OLD:01", _basic("OLD:01:right-key-0123456789"))
    assert result.refused is None
    wrong = services.authenticate_charge_point("OLD:01", _basic("OLD:01:wrong-key-0123456789"))
    assert wrong.refused == "wrong AuthorizationKey"


def test_the_same_id_tag_in_another_case_cannot_be_listed_twice() -> None:
    charge_point, _ = services.create_charge_point("CP1", no_auth=True)
    IdTag.objects.create(charge_point=charge_point, id_tag="DEADBEEF")
    with pytest.raises(ValidationError, match="already has this idTag"):
        IdTag(charge_point=charge_point, id_tag="deadbeef").full_clean()
