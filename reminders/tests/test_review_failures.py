"""Review of issue #17's sending: failures that are neither "sent" nor "refused for good".

- A mail server that answers RCPT TO with a 4xx code (greylisting, "450 4.1.2 domain not found" while DNS is
  down, a relay's rate limit) refuses the address *for now*: smtplib raises SMTPRecipientsRefused for it as
  for a 5xx, and the reminder must be tried again, not failed for good (it would never be sent).
- A text-message provider that took the request and then did not answer (a timeout, a dropped connection, a
  broken answer) may have sent it: trying again could send it twice, so it is not retried by itself.
"""

import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from clinic.tests.fake_twilio import FakeTwilio
from reminders import services
from reminders.models import Reminder
from reminders.tests.helpers import appointment_in, configure

pytestmark = pytest.mark.django_db
Status = Reminder.Status


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that refuses every recipient with `codes` (one per recipient, in turn)."""

    codes = (450,)

    def send_messages(self, messages):
        refused = {}
        for message in messages:
            for address, code in zip(message.to, self.codes, strict=False):
                refused[address] = (code, f"{code // 100}.1.2 <{address}>: Recipient address rejected".encode())
        raise smtplib.SMTPRecipientsRefused(refused)


@pytest.fixture
def refusing(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    yield RefusingBackend
    RefusingBackend.codes = (450,)


@pytest.mark.parametrize("code", [421, 450, 451, 452])
def test_an_address_refused_for_now_is_tried_again(refusing, code):
    refusing.codes = (code,)
    configure(hours_before="48")
    appointment_in(47)

    before = timezone.now()
    services.run()

    reminder = Reminder.objects.get()
    assert reminder.status == Status.WAITING, reminder.last_error
    assert reminder.next_attempt_at >= before + services.BACKOFF[0]
    assert str(code) in reminder.last_error


def test_an_address_refused_for_good_fails_at_once(refusing):
    refusing.codes = (550,)
    configure(hours_before="48")
    appointment_in(47)

    services.run()

    reminder = Reminder.objects.get()
    assert reminder.status == Status.FAILED
    assert "refused the address" in reminder.last_error


@pytest.fixture
def twilio(settings):
    with FakeTwilio() as fake:
        settings.SMS_BACKEND = "clinic.sms.TwilioBackend"
        settings.SMS_API_URL = fake.url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
        settings.SMS_FROM = "+15005550006"
        settings.SMS_TIMEOUT = 0.5
        yield fake


@pytest.mark.parametrize("answer", ["hang", "close"])
def test_a_text_the_provider_took_but_did_not_answer_is_not_sent_again(twilio, answer):
    configure(send_email=False, send_sms=True, hours_before="48")
    appointment_in(47)
    twilio.answer = answer

    services.run()
    for later in (5, 35, 155):  # past every back-off
        services.send_due(timezone.now() + timedelta(minutes=later))

    assert len(twilio.requests) == 1
    reminder = Reminder.objects.get()
    assert reminder.status == Status.FAILED
    assert "may have been sent" in reminder.last_error


def test_a_provider_that_cannot_be_reached_is_tried_again(twilio, settings):
    import socket

    with socket.socket() as unused:  # nothing listens: the request never left
        unused.bind(("127.0.0.1", 0))
        settings.SMS_API_URL = f"http://127.0.0.1:{unused.getsockname()[1]}"
    configure(send_email=False, send_sms=True, hours_before="48")
    appointment_in(47)

    services.run()

    assert Reminder.objects.get().status == Status.WAITING
