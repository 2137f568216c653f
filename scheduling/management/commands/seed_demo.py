"""Demo data: staff with roles, doctors with hours, patients, and a week of appointments around today.

Idempotent: records are looked up by natural keys (username, licence, name and date of birth,
doctor and start time) before being created, so running it twice creates nothing new.
"""

import random
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clinical.demo import seed_clinical_history
from documents.demo import seed_documents
from finance.demo import seed_finances, seed_past_visits
from patients.models import Allergy, Condition, Patient
from patients.text import fold
from scheduling.models import Appointment
from staff import roles
from staff.demo import DEFAULT_PASSWORD, DEMO_USERS
from staff.models import Doctor, Specialty, User, WorkingHours

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
FIRST_NAMES = [
    ("Zoë", "female"),
    ("José", "male"),
    ("Aoife", "female"),
    ("Mohammed", "male"),
    ("Chloé", "female"),
    ("Łukasz", "male"),
    ("Siobhán", "female"),
    ("Kwame", "male"),
    ("Ingrid", "female"),
    ("Rahul", "male"),
    ("Mei", "female"),
    ("Oliver", "male"),
    ("Amara", "female"),
    ("Jürgen", "male"),
    ("Fatima", "female"),
    ("Liam", "male"),
    ("Sofía", "female"),
    ("Hiroshi", "male"),
    ("Eleanor", "female"),
    ("Tomás", "male"),
]
LAST_NAMES = [
    "O'Brien",
    "García",
    "Müller",
    "Okonkwo",
    "Novák",
    "Patel",
    "Smith",
    "Jones",
    "Kowalczyk",
    "Lefèvre",
    "Andersson",
    "Khan",
    "Rossi",
    "Nguyen",
    "Williams",
    "Brown",
    "Taylor",
    "Søndergaard",
    "Ahmed",
    "Murphy",
]
STREETS = ["Mill Lane", "Church Street", "Station Road", "Park Avenue", "Victoria Road", "High Street"]
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
REASONS = [
    "Follow-up",
    "Blood pressure review",
    "Persistent cough",
    "Skin rash",
    "Annual check-up",
    "Chest pain review",
    "Diabetes review",
    "Vaccination",
    "Back pain",
    "Headaches",
    "Medication review",
    "Child development check",
]


