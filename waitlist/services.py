"""Every change to the waitlist: add, edit, remove, book from it, offer a freed time, accept an offer.

Each is one transaction. Entries are `Audited` (each save is in the trail); offers are recorded with
`record()`. Booking always goes through scheduling.services.book_appointment, so the waitlist books by
the same double-booking rules as the booking form.

Lock order, everywhere: the doctor's row, then the patient's (book_appointment takes both in that order),
then the offer, then the entry. Two accepts of one time then queue on the doctor, and the later one finds the
time taken (and its offer marked so) instead of the two waiting on each other's rows; a booking, a removal and
an accept of one patient queue on the patient.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.audit import Action, lock_rows, record
from clinic.links import LinkError, read_link_token, use_link_token
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.services import book_appointment
from staff.models import Doctor

from .matching import candidates_for
from .models import FreedTime, Urgency, WaitlistEntry, WaitlistOffer

ACCEPT = "waitlist.accept"
# An offer's link is good for this long, and never later than this before the time starts.
OFFER_VALID_FOR = timedelta(hours=24)
OFFER_CLOSES_BEFORE_START = timedelta(hours=1)
MAX_OFFERS = 5
BOOKED_REASON = "From the waitlist"

Status = WaitlistEntry.Status
OfferStatus = WaitlistOffer.Status


# --- entries ------------------------------------------------------------------------------------


def _check_entry(entry):
    entry.full_clean(exclude=["added_by", "patient"])
    if entry.patient.is_archived:
        raise ValidationError({"patient": "This patient's record is archived; restore it first."})
    same = WaitlistEntry.objects.filter(
        patient_id=entry.patient_id, status=Status.WAITING, doctor_id=entry.doctor_id, specialty_id=entry.specialty_id
    ).exclude(pk=entry.pk)
    if same.exists():
        raise ValidationError(f"{entry.patient.full_name} is already waiting for {entry.wanted}.")


def _normalise(entry):
    # A named doctor says the specialty too: keep only the doctor, so the entry is matched one way.
    if entry.doctor_id:
        entry.specialty = None
    entry.weekdays = "".join(sorted(set(entry.weekdays or "")))


@transaction.atomic
def add_entry(
    *,
    patient,
    by,
    doctor=None,
    specialty=None,
    weekdays="",
    time_from=None,
    time_to=None,
    not_before=None,
    urgency=Urgency.ROUTINE,
    note="",
) -> WaitlistEntry:
    _lock_patient(patient.pk)  # two tabs adding one patient at once: the duplicate check sees the other's entry
    entry = WaitlistEntry(
        patient=patient,
        doctor=doctor,
        specialty=specialty,
        weekdays=weekdays,
        time_from=time_from,
        time_to=time_to,
        not_before=not_before,
        urgency=urgency,
        note=note.strip(),
        added_by=by,
    )
    _normalise(entry)
    _check_entry(entry)
    entry.save()
    return entry


EDITABLE = ("doctor", "specialty", "weekdays", "time_from", "time_to", "not_before", "urgency", "note")


@transaction.atomic
def update_entry(*, entry, by, **changes) -> WaitlistEntry:
    _lock_patient(entry.patient_id)
    entry = lock_rows(WaitlistEntry.objects.select_related("patient")).get(pk=entry.pk)
    if entry.status != Status.WAITING:
        raise ValidationError(f"This entry is {entry.get_status_display().lower()}; it can no longer be changed.")
    for name, value in changes.items():
        if name not in EDITABLE:
            raise TypeError(f"update_entry() cannot change {name!r}")
        setattr(entry, name, value.strip() if name == "note" else value)
    _normalise(entry)
    _check_entry(entry)
    entry.save()
    return entry


@transaction.atomic
def remove_entry(*, entry, reason, by) -> WaitlistEntry:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the patient leaves the waitlist."})
    _lock_patient(entry.patient_id)
    list(lock_rows(WaitlistOffer.objects.filter(entry_id=entry.pk).order_by("pk")).values_list("pk"))
    entry = lock_rows(WaitlistEntry.objects.select_related("patient")).get(pk=entry.pk)
    if entry.status != Status.WAITING:
        raise ValidationError(f"This entry is already {entry.get_status_display().lower()}.")
    entry.status = Status.REMOVED
    entry.removed_at = timezone.now()
    entry.removed_by = by
    entry.removal_reason = reason.strip()[:255]
    entry.save()
    _close_offers(WaitlistOffer.objects.filter(entry=entry), OfferStatus.TAKEN)
    return entry


# --- a freed time ---------------------------------------------------------------------------------


def is_freed_time(appointment, now=None) -> bool:
    """A cancelled appointment still to come whose time nobody has taken since. (A no-show is marked only
    after its start, so its time is never still to come.)"""
    if appointment.status != Appointment.Status.CANCELLED or appointment.start <= (now or timezone.now()):
        return False
    return not time_is_taken(appointment.doctor_id, appointment.start, appointment.end)


def moved_from(appointment, *, doctor_id, start, end):
    """Remember the time an appointment was moved from, when it is still to come: the waitlist may fill it."""
    if start > timezone.now():
        return FreedTime.objects.create(doctor_id=doctor_id, start=start, end=end, appointment=appointment)
    return None


def moved_time_is_free(freed, now=None) -> bool:
    return freed.start > (now or timezone.now()) and not time_is_taken(freed.doctor_id, freed.start, freed.end)


def time_is_taken(doctor_id, start, end):
    return Appointment.objects.active().overlapping(start, end).filter(doctor_id=doctor_id).exists()


def _lock_doctor(doctor_id):
    list(lock_rows(Doctor.objects.filter(pk=doctor_id).order_by()).values_list("pk"))


def _lock_patient(patient_id):
    list(lock_rows(Patient.objects.filter(pk=patient_id).order_by()).values_list("pk"))


def _close_offers(offers, status):
    """Close the offers still open among `offers` (their links then lead to a page saying so)."""
    return offers.filter(status__in=WaitlistOffer.OPEN).update(status=status, answered_at=timezone.now())


def _booked(entry, appointment, *, doctor_id, start):
    if entry.status == Status.WAITING:
        entry.status = Status.BOOKED
        entry.appointment = appointment
        entry.save()
    # Everyone else offered this time: taken. (This entry's other offers too: the patient is booked.)
    _close_offers(WaitlistOffer.objects.filter(doctor_id=doctor_id, start=start), OfferStatus.TAKEN)
    _close_offers(WaitlistOffer.objects.filter(entry=entry), OfferStatus.TAKEN)


def booked_elsewhere(appointment):
    """A new appointment of a waiting patient with the doctor (or a doctor of the specialty) they wait for
    takes them off the list, however it was booked (the booking form, a series, the API): called from
    Appointment's post_save (waitlist/signals.py), in the booking's own transaction."""
    if not appointment.is_active:
        return 0
    doctor = appointment.doctor
    matching = WaitlistEntry.objects.filter(patient_id=appointment.patient_id, status=Status.WAITING).filter(
        Q(doctor_id=doctor.pk) | Q(doctor__isnull=True, specialty_id=doctor.specialty_id)
    )
    done = 0
    for entry in lock_rows(matching.select_related("patient")):
        entry.status = Status.BOOKED
        entry.appointment = appointment
        entry.save()
        _close_offers(WaitlistOffer.objects.filter(entry=entry), OfferStatus.TAKEN)
        done += 1
    return done


@transaction.atomic
def book_from_waitlist(*, entry, doctor, start, end, by) -> Appointment:
    """Book this waiting patient into [start, end) with the doctor and take them off the list, together.
    If the time was taken meanwhile, book_appointment's ValidationError leaves everything as it was."""
    if start <= timezone.now():
        # A page left open past the time (booking earlier today is allowed, for walk-ins recorded after the fact).
        raise ValidationError("This time has begun; it can no longer be filled from the waitlist.")
    _lock_doctor(doctor.pk)
    _lock_patient(entry.patient_id)
    entry = lock_rows(WaitlistEntry.objects.select_related("patient")).get(pk=entry.pk)
    if entry.status != Status.WAITING:
        raise ValidationError(
            f"{entry.patient.full_name} is no longer on the waitlist ({entry.get_status_display().lower()})."
        )
    appointment = book_appointment(
        patient=entry.patient, doctor=doctor, start=start, end=end, reason=BOOKED_REASON, booked_by=by
    )
    entry.refresh_from_db()  # booked_elsewhere() has taken it off the list when doctor or specialty matched
    _booked(entry, appointment, doctor_id=doctor.pk, start=start)
    return appointment


