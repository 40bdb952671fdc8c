"""Headers and limits: a Content-Security-Policy without inline script, a
Permissions-Policy, a maximum page size, the API schema and docs behind login, and an
unknown charger identity that costs as much as a known one."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from django.test import Client

from chargers import services
from chargers.api_tokens import create_api_token
from chargers.models import Manufacturer, User

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/catalog/models/", "/api/docs/"])
def test_every_page_has_a_csp_without_inline_script(engineer_client: Client, path: str) -> None:
    response = engineer_client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"]


def test_no_template_holds_an_inline_script() -> None:
    """What the CSP would block: a <script> without src (JSON data blocks are not run) and
    on...= event handler attributes."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.name}: {tag}")
        offenders += [f"{template.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
    assert offenders == []


@pytest.mark.django_db
def test_the_api_docs_load_their_start_script_from_a_url(engineer_client: Client) -> None:
    page = engineer_client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page)
    assert script is not None and "<script>" not in page
    answer = engineer_client.get(script.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/javascript")


@pytest.mark.django_db
def test_a_permissions_policy_denies_powerful_features(client: Client) -> None:
    header = client.get("/accounts/login/")["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "usb=()", "payment=()"):
        assert feature in header


@pytest.mark.django_db
def test_the_api_schema_and_docs_need_a_login(client: Client, engineer: User) -> None:
    assert client.get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/")
    api = Client(HTTP_AUTHORIZATION=f"Token {create_api_token(engineer)[1]}")
    assert api.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_limit_and_per_page_have_a_maximum(engineer_client: Client, settings: object) -> None:
    settings.MAX_PAGE_SIZE = 7  # type: ignore[attr-defined]
    Manufacturer.objects.bulk_create(Manufacturer(name=f"Maker {n:02}") for n in range(12))
    answer = engineer_client.get("/api/manufacturers/", {"limit": 1_000_000}).json()
    assert answer["count"] == 12 and len(answer["results"]) == 7
    page = engineer_client.get("/catalog/manufacturers/", {"per_page": 1_000_000})
    assert page.status_code == 200
    assert len(page.context["table"].page.object_list) == 7


@pytest.mark.django_db
def test_an_unknown_identity_costs_a_key_hash_like_a_known_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.create_charge_point("CP1", authorization_key="right-key-0123456789")
    hashed: list[str] = []
    verify = services._hasher.verify

    def counting(password: str, encoded: str) -> bool:
        hashed.append(password)
        return verify(password, encoded)

    monkeypatch.setattr(services._hasher, "verify", counting)
    header = b"Basic " + base64.b64encode(b"NOSUCH:some-key-0123456789")
    assert services.authenticate_charge_point("NOSUCH", header, "10.0.0.1:1").refused
    known = b"Basic " + base64.b64encode(b"CP1:some-key-0123456789")
    assert services.authenticate_charge_point("CP1", known, "10.0.0.1:2").refused
    assert hashed == ["some-key-0123456789", "some-key-0123456789"]
