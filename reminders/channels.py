"""Delivering one message on one channel, and telling a failure worth retrying from one that is not.

E-mail goes through Django's e-mail backend (SMTP in production, the console in `make run`, locmem in
tests); text messages through clinic.sms (a provider's HTTP API behind send_sms; a locmem outbox in tests).
"""

import re
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from clinic.sms import SmsError, send_sms, sms_configured


class Undeliverable(Exception):
    """A failure that retrying cannot mend (a refused address or number)."""


def send_email(to, subject, body):
    """Send one e-mail (Django does not give the server's message id: "" is returned)."""
    message = EmailMessage(subject=subject, body=body, to=[to])
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        # smtplib raises this for a 4xx answer too (greylisting, the domain's DNS down, a relay's rate limit):
        # only a 5xx refusal is for good; a 4xx one is raised as it is, and tried again later.
        if all(500 <= code < 600 for code, _ in exc.recipients.values()):
            raise Undeliverable(f"The mail server refused the address: {_short(exc)}") from exc
        raise
    return ""


def international(number):
    """A phone number as the provider wants it (+ and digits): patients' numbers are mostly written the
    national way ("07700 900123"), which is read with the clinic's country code (SMS_COUNTRY_CODE, 44)."""
    digits = re.sub(r"[^0-9+]", "", (number or "").replace("(0)", ""))  # "+44 (0)20": the 0 is for dialling at home
    if digits.startswith("+"):
        return "+" + digits[1:].replace("+", "")
    digits = digits.replace("+", "")
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+" + str(getattr(settings, "SMS_COUNTRY_CODE", "44")) + digits[1:]
    return "+" + digits


def send_text(to, body):
    """Send one text message: the provider's message id. A permanent SmsError becomes Undeliverable;
    a temporary one (or any other failure) is raised as it is, and retried."""
    try:
        return str(send_sms(international(to), body) or "")
    except SmsError as exc:
        if getattr(exc, "maybe_sent", False):
            raise Undeliverable(_short(exc)) from exc
        if not exc.temporary:
            raise Undeliverable(f"The SMS provider refused it: {_short(exc)}") from exc
        raise


def sms_available():
    return sms_configured()


def _short(exc):
    return str(exc)[:200]
