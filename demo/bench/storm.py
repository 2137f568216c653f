"""The booking storm: many receptionists booking at once, through the real booking service.

`run_storm()` runs on a seeded database (doctors with working hours, patients). Each client is a
thread with its own database connection, booking one free slot after another through
`scheduling.services.book_appointment`, inside a request context (RequestContextMiddleware) as
a signed-in receptionist, so the audit trail names who booked. The threads can be shared out over
several forked processes (`processes=`), as a server's workers are: at ~75 bookings/s one process
of threads spends a whole core in Python and the GIL, not the database, sets the pace; run_storm
reports the cores the clients used (`client_cpu_cores`) to show which.

Clients are spread over the doctors as a front desk is (booking locks the doctor's row, so two
clients booking one doctor queue behind each other, as they must), each with patients of its own
(a patient cannot be in two places at once). Afterwards it checks that no doctor is double-booked,
that every booking has its audit entry, that all entries were sealed by the writers themselves, and
that verify() finds the trail intact; then a few clients race for one slot and exactly one must win.
"""

import multiprocessing
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
    # After every appointment already booked (a rerun's patients are then free too).
    last = Appointment.objects.using(using).order_by("-end").values_list("end", flat=True).first()
    first_day = max(
        timezone.localdate() + timedelta(days=_FIRST_DAY_AHEAD),
        timezone.localtime(last).date() + timedelta(days=1) if last else timezone.localdate(),
    )
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


def _run_clients(plan, user, using, start_together=None, interval=None):
    """Each client of `plan` in a thread of this process; (latencies, errors, booked ids).

    `interval`: seconds between one client's bookings (an offered load, "open loop"); a booking's
    time then counts from when it was due, so a client that falls behind shows it in the latencies."""
    latencies, errors, booked = [], [], []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def client(index, job):
        connection = connections[using]
        try:
            try:
                connection.ensure_connection()
            except Exception:
                barrier.abort()  # the others stop waiting for this one (and say so) instead of hanging
                raise
            if barrier.wait(timeout=60) == 0 and start_together is not None:
                start_together.wait(timeout=60)  # every process ready too
            barrier.wait(timeout=60)
            # Clients start spread over one interval, as desks do, not all in the same millisecond.
            first = time.perf_counter() + (interval * index / len(plan) if interval else 0)
            for n, start in enumerate(job["slots"]):
                patient = job["patients"][n % len(job["patients"])]
                began, began_wall = time.perf_counter(), time.time()
                if interval:
                    due = first + n * interval
                    if due > began:
                        time.sleep(due - began)
                    began_wall += due - began
                    began = due
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
                    latencies.append((began_wall, took))
                    booked.append(appointment.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i, job)) for i, job in enumerate(plan.values())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, booked


def _in_processes(plan, user, using, processes, interval=None):
    """The clients shared out over `processes` forked processes (as a server's workers would be)."""
    context = multiprocessing.get_context("fork")
    start_together, results = context.Barrier(processes), context.Queue()
    shares = [dict(list(plan.items())[i::processes]) for i in range(processes)]
    connections.close_all()  # a forked child must not share the parent's connection

    def worker(share):
        results.put(_run_clients(share, user, using, start_together, interval))

    children = [context.Process(target=worker, args=(share,)) for share in shares]
    for child in children:
        child.start()
    latencies, errors, booked = [], [], []
    for _ in children:
        some_latencies, some_errors, some_booked = results.get(timeout=3600)
        latencies += some_latencies
        errors += some_errors
        booked += some_booked
    for child in children:
        child.join()
    return latencies, errors, booked


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
    last = Appointment.objects.using(using).order_by("-end").values_list("end", flat=True).first()
    start = _free_slots(doctor, timezone.localtime(last).date() + timedelta(days=1), 1, using)[0]
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


def run_storm(
    *, clients=50, bookings_per_client=20, using="default", doctors=None, racers=5, processes=1, rate=None
) -> dict:
    """Book clients × bookings_per_client distinct free slots at once; returns the numbers and checks.

    `doctors`: how many doctors to spread the clients over (default: every active doctor with hours).
    `processes`: share the client threads out over this many processes (1: all in this one).
    `rate`: bookings per second offered by all clients together (each books every clients/rate s);
    None: each client books again as soon as its last booking returns (the most the server can do)."""
    interval = clients / rate if rate else None
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

    cpu_before, began = os.times(), time.perf_counter()
    if processes > 1:
        latencies, errors, booked = _in_processes(plan, user, using, processes, interval)
    else:
        latencies, errors, booked = _run_clients(plan, user, using, interval=interval)
    cpu_after = os.times()
    # From the first booking's start to the last one's end (not the processes' start-up).
    seconds = max(b + t for b, t in latencies) - min(b for b, _ in latencies) if latencies else 0
    cpu_seconds = time.perf_counter() - began
    latencies = [took for _, took in latencies]
    # This process and its children, in cores: near `processes` means the clients were CPU-bound (the GIL).
    cpu = sum(cpu_after[:4]) - sum(cpu_before[:4])

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
        "offered_per_second": rate or "as fast as answered",
        "doctors": len(chosen),
        "bookings": len(booked),
        "errors": len(errors),
        "error_examples": errors[:3],
        "seconds": round(seconds, 2),
        "bookings_per_second": round(len(booked) / seconds, 1) if seconds else None,
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "processes": processes,
        "client_cpu_cores": round(cpu / cpu_seconds, 2) if cpu_seconds else None,
        "overlapping_pairs": _overlapping_pairs([doctor.pk for doctor in chosen], using),
        "bookings_without_audit_entry": len({str(pk) for pk in booked} - audited),
        "unsealed_after_storm": unsealed_after,
        "audit_entries_verified": checked,
        "audit_problems": [f"{b.where}: {b.problem}" for b in breaks[:5]],
        "same_slot_race": race,
    }
