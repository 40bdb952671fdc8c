"""The verification link of a published report (printed and QR-coded in the PDF) is on
PORTAL_PUBLIC_URL, never on the Host header of the reviewer's browser."""

from __future__ import annotations

import subprocess

import pytest
from django.test import Client
from django.urls import reverse

from certification.models import Report, TestRun
from certification.services import submit_for_review
from chargers.models import User
from tests.certification.test_review import decide_everything


@pytest.mark.django_db(transaction=True)  # the renderer process reads the committed run
def test_the_link_ignores_the_host_header(run: TestRun, engineer: User, settings: object) -> None:
    settings.ALLOWED_HOSTS = ["*"]  # type: ignore[attr-defined]
    settings.PORTAL_PUBLIC_URL = "https://portal.example.org"  # type: ignore[attr-defined]
    reviewer = User.objects.create_user("ana", password="pw-ana-12345", role=User.Role.ENGINEER)
    decide_everything(run, engineer)
    submit_for_review(run, engineer)
    client = Client(HTTP_HOST="attacker.example")
    client.force_login(reviewer)
    assert client.post(reverse("certification:run-publish", args=[run.pk])).status_code == 302
    report = Report.objects.get(run=run)
    text = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=report.pdf.read(), capture_output=True, check=True
    ).stdout.decode()
    flat = text.replace("\n", "").replace(" ", "")
    assert f"https://portal.example.org/verify/{report.report_id}/" in flat
    assert "attacker.example" not in flat
