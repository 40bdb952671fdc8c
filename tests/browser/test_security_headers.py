"""Pages that run script under the portal's Content-Security-Policy (no inline script):
the new_page fixture fails a test on any CSP refusal chromium reports."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import Dialog, Page, expect

from chargers.services import authenticate_charge_point, create_charge_point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_key_asks_first_without_an_inline_handler(engineer_page: Page) -> None:
    charge_point, key = create_charge_point("LAB-CONFIRM-1", authorization_key="k" * 20)
    page = engineer_page
    page.goto(charge_point.get_absolute_url())
    questions: list[str] = []

    def answer(dialog: Dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="New key").click()
    page.wait_for_timeout(300)
    assert questions and "Replace the AuthorizationKey?" in questions[0]
    kept = b"Basic " + base64.b64encode(f"LAB-CONFIRM-1:{key}".encode())
    assert authenticate_charge_point("LAB-CONFIRM-1", kept).refused is None

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="New key").click()
    expect(page.locator("#new-key")).to_be_visible()
    assert authenticate_charge_point("LAB-CONFIRM-1", kept).refused == "wrong AuthorizationKey"
