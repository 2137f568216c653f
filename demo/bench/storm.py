"""The booking storm: many receptionists booking at once, through the real booking service.

`run_storm()` runs on a seeded database (doctors with working hours, patients). Each client is a
thread with its own database connection, booking one free slot after another through
`scheduling.services.book_appointment`, inside a request context (RequestContextMiddleware) as
a signed-in receptionist, so the audit trail names who booked. Threads, not processes: the time of
a booking is mostly the database's (locks, commit, the exclusion check) and the GIL is released while
waiting on it; run_storm reports how much CPU the client process used, to show when it is not.

Clients are spread over the doctors as a front desk is (booking locks the doctor's row, so two
clients booking one doctor queue behind each other, as they must), each with patients of its own
(a patient cannot be in two places at once). Afterwards it checks that no doctor is double-booked,
that every booking has its audit entry, that all entries were sealed by the writers themselves, and
that verify() finds the trail intact; then a few clients race for one slot and exactly one must win.
"""

import os
import statistics
import threading
import time
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from clinic import audit
from clinic.context import RequestContextMiddleware
from clinic.models import AuditEntry
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.services import book_appointment
from staff.models import Doctor
from staff.roles import RECEPTIONIST

# Far enough ahead that the demo's appointments are not in the way (and a rerun moves further on).
_FIRST_DAY_AHEAD = 60


def _receptionist(using):
    users = get_user_model().objects.db_manager(using).filter(is_active=True)
    return users.filter(groups__name=RECEPTIONIST).order_by("pk").first() or users.order_by("pk").first()


def _as_request(user, action):
    """Run action() as a request of `user` would: with a request id, address and client for the trail."""
    request = RequestFactory().post("/scheduling/book/", REMOTE_ADDR="192.0.2.50", HTTP_USER_AGENT="booking storm")
    request.user = user
    outcome = {}

    def view(request):
        outcome["result"] = action()
        return HttpResponse()

    RequestContextMiddleware(view)(request)
    return outcome["result"]


def _free_slots(doctor, first_day, count, using):
    """`count` slots of the doctor's working hours from first_day on, none touching an existing appointment."""
    hours = list(doctor.working_hours.all())
    if not hours:
        return []
    length = timedelta(minutes=doctor.consultation_minutes)
    slots, day = [], first_day
    taken = list(
        Appointment.objects.using(using)
        .filter(doctor=doctor, end__gt=timezone.make_aware(datetime.combine(first_day, datetime.min.time())))
        .exclude(status=Appointment.Status.CANCELLED)
        .values_list("start", "end")
    )
    while len(slots) < count and day < first_day + timedelta(days=3650):
        for interval in sorted((h for h in hours if h.weekday == day.weekday()), key=lambda h: h.start_time):
            start = timezone.make_aware(datetime.combine(day, interval.start_time))
            close = timezone.make_aware(datetime.combine(day, interval.end_time))
            while start + length <= close and len(slots) < count:
                if not any(s < start + length and start < e for s, e in taken):
                    slots.append(start)
                start += length
        day += timedelta(days=1)
    return slots


def _plan(clients, bookings_per_client, doctors, patients, using):
    """Each client: its doctor, its patients and the slots it will book (none shared with another)."""
    if len(patients) < clients:
        raise ValueError(f"The storm needs a patient per client: {clients} clients, {len(patients)} patients.")
    first_day = timezone.localdate() + timedelta(days=_FIRST_DAY_AHEAD)
    per_doctor = {}
    for client in range(clients):
        per_doctor.setdefault(client % len(doctors), []).append(client)
    plan = {}
    for index, sharing in per_doctor.items():
        doctor = doctors[index]
        slots = _free_slots(doctor, first_day, len(sharing) * bookings_per_client, using)
        for rank, client in enumerate(sharing):
            plan[client] = {
                "doctor": doctor,
                "patients": patients[client::clients],
                "slots": slots[rank :: len(sharing)][:bookings_per_client],
            }
    return plan


