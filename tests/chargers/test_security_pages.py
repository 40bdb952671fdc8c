"""The security profile, the lab root and TLS faults from the charge point page and the API;
the security plan as data; an accepted security configuration followed by the portal."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from certification import security_plan
from certification.models import TestPlan
from certification.services import install_security_plan
from chargers import pki, services
from chargers.api_tokens import create_api_token
from chargers.models import ChargePoint, Command, TlsFault, User
from chargers.ocpp.central_system import CommandOutcome
from chargers.transfers import placeholder_example

KEY = "pages-key-0123456789"


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    created, _ = services.create_charge_point("SEC-PAGE", authorization_key=KEY)
    return created


def test_engineers_download_the_lab_root(engineer_client: Client) -> None:
    response = engineer_client.get(reverse("chargers:lab-root"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    root = pki.load_certificate(response.content)
    assert root.issuer == root.subject


def test_the_lab_root_is_not_for_manufacturers_nor_posts(
    manufacturer_client: Client, engineer_client: Client
) -> None:
    assert manufacturer_client.get(reverse("chargers:lab-root")).status_code == 403
    assert engineer_client.post(reverse("chargers:lab-root")).status_code == 405


def test_the_page_sets_the_profile_and_arms_a_fault(
    engineer_client: Client, charge_point: ChargePoint
) -> None:
    url = reverse("chargers:chargepoint-security", args=[charge_point.pk])
    engineer_client.post(url, {"security_profile": "2"})
    charge_point.refresh_from_db()
    assert charge_point.security_profile == 2
    engineer_client.post(url, {"tls_fault": "expired"})
    fault = TlsFault.objects.get()
    assert (fault.charge_point, fault.kind, fault.handshakes) == (charge_point, "expired", 1)
    page = engineer_client.get(charge_point.get_absolute_url()).content.decode()
    assert "Arm fault (TC_078)" in page and "TLS with HTTP Basic" in page
    assert engineer_client.post(url, {"tls_fault": "nonsense"}).status_code == 302
    assert TlsFault.objects.count() == 1
    assert engineer_client.get(url).status_code == 405


def test_manufacturers_cannot_arm_faults(
    manufacturer_client: Client, charge_point: ChargePoint
) -> None:
    url = reverse("chargers:chargepoint-security", args=[charge_point.pk])
    assert manufacturer_client.post(url, {"tls_fault": "expired"}).status_code == 403
    assert not TlsFault.objects.exists()


def test_the_api_arms_faults_and_sets_profiles(engineer: User, charge_point: ChargePoint) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_api_token(engineer)[1]}")
    base = f"/api/charge-points/{charge_point.pk}"
    answer = client.post(f"{base}/tls-fault/", {"kind": "old-tls", "handshakes": 2}, format="json")
    assert answer.status_code == 201
    assert answer.json()["kind"] == "old-tls" and answer.json()["presented"] == 0
    assert client.post(f"{base}/tls-fault/", {"kind": "bogus"}, format="json").status_code == 400
    answer = client.post(f"{base}/security-profile/", {"security_profile": 3}, format="json")
    assert answer.json() == {"security_profile": 3}


def test_the_security_plan_installs_once_and_its_commands_are_valid_ocpp(db: None) -> None:
    plan = install_security_plan()
    assert install_security_plan() == plan
    assert TestPlan.objects.filter(name=security_plan.PLAN_NAME).count() == 1
    steps = list(plan.steps.order_by("number"))
    assert len(steps) == len(security_plan.STEPS)
    named = " ".join(step.description for step in steps)
    for test_case in (
        "TC_073",
        "TC_074",
        "TC_077",
        "TC_078",
        "TC_079",
        "TC_080",
        "TC_081",
        "TC_084",
    ):
        assert test_case in named
    for step in steps:
        for command in step.commands:
            services.validate_command(command["action"], placeholder_example(command["payload"]))


def accepted(charge_point: ChargePoint, key: str, value: str, status: str = "Accepted") -> None:
    command = Command.objects.create(
        charge_point=charge_point,
        action="ChangeConfiguration",
        payload={"key": key, "value": value},
        requested_at=charge_point.created_at,
    )
    services.complete_command(
        command.pk, CommandOutcome("answered", "u-1", {"status": status}, round_trip_ms=5)
    )


def test_an_accepted_authorization_key_and_profile_are_what_the_portal_demands_next(
    charge_point: ChargePoint,
) -> None:
    accepted(charge_point, "AuthorizationKey", "fedcba9876543210fedc")
    basic = b"Basic " + base64.b64encode(b"SEC-PAGE:fedcba9876543210fedc")
    assert services.authenticate_charge_point("SEC-PAGE", basic).refused is None
    accepted(charge_point, "SecurityProfile", "2")
    charge_point.refresh_from_db()
    assert charge_point.security_profile == 2
    accepted(charge_point, "SecurityProfile", "1", status="Rejected")
    charge_point.refresh_from_db()
    assert charge_point.security_profile == 2
