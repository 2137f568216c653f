"""Who may open this feature's pages: joins tests/test_access.py's table (see RULE_MODULES there)."""

from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.services import create_calendar_feed
from staff.tests.factories import DoctorFactory

ANY_SIGNED_IN = {RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR, "signed in, no role"}


def a_feed_secret(user=None):
    """A live feed's secret (of a doctor of its own: the requester needs none, the secret is the key)."""
    doctor = DoctorFactory()
    return {"secret": create_calendar_feed(doctor=doctor, by=doctor.user)[1]}


ACCESS = {
    # A calendar app cannot sign in: a valid secret opens the feed to anyone (tests: scheduling/tests/test_feeds.py).
    "feeds:doctor": ANY_SIGNED_IN | {"anonymous"},
    # One's own feed: doctors (the persona doctor has no diary: the page says so).
    "staff:calendar_feed": {DOCTOR},
    "staff:calendar_feed_revoke": {DOCTOR},
    # Anyone's feed, to revoke it: administrators.
    "staff:calendar_feed_for": {ADMINISTRATOR},
}
KWARGS = {
    "feeds:doctor": a_feed_secret,
    "staff:calendar_feed_for": lambda user=None: {"pk": DoctorFactory().user_id},
}
