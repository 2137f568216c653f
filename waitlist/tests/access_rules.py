"""Who may open this feature's pages: joins tests/test_access.py's table (see RULE_MODULES there)."""

from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST

FRONT_DESK = {RECEPTIONIST, ADMINISTRATOR}
ANY_SIGNED_IN = {RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR, "signed in, no role"}


def an_entry(user=None):
    from waitlist.tests.factories import WaitlistEntryFactory

    return {"pk": WaitlistEntryFactory().pk}


def a_freed_time_and_a_candidate(user=None):
    from waitlist.tests.factories import WaitlistEntryFactory
    from waitlist.tests.test_services import freed_time

    freed = freed_time()
    return {"appointment_pk": freed.pk, "entry_pk": WaitlistEntryFactory(doctor=freed.doctor).pk}


def a_freed_time(user=None):
    from waitlist.tests.factories import WaitlistEntryFactory
    from waitlist.tests.test_services import freed_time

    freed = freed_time()
    WaitlistEntryFactory(doctor=freed.doctor)
    return {"appointment_pk": freed.pk}


def a_moved_time(user=None):
    from waitlist.models import FreedTime
    from waitlist.tests.test_services import moved_appointment

    return {"moved_pk": FreedTime.objects.get(appointment=moved_appointment()).pk}


def a_moved_time_and_a_candidate(user=None):
    from waitlist.models import FreedTime
    from waitlist.tests.factories import WaitlistEntryFactory

    kwargs = a_moved_time()
    doctor = FreedTime.objects.get(pk=kwargs["moved_pk"]).doctor
    return {**kwargs, "entry_pk": WaitlistEntryFactory(doctor=doctor).pk}


def a_moved_time_with_a_candidate(user=None):
    kwargs = a_moved_time_and_a_candidate()
    return {"moved_pk": kwargs["moved_pk"]}


def an_offers_link(user=None):
    from clinic.links import make_link_token
    from waitlist.services import ACCEPT
    from waitlist.tests.factories import WaitlistOfferFactory

    offer = WaitlistOfferFactory()
    return {"token": make_link_token(ACCEPT, offer.pk, valid_until=offer.valid_until)}


ACCESS = {
    # Reception and administrators keep the waitlist; doctors and nurses may look at it.
    "waitlist:list": FRONT_DESK | {DOCTOR, NURSE},
    "waitlist:add": FRONT_DESK,
    "waitlist:edit": FRONT_DESK,
    "waitlist:remove": FRONT_DESK,
    "waitlist:book": FRONT_DESK,
    "waitlist:offer": FRONT_DESK,
    "waitlist:moved": FRONT_DESK | {DOCTOR, NURSE},
    "waitlist:book_moved": FRONT_DESK,
    "waitlist:offer_moved": FRONT_DESK,
    # The patient's page from an offer's message: the signed link opens it to anyone.
    "waitlist:accept": ANY_SIGNED_IN | {"anonymous"},
}
KWARGS = {
    "waitlist:edit": an_entry,
    "waitlist:remove": an_entry,
    "waitlist:book": a_freed_time_and_a_candidate,
    "waitlist:offer": a_freed_time,
    "waitlist:accept": an_offers_link,
    "waitlist:moved": a_moved_time,
    "waitlist:book_moved": a_moved_time_and_a_candidate,
    "waitlist:offer_moved": a_moved_time_with_a_candidate,
}
