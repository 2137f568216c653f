"""clinic/sms.py: the backends, and Twilio's API against a local fake server (clinic/tests/fake_twilio.py)."""

import base64
import socket
import time

import pytest

from clinic import sms
from clinic.sms import SmsError, send_sms, sms_configured
from clinic.tests.fake_twilio import FakeTwilio

SID, TOKEN, FROM = "AC0123456789abcdef0123456789abcdef", "s3cr3t-token", "+15005550006"
TO = "+447700900123"


@pytest.fixture
def twilio(settings):
    with FakeTwilio() as fake:
        settings.SMS_BACKEND = "clinic.sms.TwilioBackend"
        settings.SMS_API_URL = fake.url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.SMS_FROM = SID, TOKEN, FROM
        settings.SMS_TIMEOUT = 0.5
        yield fake


def test_not_configured_means_no_sms(settings):
    settings.SMS_BACKEND = ""
    assert sms_configured() is False
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is False


def test_the_locmem_backend_keeps_messages_in_the_outbox():
    assert sms_configured() is True  # conftest: every test has the locmem backend and an empty outbox
    assert sms.outbox == []
    message_id = send_sms(TO, "Xin chào, lịch hẹn của bạn")
    assert sms.outbox == [{"id": message_id, "to": TO, "body": "Xin chào, lịch hẹn của bạn"}]


def test_the_console_backend_prints(settings, capsys):
    settings.SMS_BACKEND = "clinic.sms.ConsoleBackend"
    message_id = send_sms(TO, "Γεια σας 👋")
    out = capsys.readouterr().out
    assert TO in out and "Γεια σας 👋" in out and message_id in out


@pytest.mark.parametrize(
    "to",
    ["", "07700900123", "+44 7700 900123", "+0447700900123", "+44", "+4477009001234567", "tel:+447700900123", None],
)
def test_an_obviously_invalid_number_is_refused_before_sending(to):
    with pytest.raises(SmsError) as raised:
        send_sms(to, "Hello")
    assert raised.value.temporary is False
    assert sms.outbox == []


@pytest.mark.parametrize("body", ["", "   ", "x" * (sms.MAX_BODY + 1)])
def test_an_empty_or_overlong_body_is_refused(body):
    with pytest.raises(SmsError) as raised:
        send_sms(TO, body)
    assert raised.value.temporary is False


@pytest.mark.parametrize(
    "body",
    [
        "Plain ASCII reminder: Tue 3 Mar 09:30",
        "Nhắc lịch hẹn: Thứ Ba 09:30 tại Phòng khám Sông Hồng",  # Vietnamese
        "Υπενθύμιση ραντεβού: Τρίτη 09:30",  # Greek
        "Reminder 🦷📅 see you soon 👩🏽‍⚕️ & thanks=100%",  # emoji (outside the BMP), & = % in the form
    ],
)
def test_twilio_request_path_auth_and_form(twilio, body):
    message_id = send_sms(TO, body)

    assert message_id == "SM00000000000000000000000000000001"
    [request] = twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    scheme, encoded = request.headers["Authorization"].split(" ", 1)
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{SID}:{TOKEN}"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.form == {"To": TO, "From": FROM, "Body": body}


@pytest.mark.parametrize(
    ("status", "temporary"),
    [(400, False), (401, False), (403, False), (404, False), (429, True), (500, True), (502, True), (503, True)],
)
def test_twilio_error_answers(twilio, status, temporary):
    # Twilio's error body quotes the number; the error raised must not (it reaches logs and the admin page).
    twilio.answer = (status, {"code": 21211, "message": f"The 'To' number {TO} is not a valid phone number."})
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is temporary
    assert str(status) in str(raised.value)
    assert "21211" in str(raised.value)
    assert TO not in str(raised.value)


def test_twilio_answer_without_a_message_id_is_not_retried(twilio):
    # The provider may have sent it: a retry could send the message twice.
    twilio.answer = (201, b"<html>not json</html>")
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is False


def test_a_twilio_that_never_answers_times_out_and_is_not_retried(twilio):
    # It got the request: the message may have gone out, and a retry could send it twice.
    twilio.answer = "hang"
    started = time.monotonic()
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert (raised.value.temporary, raised.value.maybe_sent) == (False, True)
    assert "TimeoutError" in str(raised.value)
    assert time.monotonic() - started < 3  # SMS_TIMEOUT is 0.5 s here


def test_a_twilio_that_drops_the_connection_after_the_request_is_not_retried(twilio):
    twilio.answer = "close"
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert (raised.value.temporary, raised.value.maybe_sent) == (False, True)


def test_a_twilio_that_cannot_be_reached_is_temporary(twilio, settings):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        settings.SMS_API_URL = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is True


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMS_FROM"])
def test_twilio_without_credentials_is_a_permanent_error(twilio, settings, missing):
    setattr(settings, missing, "")
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is False
    assert twilio.requests == []


def test_twilio_api_url_must_be_http(twilio, settings):
    settings.SMS_API_URL = "file:///etc/passwd"
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is False