# --- offers by message ----------------------------------------------------------------------------


def offer_valid_until(start, now=None):
    now = now or timezone.now()
    return min(start - OFFER_CLOSES_BEFORE_START, now + OFFER_VALID_FOR)


@transaction.atomic
def offer_time(*, doctor, start, end, count, by) -> list[WaitlistOffer]:
    """Offer the freed time to the top `count` candidates not offered it yet; the messages go out from a
    background task once this commits (waitlist.tasks.send_offers)."""
    count = max(1, min(int(count), MAX_OFFERS))
    valid_until = offer_valid_until(start)
    if valid_until <= timezone.now():
        raise ValidationError("This time starts within the hour: too soon to offer by message. Book someone directly.")
    _lock_doctor(doctor.pk)
    if time_is_taken(doctor.pk, start, end):
        raise ValidationError("This time has been booked meanwhile; there is nothing to offer.")
    # By patient, not entry (candidates_for names each patient once): a patient offered it through one entry
    # is not offered it again through the other.
    offered = set(WaitlistOffer.objects.filter(doctor=doctor, start=start).values_list("entry__patient_id", flat=True))
    chosen = []
    for candidate in candidates_for(doctor, start, end, limit=count + len(offered)):
        if candidate.entry.patient_id not in offered and len(chosen) < count:
            offered.add(candidate.entry.patient_id)
            chosen.append(candidate.entry)
    if not chosen:
        raise ValidationError("Everyone on the waitlist who fits this time has been offered it already.")
    offers = []
    for entry in chosen:
        offer = WaitlistOffer.objects.create(
            entry=entry, doctor=doctor, start=start, end=end, valid_until=valid_until, offered_by=by
        )
        local = timezone.localtime(start)
        record(
            Action.CREATE,
            offer,
            patient_id=entry.patient_id,
            summary=f"offered {local:%Y-%m-%d %H:%M} with {doctor} from the waitlist",
        )
        offers.append(offer)
    ids = [offer.pk for offer in offers]

    def enqueue():
        from .tasks import send_offers

        send_offers.enqueue(ids)

    transaction.on_commit(enqueue)
    return offers


