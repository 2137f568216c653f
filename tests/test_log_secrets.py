"""Secrets in addresses stay out of the logs: Django's own warnings ("Not Found: <path>", a refused CSRF check)
write a patient's link or a calendar feed's secret as <token> (clinic.logs.HideSecretsInPaths)."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_logging import captured  # noqa: F401 (a fixture)

SECRET = "s3cr3t-Zx9_Qw.Jk-very-long-and-unguessable"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("reminders:confirm", {"token": SECRET}),
        ("reminders:cancel", {"token": SECRET}),
        ("reminders:opt_out", {"token": SECRET}),
        ("waitlist:accept", {"token": SECRET}),
        ("feeds:doctor", {"secret": SECRET}),
    ],
)
def test_a_refused_or_unknown_link_is_logged_without_its_secret(name, kwargs, captured):  # noqa: F811
    output = captured("plain")
    url = reverse(name, kwargs=kwargs)
    # A POST from a browser without the CSRF cookie (django.security.csrf logs the path), then a plain GET of a
    # forged link or an unknown feed (django.request logs "Not Found"/"Gone"/… with the path).
    Client(enforce_csrf_checks=True).post(url)
    Client().get(url)
    text = output()
    assert url.split(SECRET)[0] + "<token>" in text
    assert SECRET not in text


def test_other_paths_are_logged_as_they_are(captured):  # noqa: F811
    import logging

    output = captured("plain")
    logging.getLogger("django.request").warning("Not Found: %s", "/patients/123/")
    logging.getLogger("django.request").warning("Not Found: %s", "/calendarium/abc/")
    assert "/patients/123/" in output() and "/calendarium/abc/" in output()
