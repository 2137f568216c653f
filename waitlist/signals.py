"""A waiting patient booked by any door leaves the waitlist.

Booking lives below the waitlist (scheduling cannot import it), and appointments are made by several
doors (the booking form, series, the API, the waitlist itself); Appointment's post_save is the one place
they all pass, in the booking's own transaction.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from scheduling.models import Appointment

from . import services


@receiver(post_save, sender=Appointment, dispatch_uid="waitlist.booked_elsewhere")
def booked_elsewhere(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        services.booked_elsewhere(instance)
