"""A waiting patient booked by any door leaves the waitlist; a time an appointment is moved from is free again.

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


@receiver(post_save, sender=Appointment, dispatch_uid="waitlist.moved_from")
def moved_from(sender, instance, created, raw=False, **kwargs):
    # Appointment.save() still holds the times it was loaded with (`_loaded`) while post_save runs.
    loaded = getattr(instance, "_loaded", None)
    if created or raw or not loaded or not instance.is_active:
        return
    old = (loaded.get("doctor_id"), loaded.get("start"), loaded.get("end"))
    if None in old or old == (instance.doctor_id, instance.start, instance.end):
        return
    services.moved_from(instance, doctor_id=old[0], start=old[1], end=old[2])
