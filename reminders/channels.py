"""Delivering one message on one channel, and telling a failure worth retrying from one that is not.

E-mail goes through Django's e-mail backend (SMTP in production, the console in `make run`, locmem in
tests); SMS through clinic.sms (a provider's HTTP API behind send_sms, a locmem outbox in tests).
"""

import smtplib

from django.core.mail import EmailMessage


class Undeliverable(Exception):
    """A failure that retrying cannot mend (a refused address or number)."""


def send_email(to, subject, body):
    """Send one e-mail; the backend's message id is not exposed by Django, so none is returned."""
    message = EmailMessage(subject=subject, body=body, to=[to])
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise Undeliverable(f"The mail server refused the address: {_short(exc)}") from exc
    return ""


def send_sms(to, body):
    """clinic.sms.send_sms (imported when first used: the worker's process loads the provider's settings)."""
    from clinic.sms import send_sms as provider_send

    return provider_send(to, body)


def send_text(to, body):
    """Send one text message: the provider's message id. A permanent SmsError (temporary False) becomes
    Undeliverable; anything else is raised as it is, and retried."""
    try:
        return str(send_sms(to, body) or "")
    except Exception as exc:
        if getattr(exc, "temporary", True) is False:
            raise Undeliverable(f"The SMS provider refused it: {_short(exc)}") from exc
        raise


def sms_available():
    from clinic.sms import sms_configured

    return sms_configured()


def _short(exc):
    return str(exc)[:200]
