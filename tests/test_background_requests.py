"""A page's own background reads (search as you type, free slots, the Today board, lookups) leave the
session as it is: they cannot write back an older session over a form's message, renew the idle
sign-out, or take a message meant for the next page."""

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from clinic.background import SessionMiddleware, in_background
from staff.roles import RECEPTIONIST

pytestmark = pytest.mark.django_db

SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
HOME = reverse("home")


def a_read_racing_a_form(middleware_class, key, **headers):
    """A read that loads the session, then a form that stores a message in it, then the read ends."""
    request = RequestFactory().get("/patients/", headers=headers)
    request.COOKIES[settings.SESSION_COOKIE_NAME] = key
    middleware = middleware_class(lambda request: HttpResponse())
    middleware.process_request(request)
    request.session.get("_auth_user_id")  # loaded now, before the form's write

    form = SessionStore(session_key=key)
    form["_messages"] = "Booked: Zoë Łukasiewicz with Dr Hana Okafor"
    form.save()

    middleware.process_response(request, HttpResponse())
    return SessionStore(session_key=key).load()


@pytest.fixture
def session_key(client_for):
    return client_for(RECEPTIONIST).session.session_key


@pytest.mark.parametrize("headers", [{"X-Requested-With": "live-search"}, {"Sec-Fetch-Dest": "empty"}])
def test_a_background_read_does_not_write_back_an_older_session(session_key, headers):
    assert "_messages" in a_read_racing_a_form(SessionMiddleware, session_key, **headers)


def test_without_this_the_message_was_lost(session_key):
    # The race the middleware closes: Django's own writes back the session the read loaded.
    assert "_messages" not in a_read_racing_a_form(DjangoSessionMiddleware, session_key, **{"X-Requested-With": "x"})
    # And a person's request still saves (and renews) the session as always.
    assert "_messages" not in a_read_racing_a_form(SessionMiddleware, session_key, **{"Sec-Fetch-Dest": "document"})


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("get", {"X-Requested-With": "fetch"}, True),
        ("get", {"Sec-Fetch-Dest": "empty"}, True),
        ("head", {"X-Requested-With": "fetch"}, True),
        ("get", {"Sec-Fetch-Dest": "document"}, False),
        ("get", {}, False),
        ("post", {"X-Requested-With": "keep-draft"}, False),  # keeping the session alive is a person's doing
    ],
)
def test_what_counts_as_a_background_read(method, headers, expected):
    assert in_background(getattr(RequestFactory(), method)("/", headers=headers)) is expected


def test_a_background_read_leaves_messages_for_the_next_page(client_for):
    reception = client_for(RECEPTIONIST)
    request = RequestFactory().get("/")
    request.session = reception.session
    request._messages = messages.storage.default_storage(request)
    messages.success(request, "Booked: Zoë Łukasiewicz.")
    request._messages.update(HttpResponse())
    request.session.save()

    background = reception.get(HOME, headers={"X-Requested-With": "auto-refresh"})
    assert "Booked: Zoë Łukasiewicz." not in background.content.decode()
    assert "Booked: Zoë Łukasiewicz." in reception.get(HOME).content.decode()
