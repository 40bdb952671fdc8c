"""Manufacturer CAs for security profile 3, trusted per charger model from the model's page
and the API (issue 17): engineers add them, with a clear answer for what is not a CA;
manufacturer users see only their own models' CAs and cannot add one."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chargers import pki, security, services
from chargers.api_tokens import create_api_token
from chargers.models import ChargerModel, ManufacturerCertificate, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker_ca() -> pki.Issued:
    return pki.create_root("Xcharge Manufacturing CA", "Xcharge")


def api(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_api_token(user)[1]}")
    return client


def test_an_engineer_trusts_a_manufacturer_ca_from_the_models_page(
    engineer_client: Client, c8eu: ChargerModel, maker_ca: pki.Issued
) -> None:
    url = reverse("chargers:model-ca-upload", args=[c8eu.pk])
    response = engineer_client.post(url, {"certificate_pem": maker_ca.certificate_pem})
    assert response.status_code == 302
    [ca] = ManufacturerCertificate.objects.filter(charger_model=c8eu)
    assert "Xcharge Manufacturing CA" in ca.subject
    page = engineer_client.get(c8eu.get_absolute_url()).content.decode()
    assert "Xcharge Manufacturing CA" in page and "are now trusted" in page
    # Profile 3 certificates of the model's charge points may now chain to it.
    cp, _ = services.create_charge_point("MAKER-1", no_auth=True, charger_model=c8eu)
    trusted = {pki.fingerprint(root) for root in security.trusted_roots(cp)}
    assert pki.fingerprint(pki.load_certificate(maker_ca.certificate_pem)) in trusted


def test_a_leaf_certificate_or_garbage_is_refused_with_what_to_fix(
    engineer_client: Client, c8eu: ChargerModel, maker_ca: pki.Issued
) -> None:
    url = reverse("chargers:model-ca-upload", args=[c8eu.pk])
    leaf = pki.issue_client(maker_ca, "NOT-A-CA")
    page = engineer_client.post(url, {"certificate_pem": leaf.certificate_pem}, follow=True)
    assert "not a CA" in page.content.decode()
    page = engineer_client.post(url, {"certificate_pem": "hello"}, follow=True)
    assert "not a PEM certificate" in page.content.decode()
    page = engineer_client.post(url, {}, follow=True)
    assert "Paste the CA certificate in PEM" in page.content.decode()
    assert not ManufacturerCertificate.objects.exists()


def test_a_pem_file_is_taken_too(
    engineer_client: Client, c8eu: ChargerModel, maker_ca: pki.Issued
) -> None:
    upload = SimpleUploadedFile("maker.pem", maker_ca.certificate_pem.encode())
    engineer_client.post(
        reverse("chargers:model-ca-upload", args=[c8eu.pk]), {"certificate_file": upload}
    )
    assert ManufacturerCertificate.objects.filter(charger_model=c8eu).count() == 1


def test_manufacturer_users_cannot_add_a_ca_and_see_only_their_own(
    manufacturer_client: Client,
    manufacturer_user: User,
    c8eu: ChargerModel,
    rival_model: ChargerModel,
    maker_ca: pki.Issued,
) -> None:
    url = reverse("chargers:model-ca-upload", args=[c8eu.pk])
    assert (
        manufacturer_client.post(url, {"certificate_pem": maker_ca.certificate_pem}).status_code
        == 403
    )
    security.add_manufacturer_ca(rival_model, pki.create_root("Rival CA", "Rival").certificate_pem)
    client = api(manufacturer_user)
    assert client.get(f"/api/charger-models/{rival_model.pk}/ca-certificates/").status_code == 404
    assert client.get(f"/api/charger-models/{c8eu.pk}/ca-certificates/").json() == []
    answer = client.post(
        f"/api/charger-models/{c8eu.pk}/ca-certificates/",
        {"certificate_pem": maker_ca.certificate_pem},
        format="json",
    )
    assert answer.status_code == 403
    assert not ManufacturerCertificate.objects.filter(charger_model=c8eu).exists()


def test_the_api_adds_and_lists_a_models_cas(
    engineer: User, c8eu: ChargerModel, maker_ca: pki.Issued
) -> None:
    client = api(engineer)
    url = f"/api/charger-models/{c8eu.pk}/ca-certificates/"
    created = client.post(url, {"certificate_pem": maker_ca.certificate_pem}, format="json")
    assert created.status_code == 201, created.content
    assert "Xcharge Manufacturing CA" in created.json()["subject"]
    [listed] = client.get(url).json()
    assert listed["sha256"] == created.json()["sha256"]
    leaf = pki.issue_client(maker_ca, "LEAF")
    refused = client.post(url, {"certificate_pem": leaf.certificate_pem}, format="json")
    assert refused.status_code == 400 and "not a CA" in str(refused.json()["certificate_pem"])
