import pytest


@pytest.fixture
def sms_outbox(monkeypatch):
    """Text messages, kept in a list: reminders' reference to send_sms replaced (and SMS configured)."""
    from reminders import channels

    box = []

    def send_sms(to, body):
        box.append((to, body))
        return f"SM{len(box):04d}"

    monkeypatch.setattr(channels, "send_sms", send_sms)
    monkeypatch.setattr(channels, "sms_available", lambda: True)
    return box
