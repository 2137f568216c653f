"""The waitlist's background work (django-tasks): sending offers, and closing those that lapsed.

Sending runs here, never in the request that made the offers: a slow mail server or SMS provider must not
hold a receptionist's page. Each offer is claimed (SENDING -> SENT in one conditional UPDATE) before its
messages go out, so a task run twice (a worker restarted, a retry) sends each offer once.
"""

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from clinic.links import make_link_token
from reminders.channels import send_email, send_text, sms_available

from . import services
from .models import WaitlistOffer

log = logging.getLogger(__name__)


def site_url():
    """Where patients reach the clinic's pages from outside (links in messages): CLINIC_SITE_URL, as reminders."""
    return getattr(settings, "CLINIC_SITE_URL", "").rstrip("/") or "http://127.0.0.1:8000"


def accept_url(offer):
    token = make_link_token(services.ACCEPT, offer.pk, valid_until=offer.valid_until)
    return site_url() + reverse("waitlist:accept", args=[token])


def _wants(patient, channel):
    # The patients' own choices about messages (the reminders' opt-outs): on unless they said no.
    return getattr(patient, f"reminders_by_{channel}", True)


def send_offer(offer):
    """Send one offer by the patient's channels; the channels it went out on (empty: none reached).
    A channel that fails is logged and skipped: the offer lapses within a day, so it is not retried."""
    patient = offer.entry.patient
    context = {
        "offer": offer,
        "patient": patient,
        "start": timezone.localtime(offer.start),
        "valid_until": timezone.localtime(offer.valid_until),
        "url": accept_url(offer),
        "clinic": settings.CLINIC_NAME,
        "address": getattr(settings, "CLINIC_LETTERHEAD_ADDRESS", ""),
    }
    channels = []
    if patient.email and _wants(patient, "email"):
        subject = render_to_string("waitlist/offer_subject.txt", context).strip()
        try:
            send_email(patient.email, subject, render_to_string("waitlist/offer_email.txt", context))
            channels.append("email")
        except Exception as error:  # noqa: BLE001 - one patient's failure must not stop the others' offers
            log.warning("waitlist offer %s: e-mail not sent: %s", offer.pk, error)
    if patient.phone and _wants(patient, "sms") and sms_available():
        try:
            send_text(patient.phone, render_to_string("waitlist/offer_sms.txt", context).strip())
            channels.append("sms")
        except Exception as error:  # noqa: BLE001 - as above
            log.warning("waitlist offer %s: SMS not sent: %s", offer.pk, error)
    return channels


@task()
def send_offers(offer_ids):
    """Send the offers named, each once; returns how many went out."""
    sent = 0
    for offer_id in offer_ids:
        # A patient whose record was archived since the offer was made (a duplicate, a death) is not written to.
        WaitlistOffer.objects.filter(
            pk=offer_id, status=WaitlistOffer.Status.SENDING, entry__patient__is_archived=True
        ).update(status=WaitlistOffer.Status.UNREACHABLE)
        claimed = WaitlistOffer.objects.filter(pk=offer_id, status=WaitlistOffer.Status.SENDING).update(
            status=WaitlistOffer.Status.SENT, sent_at=timezone.now()
        )
        if not claimed:
            continue
        offer = WaitlistOffer.objects.select_related("entry__patient", "doctor__user", "doctor__specialty").get(
            pk=offer_id
        )
        channels = send_offer(offer)
        if channels:
            WaitlistOffer.objects.filter(pk=offer_id).update(channels=", ".join(channels))
            sent += 1
        else:
            WaitlistOffer.objects.filter(pk=offer_id, status=WaitlistOffer.Status.SENT).update(
                status=WaitlistOffer.Status.UNREACHABLE
            )
    return sent


@task()
def expire_offers():
    """Run every few minutes by the worker's beat (settings.PERIODIC_TASKS)."""
    return services.expire_offers()