def _percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _run_clients(plan, user, using):
    latencies, errors, booked = [], [], []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def client(job):
        connection = connections[using]
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            for n, start in enumerate(job["slots"]):
                patient = job["patients"][n % len(job["patients"])]
                began = time.perf_counter()
                try:
                    appointment = _as_request(
                        user,
                        lambda start=start, patient=patient: book_appointment(
                            patient=patient, doctor=job["doctor"], start=start, booked_by=user, reason="storm"
                        ),
                    )
                except Exception as error:  # noqa: BLE001 - every failure is counted and shown
                    with lock:
                        errors.append(repr(error)[:200])
                    continue
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    booked.append(appointment.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(job,)) for job in plan.values()]
    cpu_before, began = os.times(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu_after = time.perf_counter() - began, os.times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return latencies, errors, booked, seconds, cpu


def _overlapping_pairs(doctor_ids, using):
    """Pairs of live appointments of one doctor that overlap (the database should refuse every one)."""
    pairs = 0
    for doctor_id in doctor_ids:
        times = (
            Appointment.objects.using(using)
            .filter(doctor_id=doctor_id)
            .exclude(status=Appointment.Status.CANCELLED)
            .order_by("start")
            .values_list("start", "end")
        )
        latest_end = None
        for start, end in times:
            if latest_end is not None and start < latest_end:
                pairs += 1
            latest_end = end if latest_end is None else max(latest_end, end)
    return pairs


def _race_for_one_slot(racers, doctor, patients, user, using):
    """`racers` clients book the same slot of one doctor at the same instant: one must win."""
    start = _free_slots(doctor, timezone.localdate() + timedelta(days=_FIRST_DAY_AHEAD + 400), 1, using)[0]
    barrier = threading.Barrier(racers)
    outcomes = [None] * racers

    def racer(i):
        try:
            connections[using].ensure_connection()
            barrier.wait(timeout=30)
            _as_request(user, lambda: book_appointment(patient=patients[i], doctor=doctor, start=start, booked_by=user))
            outcomes[i] = "booked"
        except ValidationError:
            outcomes[i] = "refused"
        except Exception as error:  # noqa: BLE001 - shown in the result
            outcomes[i] = repr(error)[:200]
        finally:
            connections[using].close()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "racers": racers,
        "booked": outcomes.count("booked"),
        "refused": outcomes.count("refused"),
        "errors": [o for o in outcomes if o not in ("booked", "refused")],
    }


def run_storm(*, clients=50, bookings_per_client=20, using="default", doctors=None, racers=5) -> dict:
    """Book clients × bookings_per_client distinct free slots at once; returns the numbers and checks.

    `doctors`: how many doctors to spread the clients over (default: every active doctor with hours)."""
    all_doctors = list(
        Doctor.objects.using(using)
        .active()
        .filter(working_hours__isnull=False)
        .distinct()
        .order_by("pk")
        .prefetch_related("working_hours")
    )
    chosen = all_doctors[:doctors] if doctors else all_doctors
    patients = list(Patient.objects.using(using).filter(is_archived=False).order_by("pk")[: clients * 4])
    user = _receptionist(using)
    plan = _plan(clients, bookings_per_client, chosen, patients, using)
    first_entry = AuditEntry.objects.using(using).order_by("-id").values_list("id", flat=True).first() or 0

    latencies, errors, booked, seconds, cpu = _run_clients(plan, user, using)

    entries = AuditEntry.objects.using(using).filter(
        id__gt=first_entry, object_type="scheduling.appointment", action=AuditEntry.Action.CREATE
    )
    audited = set(entries.values_list("object_id", flat=True))
    # Sealed by the writers themselves (each commit's seal and its re-check), before verify() seals anything.
    unsealed_after = AuditEntry.objects.using(using).filter(seq__isnull=True).count()
    checked, _, breaks = audit.verify(using=using)
    race = _race_for_one_slot(min(racers, len(patients)), chosen[0], patients, user, using) if racers else None
    return {
        "database": connections[using].vendor,
        "clients": clients,
        "doctors": len(chosen),
        "bookings": len(booked),
        "errors": len(errors),
        "error_examples": errors[:3],
        "seconds": round(seconds, 2),
        "bookings_per_second": round(len(booked) / seconds, 1) if seconds else None,
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "client_cpu_share": round(cpu / seconds, 2) if seconds else None,  # of one core: near 1.0 = GIL-bound
        "overlapping_pairs": _overlapping_pairs([doctor.pk for doctor in chosen], using),
        "bookings_without_audit_entry": len({str(pk) for pk in booked} - audited),
        "unsealed_after_storm": unsealed_after,
        "audit_entries_verified": checked,
        "audit_problems": [f"{b.where}: {b.problem}" for b in breaks[:5]],
        "same_slot_race": race,
    }