@dataclass
class Answer:
    """What became of an accept: "booked" (with the appointment) or "taken" (the patient stays waiting)."""

    outcome: str
    offer: WaitlistOffer
    appointment: Appointment | None = None


def offer_from_link(token):
    """The offer a link names (for its page), or LinkError: forged, expired (or the offer is gone)."""
    offer_id = read_link_token(token, ACCEPT)
    offer = (
        WaitlistOffer.objects.select_related("entry__patient", "doctor__user", "doctor__specialty", "appointment")
        .filter(pk=offer_id)
        .first()
    )
    if offer is None:
        raise LinkError("forged")
    return offer


@transaction.atomic
def accept_offer(*, token) -> Answer:
    """Spend the link and book the time, in one transaction: the first accept books, a later one (another
    patient offered the same time) is told it has been taken and stays on the waitlist."""
    offer = offer_from_link(token)
    _lock_doctor(offer.doctor_id)  # accepts of one time queue here (see the module's docstring)
    _lock_patient(offer.entry.patient_id)
    use_link_token(token, ACCEPT)  # a second use of the same link: LinkError("used")
    offer = lock_rows(WaitlistOffer.objects.select_related("entry__patient", "doctor__user")).get(pk=offer.pk)
    if offer.status not in WaitlistOffer.OPEN:
        return Answer("taken" if offer.status != OfferStatus.ACCEPTED else "booked", offer, offer.appointment)
    entry = lock_rows(WaitlistEntry.objects.select_related("patient")).get(pk=offer.entry_id)
    if entry.status != Status.WAITING:
        _close_offers(WaitlistOffer.objects.filter(pk=offer.pk), OfferStatus.TAKEN)
        offer.refresh_from_db()
        return Answer("taken", offer)
    try:
        with transaction.atomic():
            appointment = book_appointment(
                patient=entry.patient,
                doctor=offer.doctor,
                start=offer.start,
                end=offer.end,
                reason=BOOKED_REASON,
                booked_by=offer.offered_by,
            )
    except ValidationError:
        _close_offers(WaitlistOffer.objects.filter(pk=offer.pk), OfferStatus.TAKEN)
        offer.refresh_from_db()
        return Answer("taken", offer)
    entry.refresh_from_db()
    _booked(entry, appointment, doctor_id=offer.doctor_id, start=offer.start)
    WaitlistOffer.objects.filter(pk=offer.pk).update(
        status=OfferStatus.ACCEPTED, answered_at=timezone.now(), appointment=appointment
    )
    record(Action.STATUS, offer, patient_id=entry.patient_id, summary="offer accepted by the patient's link: booked")
    offer.refresh_from_db()
    return Answer("booked", offer, appointment)


def expire_offers(now=None) -> dict:
    """Close open offers whose link has expired, and those whose time someone has since booked."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = _close_offers(WaitlistOffer.objects.filter(valid_until__lte=now), OfferStatus.EXPIRED)
        still_open = list(
            WaitlistOffer.objects.filter(status__in=WaitlistOffer.OPEN).values_list("pk", "doctor_id", "start", "end")
        )
        taken_ids = [pk for pk, doctor_id, start, end in still_open if time_is_taken(doctor_id, start, end)]
        taken = _close_offers(WaitlistOffer.objects.filter(pk__in=taken_ids), OfferStatus.TAKEN)
    return {"expired": expired, "taken": taken}