class Command(BaseCommand):
    help = "Create demo staff, doctors, patients and a week of appointments (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for new demo accounts.")
        parser.add_argument("--patients", type=int, default=60, help="Number of demo patients.")
        parser.add_argument(
            "--appointments",
            type=int,
            default=None,
            help="Generate this many extra appointments spread over past and future weeks (load data).",
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--allow-production", action="store_true", help="Run even with production (HTTPS) settings."
        )

    def handle(self, *args, **options):
        if settings.HTTPS and not options["allow_production"]:
            raise CommandError(
                "Refusing to load demo data with production settings (HTTPS=on); pass --allow-production."
            )
        self.seed = options["seed"]
        self.random = random.Random(self.seed)
        with transaction.atomic():
            users = self.seed_staff(options["password"])
            doctors = self.seed_doctors(options["password"])
            patients = self.seed_patients(options["patients"])
        with transaction.atomic():
            made = self.seed_week(doctors, patients, users["reception"])
        past = seed_past_visits(self.seed)
        records, plans = seed_clinical_history(self.seed)
        entries = seed_finances(self.seed)
        files = seed_documents(self.seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(doctors)} doctors, {len(patients)} patients, {made} new appointments this week,"
                f" {past} past visits,"
                f" {records} new medical records, {plans} new treatment plans, {entries} new finance entries,"
                f" {files} new documents and images."
            )
        )
        if options["appointments"]:
            made = self.seed_bulk(doctors, patients, users["reception"], options["appointments"])
            self.stdout.write(self.style.SUCCESS(f"Bulk: {made} appointments created."))

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
                        doctor=doctor, weekday=day, start_time=time.fromisoformat(a), end_time=time.fromisoformat(b)
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
            first, sex = FIRST_NAMES[i % len(FIRST_NAMES)]
            last = LAST_NAMES[(i * 7 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]
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
                if count <= 1000 or i % 10 == 0:
                    self._history(patient)
                existing[key] = patient
            patients.append(patient)
        return patients

    def _history(self, patient):
        rnd = self.random
        if rnd.random() < 0.35:
            substance, reaction, severity = rnd.choice(ALLERGIES)
            Allergy.objects.create(patient=patient, substance=substance, reaction=reaction, severity=severity)
        for name, code in rnd.sample(CONDITIONS, rnd.choice([0, 0, 1, 1, 2])):
            onset = patient.date_of_birth + timedelta(days=rnd.randrange(365 * 5, max(365 * 6, patient.age * 365)))
            Condition.objects.create(
                patient=patient, name=name, icd10_code=code, onset_date=min(onset, timezone.localdate())
            )

    # --- appointments ---------------------------------------------------------------------------
    def _slots(self, doctor, day):
        length = doctor.consultation_length
        for hours in doctor.working_hours.all():
            if hours.weekday != day.weekday():
                continue
            cursor = timezone.make_aware(datetime.combine(day, hours.start_time))
            end = timezone.make_aware(datetime.combine(day, hours.end_time))
            while cursor + length <= end:
                yield cursor, cursor + length
                cursor += length

    def _status(self, start):
        rnd, now = self.random, timezone.now()
        if start.date() < now.date() or start + timedelta(hours=2) < now:
            return rnd.choices([S.COMPLETED, S.NO_SHOW, S.CANCELLED], weights=[85, 8, 7])[0]
        if start < now:
            return rnd.choice([S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED])
        return rnd.choices([S.SCHEDULED, S.CONFIRMED, S.CANCELLED], weights=[60, 35, 5])[0]

    def _stamp(self, appointment):
        """Fill the lifecycle timestamps a status implies, so demo data looks lived-in."""
        a, s = appointment, appointment.status
        if s in (S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED):
            a.checked_in_at = a.start - timedelta(minutes=self.random.randrange(2, 15))
            a.checked_in_by = a.booked_by
        if s in (S.IN_PROGRESS, S.COMPLETED):
            a.started_at = a.start + timedelta(minutes=self.random.randrange(0, 6))
        if s == S.COMPLETED:
            a.completed_at = a.end
        if s == S.CANCELLED:
            a.cancelled_at, a.cancelled_by, a.cancellation_reason = (
                a.start - timedelta(days=1),
                a.booked_by,
                "Patient asked to cancel",
            )
        if s == S.NO_SHOW:
            a.no_show_at = a.start + timedelta(minutes=20)
        if s == S.CONFIRMED:
            a.confirmed_at = a.start - timedelta(days=1)
        return a

    def seed_week(self, doctors, patients, booked_by):
        """About two thirds of each doctor's slots, three days either side of today."""
        today = timezone.localdate()
        taken = set(
            Appointment.objects.filter(
                start__gte=timezone.make_aware(datetime.combine(today - timedelta(days=3), time.min)),
                start__lt=timezone.make_aware(datetime.combine(today + timedelta(days=4), time.min)),
            ).values_list("doctor_id", "start")
        )
        busy = {}  # patient id -> list of (start, end)
        new = []
        for offset in range(-3, 4):
            day = today + timedelta(days=offset)
            for doctor in doctors:
                for start, end in self._slots(doctor, day):
                    # One generator per slot: a second run makes the same choices and finds them taken.
                    rnd = self.random = random.Random(f"{self.seed}-{doctor.licence_number}-{start.isoformat()}")
                    if (doctor.pk, start) in taken or rnd.random() > 0.65:
                        continue
                    patient = rnd.choice(patients)
                    if any(s < end and start < e for s, e in busy.get(patient.pk, [])):
                        continue
                    busy.setdefault(patient.pk, []).append((start, end))
                    status = self._status(start)
                    new.append(
                        self._stamp(
                            Appointment(
                                patient=patient,
                                doctor=doctor,
                                start=start,
                                end=end,
                                status=status,
                                reason=rnd.choice(REASONS),
                                booked_by=booked_by,
                            )
                        )
                    )
        # Patients already booked elsewhere at that time (an earlier run) are skipped, not doubled.
        clashes = Appointment.objects.active().filter(patient__in={a.patient_id for a in new})
        existing = {}
        for pid, s, e in clashes.values_list("patient_id", "start", "end"):
            existing.setdefault(pid, []).append((s, e))
        new = [a for a in new if not any(s < a.end and a.start < e for s, e in existing.get(a.patient_id, []))]
        Appointment.objects.bulk_create(new, batch_size=500)
        return len(new)

    def seed_bulk(self, doctors, patients, booked_by, count):
        """Many appointments for load and query-count work: past weeks first, then future ones."""
        if len(patients) < len(doctors):
            raise CommandError("Bulk appointments need at least as many patients as doctors.")
        made, week = 0, 1
        today = timezone.localdate()
        while made < count and week < 520:
            batch = []
            # Whole weeks before and after the demo week (today ± 3 days), never overlapping it.
            past = range(-7 * week - 3, -7 * (week - 1) - 3)
            future = range(7 * (week - 1) + 4, 7 * week + 4)
            for offset in [*past, *future]:
                day = today + timedelta(days=offset)
                for d_index, doctor in enumerate(doctors):
                    for s_index, (start, end) in enumerate(self._slots(doctor, day)):
                        patient = patients[(s_index * len(doctors) + d_index + week) % len(patients)]
                        batch.append(
                            Appointment(
                                patient=patient,
                                doctor=doctor,
                                start=start,
                                end=end,
                                booked_by=booked_by,
                                status=self._status(start),
                                reason=self.random.choice(REASONS),
                            )
                        )
            batch = batch[: count - made]
            with transaction.atomic():
                # Weeks already generated by an earlier run are skipped as a whole.
                if not Appointment.objects.filter(start=batch[0].start, doctor=batch[0].doctor).exists():
                    Appointment.objects.bulk_create(batch, batch_size=1000)
                    made += len(batch)
            week += 1
        return made
