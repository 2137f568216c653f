"""The benchmark's large clinic, seeded on top of the demo (`manage.py seed_bench`).

On top of the demo, so the demo's staff, doctors, patients and this week's appointments are the same
rows with the same ids at both sizes and a page can be opened at both. Everything is bulk-inserted in
batches, with explicit ids (a patient's MRN and a receipt's number come from the id, as their save()
and services make them) and the derived fields computed by the models' own helpers. Timestamps are
set as if the clinic had lived the years (a record written at its visit, not today): `own_timestamps`
lets a bulk insert keep them. Appointments lie on each doctor's grid of working slots, on days the
doctor has nothing yet, each patient once a day: no overlap by construction (the database's exclusion
constraint or trigger would refuse one anyway).

Money dated in a month the demo closed can only be inserted with the closed-month guard lifted for
the insert (`closed_months_open`): the history a clinic had before closing those months.
"""

import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connections, transaction
from django.utils import timezone

from clinic.models import AuditEntry
from clinical.demo import VISITS
from clinical.models import MedicalRecord
from finance.demo import DISCOUNTS, INCOMES, MONTHLY, first_past_visit_day
from finance.guards import install_finance_guards
from finance.models import ClosedMonth, Expense, ExpenseCategory, OtherIncome, Payment, PaymentMethod, first_of_month
from patients.demo import STREETS
from patients.models import Allergy, Condition, Patient, luhn_digit
from patients.text import digits, fold
from scheduling.demo import REASONS, stamp, status_for, working_slots
from scheduling.models import Appointment
from staff import roles
from staff.demo import DEFAULT_PASSWORD
from staff.models import Doctor, Specialty, User, WorkingHours

S = Appointment.Status
MARKER_TABLE = "bench_seeded"  # one row once a size is seeded: later runs reuse the database
BATCH = 5000


@dataclass(frozen=True)
class Size:
    name: str
    patients: int  # in all, the demo's included
    appointments: int  # in all, the demo's included
    audit_entries: int  # added to the demo's trail
    doctors: int  # added to the demo's five
    past_days: int  # how far back the appointments go
    future_days: int  # how far ahead they are booked
    expenses_per_month: int
    incomes_per_month: int


SIZES = {
    "big": Size("big", 100_000, 200_000, 1_000_000, 10, 3 * 365, 120, 80, 60),
    # For the seeder's own tests: every kind of row, in seconds.
    "tiny": Size("tiny", 400, 900, 3_000, 2, 40, 14, 6, 4),
}

# (specialty, consultation minutes, fee, weekly hours {weekday: [(from, to)]})
_FULL_WEEK = {d: [("08:30", "12:30"), ("13:30", "17:30")] for d in range(5)}
_LATE_WEEK = {d: [("11:00", "15:00"), ("15:30", "19:30")] for d in range(5)}
BENCH_DOCTORS = [
    ("General practice", 15, "60.00", _FULL_WEEK),
    ("General practice", 15, "60.00", _LATE_WEEK),
    ("Paediatrics", 20, "70.00", _FULL_WEEK),
    ("Cardiology", 30, "120.00", {d: [("09:00", "13:00"), ("14:00", "17:00")] for d in (1, 2, 4)}),
    ("General practice", 10, "60.00", {**_FULL_WEEK, 5: [("09:00", "13:00")]}),
    ("Dermatology", 20, "90.00", _LATE_WEEK),
    ("Orthopaedics", 30, "110.00", {d: [("08:00", "12:00"), ("13:00", "16:00")] for d in (0, 2, 3)}),
    ("Psychiatry", 45, "130.00", {d: [("10:00", "13:00"), ("14:00", "18:00")] for d in range(4)}),
    ("Obstetrics and gynaecology", 30, "100.00", _FULL_WEEK),
    ("General practice", 20, "60.00", {**_LATE_WEEK, 6: [("09:00", "13:00")]}),
]
# The names of a London clinic: English most, and the languages its patients also speak.
NAME_LOCALES = ["en_GB"] * 6 + ["en_IE", "pl_PL", "de_DE", "es_ES", "fr_FR", "it_IT", "pt_PT", "cs_CZ", "da_DK"]
ALLERGENS = [
    ("Penicillin", "Rash", Allergy.Severity.MODERATE),
    ("Amoxicillin", "Hives", Allergy.Severity.MODERATE),
    ("Peanuts", "Anaphylaxis", Allergy.Severity.LIFE_THREATENING),
    ("Latex", "Contact dermatitis", Allergy.Severity.MILD),
    ("Codeine", "Nausea and vomiting", Allergy.Severity.MILD),
    ("Aspirin", "Bronchospasm", Allergy.Severity.SEVERE),
]
CONDITIONS = [
    ("Essential hypertension", "I10"),
    ("Type 2 diabetes mellitus", "E11.9"),
    ("Asthma", "J45.9"),
    ("Hypothyroidism", "E03.9"),
    ("Depression", "F32.9"),
    ("Osteoarthritis of knee", "M17.9"),
    ("Atrial fibrillation", "I48.9"),
]
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


