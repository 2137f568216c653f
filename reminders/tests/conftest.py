import pytest


@pytest.fixture
def sms_outbox():
    """Text messages sent through clinic.sms's locmem backend (the root conftest sets it and empties it)."""
    from clinic import sms

    return sms.outbox
