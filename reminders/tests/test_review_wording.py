"""Review of issue #17's wording: the stop link is added whenever the wording does not use {opt_out_link}.
A literal "{{opt_out_link}}" (the braces escaped) is text, not the placeholder: it must not count as the link,
or a wording could send reminders with no way to stop them (and show "{opt_out_link}" to the patient)."""

import pytest
from django.core import mail

from clinic import sms
from reminders import services
from reminders.tests.helpers import appointment_in, configure

pytestmark = pytest.mark.django_db


def test_an_escaped_opt_out_placeholder_in_an_e_mail_still_gets_the_stop_link():
    configure(email_body="Dear {patient}, see you {when}. Write {{opt_out_link}} to us to stop.")
    appointment_in(5)

    services.run()

    [message] = mail.outbox
    assert "Write {opt_out_link} to us" in message.body  # the escaped braces, as written
    assert "/reminders/stop/" in message.body


def test_an_escaped_opt_out_placeholder_in_a_text_still_gets_the_stop_link():
    configure(send_email=False, send_sms=True, sms_text="{clinic} {when} {{opt_out_link}}")
    appointment_in(5)

    services.run()

    [message] = sms.outbox
    assert "/reminders/stop/" in message["body"]


def test_the_placeholder_itself_is_not_added_twice():
    configure(email_body="Bye: {opt_out_link}")
    appointment_in(5)

    services.run()

    [message] = mail.outbox
    assert message.body.count("/reminders/stop/") == 1
