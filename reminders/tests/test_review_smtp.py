"""Review of issue #17's e-mail sending against a real SMTP conversation (a local fake server): a server that
got the whole message (the final ".") but did not confirm it within EMAIL_TIMEOUT (a slow content filter, a
busy relay) has usually queued it. Trying again sent it again, up to four times; it is now not retried (the
reminder fails saying it may have been sent). A server down before the message went is still retried."""

import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from reminders import services
from reminders.models import Reminder
from reminders.tests.helpers import appointment_in, configure

pytestmark = pytest.mark.django_db
Status = Reminder.Status


class FakeSmtp:
    """Speaks just enough SMTP; `silent_after_data`: after the final "." it answers nothing (until released)."""

    def __init__(self, *, silent_after_data):
        self.silent_after_data = silent_after_data
        self.messages = 0
        self.release = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(connection,), daemon=True).start()

    def _session(self, connection):
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 fake ESMTP\r\n")
            for line in lines:
                command = line.strip().upper()
                if command.startswith((b"EHLO", b"HELO")):
                    connection.sendall(b"250 fake\r\n")
                elif command == b"DATA":
                    connection.sendall(b"354 go on\r\n")
                    for body_line in lines:
                        if body_line in (b".\r\n", b".\n"):
                            break
                    self.messages += 1
                    if self.silent_after_data:
                        self.release.wait(10)
                        return
                    connection.sendall(b"250 queued\r\n")
                elif command == b"QUIT":
                    connection.sendall(b"221 bye\r\n")
                    return
                else:
                    connection.sendall(b"250 ok\r\n")

    def close(self):
        self.release.set()
        self.server.close()


@pytest.fixture
def smtp(settings):
    servers = []

    def start(**kwargs):
        server = FakeSmtp(**kwargs)
        servers.append(server)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 0.5
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return server

    yield start
    for server in servers:
        server.close()


def run_through_every_back_off():
    services.run()
    for later in (5, 35, 155):
        services.send_due(timezone.now() + timedelta(minutes=later, seconds=1))


def test_a_message_the_server_got_whole_but_did_not_confirm_is_not_sent_again(smtp):
    server = smtp(silent_after_data=True)
    configure(hours_before="48")
    appointment_in(47)

    run_through_every_back_off()

    assert server.messages == 1
    reminder = Reminder.objects.get()
    assert reminder.status == Status.FAILED
    assert "may have been sent" in reminder.last_error


def test_a_server_that_confirms_gets_it_once(smtp):
    server = smtp(silent_after_data=False)
    configure(hours_before="48")
    appointment_in(47)

    run_through_every_back_off()

    assert server.messages == 1
    assert Reminder.objects.get().status == Status.SENT


def test_a_server_not_there_is_tried_again(settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 0.5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    configure(hours_before="48")
    appointment_in(47)

    services.run()

    reminder = Reminder.objects.get()
    assert reminder.status == Status.WAITING
    assert reminder.last_error
