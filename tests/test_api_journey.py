"""An administrator connects the clinic website's booking widget, in a real browser at a desk and on a
phone: from the header's "Security" to "Your API tokens", a token made in one click and its key shown
once; the key works from a program, and one click on "Revoke" stops it. The API's documentation
renders from the site itself, under the Content Security Policy (every browser test fails on a violation)."""

import json
import urllib.error
import urllib.request

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR
from staff.tests.factories import UserFactory

PASSWORD = "api-journey-Pw-16"


def call(live_server, path, key):
    request = urllib.request.Request(live_server.url + path, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the test's own server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_an_administrator_makes_a_token_uses_it_and_revokes_it(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    UserFactory(username="ada", first_name="Ada", last_name="Ådmin", password=PASSWORD, roles=[ADMINISTRATOR])
    PatientFactory(first_name="Đorđe", last_name="Šantić")
    sign_in(page, "ada", PASSWORD)
    clicks = 0

    page.get_by_role("link", name="Security", exact=True).click()
    page.get_by_role("link", name="Your API tokens").click()
    clicks += 2
    page.get_by_label("What will use it").fill("Website booking widget")
    assert_no_serious_axe_violations(page)
    page.get_by_role("button", name="Make token").click()
    clicks += 1
    expect(page.get_by_text("Copy its key now")).to_be_visible()
    key = page.get_by_role("textbox", name="Key").input_value()
    assert key.startswith("clinic_")
    assert clicks == 3
    assert_no_serious_axe_violations(page)
    if width == 390:
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    status, body = call(live_server, reverse("patients_api:patient-list") + "?q=santic", key)
    assert status == 200
    assert [p["last_name"] for p in body["results"]] == ["Šantić"]

    # Shown once: after a reload the key is gone from the page.
    page.reload()
    expect(page.get_by_role("textbox", name="Key")).to_have_count(0)
    page.get_by_role("button", name="Revoke “Website booking widget”").click()
    expect(page.get_by_text("revoked: calls made with it are refused")).to_be_visible()
    status, body = call(live_server, reverse("patients_api:patient-list"), key)
    assert status == 401 and body["status"] == 401


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
# Redoc's menu always asks for its maker's logo from their CDN (no option turns it off); the policy
# blocks it (the image hides itself on the error), so nothing is fetched from elsewhere.
@pytest.mark.csp_blocks(REDOC_LOGO)
def test_the_api_documentation_renders_from_the_site_itself(page):
    page.set_default_timeout(15_000)
    elsewhere = []
    page.on("response", lambda response: elsewhere.append(response.url) if "localhost" not in response.url else None)
    page.goto(reverse("api:docs"))
    expect(page.get_by_role("heading", name="Clinic API")).to_be_visible()
    expect(page.get_by_text("/api/v1/patients/").first).to_be_visible()
    page.goto(reverse("api:redoc"))
    expect(page.get_by_role("heading", name="Clinic API").first).to_be_visible()
    expect(page.get_by_role("img", name="redocly logo")).to_have_count(0)  # blocked, and hidden
    assert elsewhere == []
