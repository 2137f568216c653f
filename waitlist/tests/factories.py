from datetime import timedelta

import factory

from patients.tests.factories import PatientFactory
from scheduling.tests.factories import tomorrow_at
from staff.tests.factories import DoctorFactory, UserFactory
from waitlist.models import Urgency, WaitlistEntry, WaitlistOffer


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    """Waiting for a named doctor, any day and time (tests of the rules go through waitlist.services)."""

    class Meta:
        model = WaitlistEntry

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    urgency = Urgency.ROUTINE
    added_by = factory.SubFactory(UserFactory)


class WaitlistOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitlistOffer

    entry = factory.SubFactory(WaitlistEntryFactory)
    doctor = factory.SelfAttribute("entry.doctor")
    start = factory.LazyFunction(lambda: tomorrow_at(11))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(minutes=20))
    valid_until = factory.LazyAttribute(lambda o: o.start - timedelta(hours=1))
    status = WaitlistOffer.Status.SENT
    offered_by = factory.SubFactory(UserFactory)
