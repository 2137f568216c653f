import pytest

from staff.tests.factories import DoctorFactory, UserFactory
from waitlist.demo import WAITING, seed_waitlist
from waitlist.models import WaitlistEntry

pytestmark = pytest.mark.django_db


def test_the_demo_waitlist_is_made_once_with_every_urgency():
    DoctorFactory.create_batch(2)
    UserFactory(username="reception")

    assert seed_waitlist() == len(WAITING)
    assert seed_waitlist() == 0

    entries = list(WaitlistEntry.objects.waiting().select_related("patient"))
    assert len(entries) == len(WAITING)
    assert {e.urgency for e in entries} == {1, 2, 3}
    assert any(not e.patient.full_name.isascii() and not _latin1(e.patient.full_name) for e in entries)


def _latin1(text):
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
