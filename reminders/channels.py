"""Delivering one message on one channel, and telling a failure worth retrying from one that is not.

E-mail goes through Django's e-mail backend (SMTP in production, the console in `make run`, locmem in
tests); text messages through clinic.sms (a provider's HTTP API behind send_sms; a locmem outbox in tests).
"""

import logging
import re
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from clinic.sms import SmsError, send_sms, sms_configured

logger = logging.getLogger(__name__)


class Undeliverable(Exception):
    """A failure that retrying cannot mend (a refused address or number)."""


def send_email(to, subject, body):
    """Send one e-mail (Django does not give the server's message id: "" is returned)."""
    connection = get_connection(fail_silently=False)
    connection.open()  # a server down or refusing us: raised as it is, and tried again (nothing went)
    whole = _sent_whole(connection)
    try:
        EmailMessage(subject=subject, body=body, to=[to], connection=connection).send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        # smtplib raises this for a 4xx answer too (greylisting, the domain's DNS down, a relay's rate limit):
        # only a 5xx refusal is for good; a 4xx one is raised as it is, and tried again later.
        if all(500 <= code < 600 for code, _ in exc.recipients.values()):
            raise Undeliverable(f"The mail server refused the address: {_short(exc)}") from exc
        raise
    except Exception as exc:
        if whole():
            # The server got the whole message and then did not confirm it in time (a slow content filter):
            # it has usually queued it, so it is not sent again (sent twice is worse than missed once).
            raise Undeliverable(
                f"The mail server got the message but did not confirm it ({_short(exc)}): it may have been "
                "sent, so it is not sent again by itself."
            ) from exc
        raise
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - the message's fate is decided above; a failed QUIT changes nothing
            logger.warning("closing the mail server's connection failed", exc_info=True)
    return ""


def _sent_whole(connection):
    """A function telling whether the message went to the SMTP server whole (its final "." sent)."""
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        return lambda: False  # not SMTP (the console, locmem): nothing is in doubt
    sent = []
    send = smtp.send

    def send_and_note(data):
        send(data)
        if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):  # smtplib's data(): the body and "."
            sent.append(True)

    smtp.send = send_and_note
    return lambda: bool(sent)


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
