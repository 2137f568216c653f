"""Text messages (SMS) through a pluggable backend, chosen by dotted path in settings.SMS_BACKEND.

    send_sms("+447700900123", "Your appointment ...") -> the provider's message id
    sms_configured() -> False when SMS_BACKEND is empty: the clinic runs without any SMS provider

Backends: ConsoleBackend (a local run prints each message), LocmemBackend (tests: `outbox`), TwilioBackend
(Twilio's REST API over HTTPS, with the standard library's urllib: one POST with basic auth needs no SDK).
Every failure is a SmsError whose `.temporary` says whether trying again later may succeed (a timeout, the
provider busy or down) or not (a number the provider refuses, wrong credentials): the caller retries or gives up.
Numbers are expected in E.164 (+ and 8 to 15 digits) already; anything else is refused before sending.
"""

import base64
import http.client
import json
import logging
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from functools import cache

from django.conf import settings
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{7,14}")
MAX_BODY = 1600  # Twilio's limit (characters); longer bodies are refused, not cut


class SmsError(Exception):
    """A message not sent. `temporary`: trying again later may succeed. `maybe_sent`: the provider took the
    request but its answer never came (or came broken), so the message may have gone out: never temporary,
    since a retry could send it twice."""

    def __init__(self, message, *, temporary, maybe_sent=False):
        super().__init__(message)
        self.temporary = temporary and not maybe_sent
        self.maybe_sent = maybe_sent


def sms_configured() -> bool:
    return bool(settings.SMS_BACKEND)


def send_sms(to: str, body: str) -> str:
    """Send `body` to `to` (E.164) through the configured backend; returns the provider's message id."""
    if not sms_configured():
        raise SmsError("No SMS backend is configured (SMS_BACKEND is empty).", temporary=False)
    if not isinstance(to, str) or not E164.fullmatch(to):
        raise SmsError("The number is not in international format (+ and 8 to 15 digits).", temporary=False)
    if not body or not body.strip():
        raise SmsError("The message is empty.", temporary=False)
    if len(body) > MAX_BODY:
        raise SmsError(f"The message is longer than {MAX_BODY} characters.", temporary=False)
    return _backend(settings.SMS_BACKEND)().send(to, body)


@cache
def _backend(path):
    return import_string(path)


class BaseBackend:
    def send(self, to: str, body: str) -> str:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Prints each message on the console (stdout), like Django's console e-mail backend."""

    def send(self, to, body):
        message_id = f"console-{get_random_string(16)}"
        sys.stdout.write(f"SMS to {to} ({message_id}):\n{body}\n{'-' * 40}\n")
        sys.stdout.flush()
        return message_id


# Sent messages of the LocmemBackend, oldest first: dicts with "id", "to" and "body". Emptied before each test.
outbox = []


class LocmemBackend(BaseBackend):
    """Keeps each message in `outbox` (tests)."""

    def send(self, to, body):
        message_id = f"locmem-{len(outbox) + 1}"
        outbox.append({"id": message_id, "to": to, "body": body})
        return message_id


class TwilioBackend(BaseBackend):
    """Twilio's Messages API: POST {SMS_API_URL}/2010-04-01/Accounts/{sid}/Messages.json with basic auth
    (account SID and auth token) and the form fields To, From, Body; 201 with the message's "sid".

    A 4xx answer is permanent (a refused number, bad credentials: trying again changes nothing) except 429
    (too many requests); a 5xx answer, a timeout or a failed connection is temporary. Every wait is bounded by
    SMS_TIMEOUT seconds (connecting, and each read), so a provider that never answers holds a worker that long.
    """

    def send(self, to, body):
        sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        if not (sid and token and settings.SMS_FROM):
            raise SmsError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and SMS_FROM must all be set.", temporary=False)
        if urllib.parse.urlsplit(settings.SMS_API_URL).scheme not in ("https", "http"):
            raise SmsError("SMS_API_URL must be an https:// address.", temporary=False)
        account = urllib.parse.quote(sid, safe="")
        url = f"{settings.SMS_API_URL.rstrip('/')}/2010-04-01/Accounts/{account}/Messages.json"
        data = urllib.parse.urlencode({"To": to, "From": settings.SMS_FROM, "Body": body}).encode("ascii")
        credentials = base64.b64encode(f"{sid}:{token}".encode()).decode("ascii")
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url,
            data=data,
            method="POST",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_TIMEOUT) as response:  # noqa: S310
                answer = response.read(65536)
                status = response.status
        except urllib.error.HTTPError as error:
            raise self._refused(error) from None
        except urllib.error.URLError as error:
            # urllib wraps what fails while connecting and sending the request: the provider has not got it.
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise SmsError(
                    f"The SMS provider did not answer within {settings.SMS_TIMEOUT:g} s.", temporary=True
                ) from error
            raise SmsError(f"The SMS provider could not be reached: {reason}", temporary=True) from error
        except (OSError, http.client.HTTPException) as error:
            # The request went out whole; the answer timed out, was cut off or was not HTTP. Sent or not?
            # Not tried again: a patient texted twice learns to ignore reminders (the provider's log tells).
            raise SmsError(
                f"The SMS provider took the message but its answer did not come ({type(error).__name__}): "
                "it may have been sent, so it is not sent again by itself.",
                temporary=False,
                maybe_sent=True,
            ) from error
        try:
            message_id = json.loads(answer)["sid"]
        except (ValueError, KeyError, TypeError):
            message_id = None
        if status not in (200, 201) or not isinstance(message_id, str) or not message_id:
            # Sent or not? The provider took the request but its answer is not what it documents: not retried,
            # since a retry could send the message twice.
            raise SmsError(
                f"The SMS provider answered {status} without a message id: it may have been sent, "
                "so it is not sent again by itself.",
                temporary=False,
                maybe_sent=True,
            )
        return message_id

    @staticmethod
    def _refused(error):
        # Twilio's own error code, not its message: the message may quote the patient's number, and this text
        # ends up in logs and on the "Background work" page.
        try:
            code = json.loads(error.read(65536)).get("code")
        except (ValueError, AttributeError, OSError):
            code = None
        finally:
            error.close()
        temporary = error.code == 429 or error.code >= 500
        detail = f" (provider error {code})" if isinstance(code, int) else ""
        return SmsError(f"The SMS provider answered {error.code}{detail}.", temporary=temporary)