class BenchSeedError(Exception):
    pass


# --- the marker -----------------------------------------------------------------------------


def seeded(using="default"):
    """{size name: (seeded on, seconds)} of what was seeded into this database ({} for none)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if MARKER_TABLE not in connection.introspection.table_names(cursor):
            return {}
        cursor.execute(f"SELECT size, seeded_on, seconds FROM {MARKER_TABLE}")  # noqa: S608 (constant name)
        return {size: (str(on), seconds) for size, on, seconds in cursor.fetchall()}


def mark_seeded(size, seconds, using="default"):
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (size varchar(20), seeded_on date, seconds real)")
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (size, seeded_on, seconds) VALUES (%s, %s, %s)",  # noqa: S608
            [size, timezone.localdate().isoformat(), seconds],
        )


# --- helpers --------------------------------------------------------------------------------


@contextmanager
def own_timestamps(model, *names):
    """Let a bulk insert keep the timestamps it was given in auto_now / auto_now_add fields (a record
    written years ago, not at seeding time). Only for this process, only while seeding."""
    fields = [model._meta.get_field(name) for name in names]
    saved = [(field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, (now, now_add) in zip(fields, saved, strict=True):
            field.auto_now, field.auto_now_add = now, now_add


@contextmanager
def closed_months_open(using="default"):
    """The closed-month guard lifted for inserts in this transaction (the history from before those
    months were closed); it is back at the end, whatever happens (DDL is transactional on both)."""
    connection = connections[using]
    tables = ["finance_expense", "finance_otherincome", "finance_payment"]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_closed_guard")
        else:
            for table in tables:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_closed_insert")
        try:
            yield
        finally:
            if connection.vendor == "postgresql":
                # The inserts' deferred foreign-key checks first: a table with pending ones cannot be altered.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in tables:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_closed_guard")
            else:
                install_finance_guards(connection)


def _next_id(model, using):
    last = model.objects.using(using).order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _insert(model, rows, using, progress=None, label=None):
    """Bulk insert in batches, a transaction each."""
    started = time.monotonic()
    for start in range(0, len(rows), BATCH):
        with transaction.atomic(using=using):
            model.objects.using(using).bulk_create(rows[start : start + BATCH])
    if progress and label:
        progress(f"  {label}: {len(rows):,} in {time.monotonic() - started:.1f} s")
    return len(rows)


def _aware(day, at):
    return timezone.make_aware(datetime.combine(day, at))


def _money(rnd, low, high):
    return Decimal(rnd.randint(int(low * 100), int(high * 100))) / 100


# --- the seeder -----------------------------------------------------------------------------


class Seeder:
    def __init__(self, size, *, seed=2026, using="default", progress=None):
        self.size, self.using, self.seed = size, using, seed
        self.rnd = random.Random(f"{seed}-bench-{size.name}")
        self.progress = progress or (lambda text: None)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.first_day = self.today - timedelta(days=size.past_days)
        # The demo's own year of history begins here; its months are closed (but the last two).
        self.demo_first_day = first_past_visit_day(self.today)
        self.reception = User.objects.using(using).get(username="reception")
        self.manager = User.objects.using(using).get(username="manager")
        self.visits = []  # the completed visits made here, for payments, records and the trail

    def run(self):
        if self.size.name in seeded(self.using):
            raise BenchSeedError(f"This database already holds the {self.size.name} set.")
        if User.objects.using(self.using).filter(username__startswith="bench.").exists():
            raise BenchSeedError("A seeding of this database stopped half-way: start again from a copy of the demo.")
        started = time.monotonic()
        counts = {}
        for step in (
            self.doctors,
            self.patients,
            self.appointments,
            self.payments,
            self.records,
            self.money,
            self.audit_trail,
        ):
            step_started = time.monotonic()
            counts[step.__name__] = step()
            self.progress(f"{step.__name__}: {counts[step.__name__]:,} ({time.monotonic() - step_started:.0f} s)")
        self.finish()
        seconds = time.monotonic() - started
        mark_seeded(self.size.name, seconds, self.using)
        counts["seconds"] = round(seconds, 1)
        return counts

    # --- staff ----------------------------------------------------------------------------------
    def doctors(self):
        group = Group.objects.using(self.using).get(name=roles.DOCTOR)
        password = User(username="x")
        password.set_password(DEFAULT_PASSWORD)  # one hash for all: the same password, Argon2 is slow
        made = 0
        for number, (specialty, minutes, fee, hours) in enumerate(BENCH_DOCTORS[: self.size.doctors], start=1):
            rnd = random.Random(f"{self.seed}-bench-doctor-{number}")
            first, last = (
                rnd.choice(["Sarah", "James", "Aisha", "David", "Hannah", "Ravi", "Nora", "Ben"]),
                rnd.choice(["Bennett", "Chowdhury", "Fischer", "Moreau", "Lindqvist", "Adeyemi", "Rahman", "Costa"]),
            )
            user = User.objects.using(self.using).create(
                username=f"bench.dr{number:02d}",
                first_name=first,
                last_name=f"{last}-{number}",
                email=f"bench.dr{number:02d}@clinic.example",
                password=password.password,
            )
            user.groups.add(group)
            doctor = Doctor.objects.using(self.using).create(
                user=user,
                specialty=Specialty.objects.using(self.using).get_or_create(name=specialty)[0],
                licence_number=f"GMC-79{number:05d}",
                consultation_minutes=minutes,
                consultation_fee=Decimal(fee),
            )
            WorkingHours.objects.using(self.using).bulk_create(
                WorkingHours(
                    doctor=doctor,
                    weekday=day,
                    start_time=clock.fromisoformat(a),
                    end_time=clock.fromisoformat(b),
                )
                for day, intervals in hours.items()
                for a, b in intervals
            )
            made += 1
        return made

    # --- patients -------------------------------------------------------------------------------
    def _name_pools(self):
        from faker import Faker  # a development dependency (factory-boy's): the benchmark runs from a dev setup

        fake = Faker(NAME_LOCALES)
        fake.seed_instance(self.seed)
        female = sorted({fake.first_name_female() for _ in range(3000)})
        male = sorted({fake.first_name_male() for _ in range(3000)})
        last = sorted({fake.last_name() for _ in range(12000)})
        return female, male, last

    def patients(self):
        wanted = self.size.patients - Patient.objects.using(self.using).count()
        if wanted <= 0:
            return 0
        female, male, last_names = self._name_pools()
        rnd, first_id = self.rnd, _next_id(Patient, self.using)
        registered_from = self.first_day - timedelta(days=365)
        span = (self.today - registered_from).days
        rows, allergies, conditions = [], [], []
        for pk in range(first_id, first_id + wanted):
            sex = rnd.choices(["female", "male", "other", "unknown"], [50, 48, 1, 1])[0]
            first = rnd.choice(male if sex == "male" else female)
            last = rnd.choice(last_names)
            born = date(1930, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 95))
            phone = f"07{rnd.randrange(100, 1000)} {rnd.randrange(0, 1000000):06d}"
            registered = timezone.make_aware(
                datetime.combine(registered_from + timedelta(days=rnd.randrange(span)), clock(9))
            )
            registered += timedelta(minutes=rnd.randrange(0, 600))
            patient = Patient(
                id=pk,
                first_name=first,
                last_name=last,
                date_of_birth=min(born, self.today),
                sex=sex,
                phone=phone,
                email=f"{fold(first).replace(' ', '')}.{fold(last).replace(' ', '')}{pk}@mail.example"[:250],
                address=f"{rnd.randrange(1, 400)} {rnd.choice(STREETS)}\nLondon",
                created_at=registered,
                updated_at=registered,
                allergies_checked_at=registered if rnd.random() < 0.8 else None,
            )
            # What Patient.save() derives: the folded name, the phone's digits, the MRN (id and its
            # check digit), then the search text from all three.
            patient.name_key = fold(f"{first} {last}")
            patient.phone_digits = digits(phone)
            number = f"{pk:06d}"
            patient.mrn = number + luhn_digit(number)
            patient._refresh_search_text()
            rows.append(patient)
            if rnd.random() < 0.15:
                substance, reaction, severity = rnd.choice(ALLERGENS)
                allergies.append(Allergy(patient_id=pk, substance=substance, reaction=reaction, severity=severity))
            for name, code in rnd.sample(CONDITIONS, rnd.choice([0, 0, 0, 1, 1, 2])):
                conditions.append(Condition(patient_id=pk, name=name, icd10_code=code))
        with own_timestamps(Patient, "created_at", "updated_at"):
            _insert(Patient, rows, self.using, self.progress, "patients")
        _insert(Allergy, allergies, self.using, self.progress, "allergies")
        _insert(Condition, conditions, self.using, self.progress, "conditions")
        return len(rows)

    # --- appointments ---------------------------------------------------------------------------
    def _grid(self):
        """{day: [(doctor, start, end)]}: every working slot of every doctor on days the doctor has nothing yet."""
        doctors = list(Doctor.objects.using(self.using).prefetch_related("working_hours").order_by("pk"))
        busy = set()
        for doctor_id, start in Appointment.objects.using(self.using).values_list("doctor_id", "start"):
            busy.add((doctor_id, timezone.localtime(start).date()))
        grid = {}
        day = self.first_day
        while day <= self.today + timedelta(days=self.size.future_days):
            grid[day] = [
                (doctor, start, end)
                for doctor in doctors
                if (doctor.pk, day) not in busy
                for start, end in working_slots(doctor, day)
            ]
            day += timedelta(days=1)
        return grid

    def _booked_share(self, day):
        """How full a day ahead is: nearly full this week, thinning out over the months."""
        ahead = (day - self.today).days
        return 0.05 + 0.8 * 0.5 ** (ahead / 21)

    def appointments(self):
        wanted = self.size.appointments - Appointment.objects.using(self.using).count()
        if wanted <= 0:
            return 0
        rnd, grid = self.rnd, self._grid()
        coming = [(d, slots) for d, slots in grid.items() if d >= self.today]
        past = [(d, slots) for d, slots in grid.items() if d < self.today]
        expected_coming = sum(self._booked_share(d) * len(slots) for d, slots in coming)
        past_slots = sum(len(slots) for _, slots in past)
        # A little over the estimate, then the excess trimmed: exactly the number asked for.
        share_past = min(0.95, max(0.0, 1.02 * (wanted - expected_coming) / max(past_slots, 1)))
        # The demo's patients keep their own history; the new ones fill the grid, nobody twice a day.
        pool = list(
            Patient.objects.using(self.using).filter(appointments__isnull=True).values_list("pk", flat=True).distinct()
        )
        chosen = []
        for day, slots in grid.items():
            share = share_past if day < self.today else self._booked_share(day)
            taken = [slot for slot in slots if rnd.random() < share]
            for (doctor, start, end), patient_id in zip(taken, rnd.sample(pool, len(taken)), strict=True):
                chosen.append((doctor, start, end, patient_id))
        if len(chosen) > wanted:  # trim the past, where the share was an estimate
            past_chosen = [i for i, c in enumerate(chosen) if c[1].date() < self.today]
            drop = set(rnd.sample(past_chosen, min(len(chosen) - wanted, len(past_chosen))))
            chosen = [c for i, c in enumerate(chosen) if i not in drop]
        first_id = _next_id(Appointment, self.using)
        rows = []
        for pk, (doctor, start, end, patient_id) in enumerate(chosen, start=first_id):
            booked_at = min(start - timedelta(days=rnd.randrange(0, 40), minutes=rnd.randrange(0, 600)), self.now)
            appointment = Appointment(
                id=pk,
                patient_id=patient_id,
                doctor=doctor,
                start=start,
                end=end,
                reason=rnd.choice(REASONS),
                status=status_for(start, end, rnd, self.now),
                booked_by=self.reception,
                booked_at=booked_at,
            )
            stamp(appointment, rnd, self.now)
            appointment.updated_at = max(
                t for t in (booked_at, appointment.completed_at, appointment.cancelled_at, appointment.no_show_at) if t
            )
            appointment.updated_at = min(appointment.updated_at, self.now)
            rows.append(appointment)
        # Latest first: SQLite's overlap trigger reads the doctor's (and patient's) appointments that
        # start before the new one; inserted in time order each insert would read all before it.
        rows.reverse()
        with own_timestamps(Appointment, "booked_at", "updated_at"):
            _insert(Appointment, rows, self.using, self.progress, "appointments")
        self.visits = [a for a in reversed(rows) if a.status == S.COMPLETED]
        return len(rows)

    # --- money ----------------------------------------------------------------------------------
    def payments(self):
        fees = dict(Doctor.objects.using(self.using).values_list("pk", "consultation_fee"))
        rnd, rows = self.rnd, []
        pk = _next_id(Payment, self.using)
        recent = self.today - timedelta(days=30)
        for visit in self.visits:
            day = timezone.localtime(visit.start).date()
            # Most visits are paid at the desk; a few of the last month's are still due.
            if rnd.random() < (0.12 if day >= recent else 0.004):
                continue
            fee = fees[visit.doctor_id] or Decimal("75.00")
            amount, reason = fee, ""
            if rnd.random() < 0.06:
                reason, share = rnd.choice(DISCOUNTS)
                amount = (fee * share).quantize(Decimal("0.01"))
            rows.append(
                Payment(
                    id=pk,
                    patient_id=visit.patient_id,
                    appointment_id=visit.pk,
                    fee=fee,
                    amount=amount,
                    fee_override_reason=reason,
                    date=day,
                    method=rnd.choices([PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.INSURANCE], [70, 20, 10])[
                        0
                    ],
                    recorded_by=self.reception,
                    recorded_at=min(visit.end + timedelta(minutes=rnd.randrange(1, 20)), self.now),
                    receipt_number=f"{day:%Y}-{pk:06d}",  # as finance.services numbers receipts
                )
            )
            pk += 1
        with closed_months_open(self.using), own_timestamps(Payment, "recorded_at"):
            return _insert(Payment, rows, self.using, self.progress, "payments")

    def money(self):
        """Expenses and other incomes month by month over the years, then the old months closed."""
        rnd = self.rnd
        categories = {c.name: c for c in ExpenseCategory.objects.using(self.using)}
        expenses, incomes = [], []
        month = first_of_month(self.first_day)
        while month <= self.today:
            days = [month + timedelta(days=n) for n in range(31) if (month + timedelta(days=n)).month == month.month]
            days = [d for d in days if d <= self.today]
            for _ in range(self.size.expenses_per_month):
                name, reason, paid_to, low, high, method, _times = rnd.choice(MONTHLY)
                expenses.append(
                    Expense(
                        date=rnd.choice(days),
                        amount=_money(rnd, low, high),
                        category=categories[name],
                        reason=f"{reason}, {month:%B %Y}",
                        paid_to=paid_to,
                        method=method,
                        recorded_by=self.manager,
                    )
                )
            for _ in range(self.size.incomes_per_month):
                source, description, payer, low, high, _times = rnd.choice(INCOMES)
                incomes.append(
                    OtherIncome(
                        date=rnd.choice(days),
                        amount=_money(rnd, low, high),
                        source=source,
                        description=description,
                        payer=payer,
                        recorded_by=self.manager,
                    )
                )
            month = first_of_month(month + timedelta(days=32))
        for rows in (expenses, incomes):
            for row in rows:
                row.recorded_at = _aware(row.date, clock(17, rnd.randrange(60)))
        with closed_months_open(self.using), own_timestamps(Expense, "recorded_at"):
            made = _insert(Expense, expenses, self.using, self.progress, "expenses")
        with closed_months_open(self.using), own_timestamps(OtherIncome, "recorded_at"):
            made += _insert(OtherIncome, incomes, self.using, self.progress, "other incomes")
        # Months before the demo's year are closed, as a manager would have done month by month.
        closed = set(ClosedMonth.objects.using(self.using).values_list("month", flat=True))
        months, month = [], first_of_month(self.first_day)
        while month < first_of_month(self.demo_first_day):
            if month not in closed:
                months.append(ClosedMonth(month=month, closed_by=self.manager, closed_at=_aware(month, clock(9))))
            month = first_of_month(month + timedelta(days=32))
        ClosedMonth.objects.using(self.using).bulk_create(months)
        return made + len(months)

    # --- clinical -------------------------------------------------------------------------------
    def records(self):
        """A signed record for about half the visits; drafts for some of the last days' (unsigned notes)."""
        rnd, rows = self.rnd, []
        authors = dict(Doctor.objects.using(self.using).values_list("pk", "user_id"))
        recent = self.today - timedelta(days=3)
        for visit in self.visits:
            day = timezone.localtime(visit.start).date()
            draft = day >= recent and rnd.random() < 0.3
            if not draft and rnd.random() > 0.5:
                continue
            complaint, findings, diagnosis, code, _medications = rnd.choice(VISITS)
            author = authors[visit.doctor_id]
            written = visit.start + timedelta(minutes=3)
            signed = min(visit.end + timedelta(minutes=rnd.randrange(2, 30)), self.now)
            rows.append(
                MedicalRecord(
                    patient_id=visit.patient_id,
                    appointment_id=visit.pk,
                    author_id=author,
                    status=MedicalRecord.Status.DRAFT if draft else MedicalRecord.Status.SIGNED,
                    signed_at=None if draft else signed,
                    signed_by_id=None if draft else author,
                    created_at=written,
                    updated_at=written if draft else signed,
                    chief_complaint=complaint,
                    examination=findings,
                    diagnosis=diagnosis,
                    icd10_codes=code,
                    plan="Review if not improving; safety-netting advice given.",
                    bp_systolic=rnd.randrange(110, 160),
                    bp_diastolic=rnd.randrange(65, 95),
                    pulse=rnd.randrange(58, 96),
                )
            )
        with own_timestamps(MedicalRecord, "created_at", "updated_at"):
            return _insert(MedicalRecord, rows, self.using, self.progress, "medical records")

    # --- the audit trail ------------------------------------------------------------------------
    def audit_trail(self):
        from clinic import audit

        if not hasattr(audit, "bulk_record") or not hasattr(audit, "seal"):
            raise BenchSeedError("clinic.audit.bulk_record is not there yet: the audit trail cannot be bulk-loaded.")
        rnd, count = self.rnd, self.size.audit_entries
        staff = list(User.objects.using(self.using).values_list("pk", "username", "first_name", "last_name"))
        visits = self.visits
        patients = [v.patient_id for v in visits] or list(
            Patient.objects.using(self.using).values_list("pk", flat=True)[:1000]
        )
        begin = _aware(self.first_day, clock(8))
        step = (self.now - begin) / max(count, 1)
        kinds = [
            (AuditEntry.Action.VIEW, "patients.patient", 45),
            (AuditEntry.Action.VIEW, "scheduling.appointment", 12),
            (AuditEntry.Action.SEARCH, "", 10),
            (AuditEntry.Action.CREATE, "scheduling.appointment", 10),
            (AuditEntry.Action.STATUS, "scheduling.appointment", 13),
            (AuditEntry.Action.SIGN, "clinical.medicalrecord", 5),
            (AuditEntry.Action.CREATE, "finance.payment", 5),
        ]
        weights = [w for _, _, w in kinds]
        made = 0
        for start in range(0, count, 50_000):
            entries = []
            for n in range(start, min(count, start + 50_000)):
                action, object_type, _ = rnd.choices(kinds, weights)[0]
                user_id, username, first, last = rnd.choice(staff)
                patient_id = rnd.choice(patients)
                summary = ""
                if action == AuditEntry.Action.SEARCH:
                    summary, patient_id = f'patients: "{rnd.choice(["smith", "07700", "jo", "khan"])}", 25 found', None
                elif action == AuditEntry.Action.STATUS:
                    summary = "status: checked_in → in_progress"
                if object_type == "patients.patient":
                    object_id = str(patient_id)
                else:
                    object_id = str(rnd.randrange(1, 200_000)) if object_type else ""
                entries.append(
                    {
                        "at": begin + step * n + timedelta(seconds=rnd.random()),
                        "user_id": user_id,
                        "username": username,
                        "name": f"{first} {last}".strip(),
                        "action": action,
                        "object_type": object_type,
                        "object_id": object_id,
                        "patient_id": patient_id,
                        "summary": summary,
                        "ip": f"10.0.{rnd.randrange(0, 4)}.{rnd.randrange(2, 250)}",
                        "user_agent": USER_AGENT,
                        "request_id": f"{rnd.getrandbits(64):016x}",
                    }
                )
            made += audit.bulk_record(entries, using=self.using)
            self.progress(f"  audit entries: {made:,} of {count:,}")
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            # Statistics for the million new rows: without them the sealer's "next unsealed entries"
            # query reads the whole table for each batch of 2,000 (a quarter of an hour instead of minutes).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {AuditEntry._meta.db_table}")
        started = time.monotonic()
        audit.seal(using=self.using)
        self.progress(f"  sealed in {time.monotonic() - started:.0f} s")
        return made

    # --- the end --------------------------------------------------------------------------------
    def finish(self):
        """Sequences past the explicit ids; on PostgreSQL fresh statistics and visibility map, as
        autovacuum would have them on a clinic that grew to this size (SQLite has no such thing
        unless the app runs ANALYZE, so it is left as the app leaves it)."""
        connection = connections[self.using]
        models = [Patient, Appointment, Payment, MedicalRecord, Expense, OtherIncome, Allergy, Condition]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
        if connection.vendor == "postgresql" and not connection.in_atomic_block:  # (a test's transaction)
            started = time.monotonic()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            self.progress(f"VACUUM ANALYZE ({time.monotonic() - started:.0f} s)")


def seed_bench(size, *, seed=2026, using="default", progress=None):
    """Seed `size` (a Size or its name) on top of the demo in database `using`; returns the counts."""
    if isinstance(size, str):
        size = SIZES[size]
    return Seeder(size, seed=seed, using=using, progress=progress).run()
