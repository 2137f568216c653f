"""Review of clinic/sms.py (issue #17): what Twilio's client does when the request went out but the answer
did not come back whole. The message may have been sent, so the error says so and is not temporary (a retry
could text the patient twice); a request that never reached the provider stays temporary."""

import socket
import threading

import pytest

from clinic.sms import SmsError, send_sms
from clinic.tests.fake_twilio import FakeTwilio

TO = "+447700900123"


@pytest.fixture
def twilio_settings(settings):
    settings.SMS_BACKEND = "clinic.sms.TwilioBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    settings.SMS_FROM = "+15005550006"
    settings.SMS_TIMEOUT = 0.5
    return settings


def serve_once(reply):
    """A server that reads one request and writes `reply` (raw bytes), then closes; returns its URL."""
    server = socket.create_server(("127.0.0.1", 0))

    def run():
        with server:
            connection, _ = server.accept()
            with connection:
                connection.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        v
                        for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                        if k.lower() == b"content-length"
                    )
                )
                while len(body) < length:
                    body += connection.recv(65536)
                connection.sendall(reply)

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize(
    "reply",
    [
        # cut off
        b'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"sid": "SM1"',
        b"SMTP? 220 nonsense\r\n\r\n",  # not HTTP
    ],
)
def test_a_broken_answer_after_the_request_is_a_sms_error_that_may_have_been_sent(twilio_settings, reply):
    twilio_settings.SMS_API_URL = serve_once(reply)
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert raised.value.temporary is False
    assert raised.value.maybe_sent is True


@pytest.mark.parametrize("answer", ["hang", "close", (201, b"<html>not json</html>")])
def test_no_answer_to_a_request_the_provider_got_may_have_been_sent(twilio_settings, answer):
    with FakeTwilio() as fake:
        twilio_settings.SMS_API_URL = fake.url
        fake.answer = answer
        with pytest.raises(SmsError) as raised:
            send_sms(TO, "Hello")
    assert len(fake.requests) == 1
    assert (raised.value.temporary, raised.value.maybe_sent) == (False, True)
    assert "may have been sent" in str(raised.value)


def test_a_provider_not_reached_is_temporary_and_not_sent(twilio_settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        twilio_settings.SMS_API_URL = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(SmsError) as raised:
        send_sms(TO, "Hello")
    assert (raised.value.temporary, raised.value.maybe_sent) == (True, False)
