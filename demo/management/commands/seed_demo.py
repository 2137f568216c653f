"""Demo data: staff with roles, doctors with hours, patients, a week of appointments around today,
a year of past visits with their records, finances and documents; optionally a bulk load.

All or nothing: the demo is written in one transaction, and files stored for it are removed when it
fails, so a run that died can simply be run again. Idempotent: records are looked up by natural keys
(username, licence, name and date of birth, doctor and start time) before being created, so running
it twice creates nothing new. The bulk load (`--patients` above the demo's own, `--appointments`)
commits a batch at a time and carries on where an earlier run stopped.
"""

import random
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clinical.demo import seed_clinical_history
from documents.demo import seed_documents
from finance.demo import first_past_visit_day, seed_finances, seed_past_visits
from patients.demo import FIRST_NAMES, STREETS, demo_name, seed_bulk_patients
from patients.models import Allergy, Condition, Patient
from patients.text import fold
from reminders.demo import seed_reminders
from scheduling.demo import REASONS, seed_bulk_appointments, seed_demo_series, stamp, status_for, working_slots
from scheduling.models import Appointment
from staff import roles
from staff.demo import DEFAULT_PASSWORD, DEMO_USERS
from staff.models import Doctor, Specialty, User, WorkingHours
from waitlist.demo import seed_waitlist

S = Appointment.Status
WEEKDAYS = range(0, 5)
DOCTORS = [
    # username, first, last, specialty, licence, minutes, hours {weekday: [(from, to)]}
    (
        "doctor",
        "Amelia",
        "Hart",
        "General practice",
        "GMC-7012345",
        20,
        {d: [("08:30", "12:30"), ("13:30", "17:00")] for d in WEEKDAYS},
    ),
    (
        "dr.okafor",
        "Chinedu",
        "Okafor",
        "Cardiology",
        "GMC-7023456",
        30,
        {d: [("09:00", "13:00"), ("14:00", "17:30")] for d in (0, 1, 3)},
    ),
    (
        "dr.silva",
        "Marta",
        "Silva",
        "Paediatrics",
        "GMC-7034567",
        20,
        {d: [("08:00", "12:00"), ("13:00", "16:00")] for d in (0, 2, 3, 4)},
    ),
    (
        "dr.nguyen",
        "Linh",
        "Nguyễn",
        "Dermatology",
        "GMC-7045678",
        15,
        {d: [("10:00", "14:00"), ("15:00", "19:00")] for d in (1, 2, 4)},
    ),
    # The weekend clinic: someone is always on, so every day has a schedule.
    (
        "dr.kowalski",
        "Piotr",
        "Kowalski",
        "General practice",
        "GMC-7056789",
        20,
        {**{d: [("12:00", "18:00")] for d in WEEKDAYS}, 5: [("09:00", "14:00")], 6: [("09:00", "13:00")]},
    ),
]
ALLERGIES = [
    ("Penicillin", "Rash and hives", Allergy.Severity.MODERATE),
    ("Peanuts", "Anaphylaxis", Allergy.Severity.LIFE_THREATENING),
    ("Latex", "Contact dermatitis", Allergy.Severity.MILD),
    ("Ibuprofen", "Bronchospasm", Allergy.Severity.SEVERE),
    ("Sulfonamides", "Skin rash", Allergy.Severity.MODERATE),
]
CONDITIONS = [
    ("Essential hypertension", "I10"),
    ("Type 2 diabetes mellitus", "E11.9"),
    ("Asthma", "J45.9"),
    ("Hypothyroidism", "E03.9"),
    ("Migraine", "G43.9"),
    ("Atopic dermatitis", "L20.9"),
    ("Osteoarthritis of knee", "M17.9"),
]
# The demo's own patients (with allergies and conditions); beyond these `--patients` bulk-loads.
DEMO_PATIENTS = 60


class Command(BaseCommand):
    help = "Create the demo clinic (idempotent, all or nothing); optionally bulk-load patients and appointments."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for new demo accounts.")
        parser.add_argument(
            "--patients",
            type=int,
            default=DEMO_PATIENTS,
            help=f"Patients in all: the first {DEMO_PATIENTS} get the demo's history, the rest are bulk-loaded.",
        )
        parser.add_argument(
            "--appointments",
            type=int,
            default=None,
            help="Bulk-load this many more appointments on days before and after the demo's (load data).",
        )
        parser.add_argument(
            "--visits-per-day",
            type=float,
            default=12,
            help="Past visits a weekday over the demo's year, each with its record (0.25: one every fourth weekday,"
            " a quicker demo).",
        )
        parser.add_argument("--batch-size", type=int, default=10000, help="Rows a transaction in the bulk load.")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--allow-production", action="store_true", help="Run even with production (HTTPS) settings."
        )

    def handle(self, *args, **options):
        if settings.HTTPS and not options["allow_production"]:
            raise CommandError(
                "Refusing to load demo data with production settings (HTTPS=on); pass --allow-production."
            )
        if options["patients"] < 1 or options["batch_size"] < 1 or not 0 < options["visits_per_day"] <= 17:
            raise CommandError("--patients and --batch-size must be at least 1, --visits-per-day between 0 and 17.")
        self.seed = options["seed"]
        self.random = random.Random(self.seed)
        started = time.monotonic()
        users, doctors = self.seed_demo(options)
        self.stdout.write(f"Demo data took {time.monotonic() - started:.1f} s.")
        if options["patients"] > DEMO_PATIENTS:
            made = seed_bulk_patients(
                options["patients"], seed=self.seed, batch_size=options["batch_size"], progress=self.stdout.write
            )
            self.stdout.write(self.style.SUCCESS(f"Bulk: {made} patients created."))
        if options["appointments"]:
            today = timezone.localdate()
            made = seed_bulk_appointments(
                options["appointments"],
                booked_by=users["reception"],
                # The demo's days are its past year and the week around today; the bulk load keeps off them.
                future_from=today + timedelta(days=4),
                past_before=first_past_visit_day(today),
                seed=self.seed,
                batch_size=options["batch_size"],
                progress=self.stdout.write,
            )
            self.stdout.write(self.style.SUCCESS(f"Bulk: {made} appointments created."))
        if options["patients"] > DEMO_PATIENTS or options["appointments"]:
            self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")

    def seed_demo(self, options):
        """The whole demo in one transaction; files it stored are removed if it fails, so a rerun starts clean."""
        written = []  # (storage, name) of every file stored for the demo
        try:
            with transaction.atomic():
                users = self.seed_staff(options["password"])
                doctors = self.seed_doctors(options["password"])
                patients = self.seed_patients(min(options["patients"], DEMO_PATIENTS))
                made = self.seed_week(doctors, patients, users["reception"])
                made += seed_demo_series(
                    patient=patients[0],
                    doctor=doctors[0],
                    booked_by=users["reception"],
                    first_day=timezone.localdate() + timedelta(days=4),
                )
                reminders = seed_reminders()
                waiting = seed_waitlist(self.seed)
                past = seed_past_visits(self.seed, per_day=options["visits_per_day"])
                records, plans = seed_clinical_history(self.seed)
                entries = seed_finances(self.seed, written=written)
                files = seed_documents(self.seed, written=written)
        except BaseException:
            for storage, name in written:
                storage.delete(name)
            raise
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(doctors)} doctors, {len(patients)} patients, {made} new appointments this week,"
                f" {past} past visits,"
                f" {records} new medical records, {plans} new treatment plans, {entries} new finance entries,"
                f" {files} new documents and images, {reminders} reminders, {waiting} patients on the waitlist."
            )
        )
        return users, doctors

    # --- staff ----------------------------------------------------------------------------------
    def _user(self, username, first, last, role, password):
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@clinic.example"}
        )
        if created:
            user.set_password(password)
        user.is_staff = role in roles.ADMIN_SITE_ROLES
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return user

    def seed_staff(self, password):
        return {u.username: self._user(u.username, u.first_name, u.last_name, u.role, password) for u in DEMO_USERS}

    def seed_doctors(self, password):
        doctors = []
        for username, first, last, specialty, licence, minutes, hours in DOCTORS:
            user = self._user(username, first, last, roles.DOCTOR, password)
            doctor, created = Doctor.objects.get_or_create(
                user=user,
                defaults={
                    "specialty": Specialty.objects.get_or_create(name=specialty)[0],
                    "licence_number": licence,
                    "consultation_minutes": minutes,
                    "phone": f"+44 20 7946 0{len(doctors) + 1:03d}",
                },
            )
            if created:
                WorkingHours.objects.bulk_create(
                    WorkingHours(
                        doctor=doctor, weekday=day, start_time=clock.fromisoformat(a), end_time=clock.fromisoformat(b)
                    )
                    for day, intervals in hours.items()
                    for a, b in intervals
                )
            doctors.append(doctor)
        for name in ("Orthopaedics", "Obstetrics and gynaecology", "Psychiatry"):
            Specialty.objects.get_or_create(name=name)
        return doctors

    # --- patients -------------------------------------------------------------------------------
    def seed_patients(self, count):
        existing = {(p.name_key, p.date_of_birth): p for p in Patient.objects.all()}
        patients = []
        for i in range(count):
            # One generator per patient: the same patient comes out on every run.
            rnd = self.random = random.Random(f"{self.seed}-patient-{i}")
            first, sex, last = demo_name(i)
            born = date(1940, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 80))
            phone = f"07700 9{rnd.randrange(0, 100000):05d}"
            key = (fold(f"{first} {last}"), born)
            patient = existing.get(key)
            if patient is None:
                patient = Patient.objects.create(
                    first_name=first,
                    last_name=last,
                    date_of_birth=born,
                    sex=sex,
                    phone=phone,
                    email=f"{fold(first).replace(' ', '')}.{fold(last).replace(' ', '')}{i}@mail.example",
                    address=f"{rnd.randrange(1, 200)} {rnd.choice(STREETS)}\nLondon",
                    emergency_contact_name=f"{rnd.choice(FIRST_NAMES)[0]} {last}",
                    emergency_contact_relationship=rnd.choice(["Partner", "Parent", "Sibling", "Friend"]),
                    emergency_contact_phone=f"07700 8{rnd.randrange(0, 100000):05d}",
                )
                self._history(patient)
                existing[key] = patient
            patients.append(patient)
        return patients

    def _history(self, patient):
        rnd = self.random
        if rnd.random() < 0.35:
            substance, reaction, severity = rnd.choice(ALLERGIES)
            Allergy.objects.create(patient=patient, substance=substance, reaction=reaction, severity=severity)
        # Most were asked about allergies at registration ("No known allergies" when none); some were
        # not yet, so the demo shows "Allergies not yet recorded" and its button too.
        if rnd.random() < 0.8:
            Patient.objects.filter(pk=patient.pk).update(allergies_checked_at=timezone.now())
        for name, code in rnd.sample(CONDITIONS, rnd.choice([0, 0, 1, 1, 2])):
            onset = patient.date_of_birth + timedelta(days=rnd.randrange(365 * 5, max(365 * 6, patient.age * 365)))
            Condition.objects.create(
                patient=patient, name=name, icd10_code=code, onset_date=min(onset, timezone.localdate())
            )

    # --- appointments ---------------------------------------------------------------------------
    def seed_week(self, doctors, patients, booked_by):
        """About two thirds of each doctor's slots, three days either side of today."""
        today, now = timezone.localdate(), timezone.now()
        taken = set(
            Appointment.objects.filter(
                start__gte=timezone.make_aware(datetime.combine(today - timedelta(days=3), clock.min)),
                start__lt=timezone.make_aware(datetime.combine(today + timedelta(days=4), clock.min)),
            ).values_list("doctor_id", "start")
        )
        busy = {}  # patient id -> list of (start, end)
        new = []
        for offset in range(-3, 4):
            day = today + timedelta(days=offset)
            for doctor in doctors:
                for start, end in working_slots(doctor, day):
                    # One generator per slot: a second run makes the same choices and finds them taken.
                    rnd = random.Random(f"{self.seed}-{doctor.licence_number}-{start.isoformat()}")
                    if (doctor.pk, start) in taken or rnd.random() > 0.65:
                        continue
                    patient = rnd.choice(patients)
                    if any(s < end and start < e for s, e in busy.get(patient.pk, [])):
                        continue
                    busy.setdefault(patient.pk, []).append((start, end))
                    status = status_for(start, end, rnd, now)
                    new.append(
                        stamp(
                            Appointment(
                                patient=patient,
                                doctor=doctor,
                                start=start,
                                end=end,
                                status=status,
                                reason=rnd.choice(REASONS),
                                booked_by=booked_by,
                            ),
                            rnd,
                            now,
                        )
                    )
        # Patients already booked elsewhere at that time (an earlier run) are skipped, not doubled; cancelled
        # visits count too, as they do within this run, so a second run makes the same choices and adds nothing.
        clashes = Appointment.objects.filter(patient__in={a.patient_id for a in new})
        existing = {}
        for pid, s, e in clashes.values_list("patient_id", "start", "end"):
            existing.setdefault(pid, []).append((s, e))
        new = [a for a in new if not any(s < a.end and a.start < e for s, e in existing.get(a.patient_id, []))]
        Appointment.objects.bulk_create(new, batch_size=500)
        return len(new)
