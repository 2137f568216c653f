"""`seed_demo` loads completely on any day of the year, is all or nothing, and its bulk load never
double-books anyone."""

import io
from datetime import date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from clinic import audit
from clinic.models import AuditEntry
from clinic.uploads import check_upload
from clinical.models import MedicalRecord
from documents.models import ClinicalDocument, DocumentVersion, PatientImage
from finance.demo import _months
from finance.models import ClosedMonth, Expense, OtherIncome, Payment, first_of_month
from patients.models import Patient, luhn_digit
from patients.tests.factories import PatientFactory
from scheduling.demo import seed_bulk_appointments
from scheduling.models import Appointment
from staff.tests.factories import DoctorFactory, UserFactory

S = Appointment.Status
# A quick demo: 20 patients, a past visit every fourth weekday (the full demo has about 12 a weekday).
QUICK = {"patients": 20, "visits_per_day": 0.25}


def seed(**options):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def overlaps(column):
    """Pairs of active appointments of one doctor (or patient) that overlap."""
    rows = sorted(Appointment.objects.active().values_list(column, "start", "end", "pk"))
    return [(a[3], b[3]) for a, b in zip(rows, rows[1:], strict=False) if a[0] == b[0] and b[1] < a[2]]


def assert_demo_complete_and_consistent(today, now):
    week = Appointment.objects.filter(
        start__date__gte=today - timedelta(days=3), start__date__lte=today + timedelta(days=3)
    )
    assert week.filter(start__date=today).exists()  # the weekend clinic: every day has a schedule
    assert Appointment.objects.filter(start__date__lt=today - timedelta(days=8), status=S.COMPLETED).count() > 30
    assert overlaps("doctor_id") == [] and overlaps("patient_id") == []
    # Both allergy states a clinician meets: asked ("No known allergies" when none) and not yet asked.
    asked = Patient.objects.filter(allergies_checked_at__isnull=False)
    assert asked.filter(allergies__isnull=True).exists() and Patient.objects.filter(allergies_checked_at=None).exists()
    for moment in ("confirmed_at", "checked_in_at", "started_at", "completed_at", "cancelled_at", "no_show_at"):
        assert not Appointment.objects.filter(**{f"{moment}__gt": now}).exists(), f"{moment} after now"

    # Every visit under way or done has its record: signed when done, a draft while under way.
    visits = Appointment.objects.filter(status__in=[S.COMPLETED, S.IN_PROGRESS])
    assert MedicalRecord.objects.filter(appointment__in=visits).count() == visits.count()
    for record in MedicalRecord.objects.select_related("appointment"):
        if record.status == MedicalRecord.Status.SIGNED:
            assert record.appointment.status == S.COMPLETED
            assert record.signed_by_id == record.author_id and record.signed_at <= now
        else:
            assert record.appointment.status == S.IN_PROGRESS and record.signed_at is None

    # Finances: a year of entries, none after today; closed up to the month before last, in order.
    months = _months(today)
    assert sorted(ClosedMonth.objects.values_list("month", flat=True)) == months[:-2]
    for model in (Expense, OtherIncome, Payment):
        assert model.objects.exists() and not model.objects.filter(date__gt=today).exists()
    assert set(Expense.objects.filter(category__name="Rent").values_list("date", flat=True)) == set(months)
    paid_months = {first_of_month(day) for day in Payment.objects.values_list("date", flat=True)}
    assert len(paid_months) >= 10 and first_of_month(today - timedelta(days=3)) in paid_months

    # Documents and photos, every file stored and passing the upload checks.
    assert ClinicalDocument.objects.count() >= 4 and PatientImage.objects.count() == 6
    for version in DocumentVersion.objects.all():
        with version.file.open("rb") as stored:
            data = stored.read()
        check_upload(SimpleUploadedFile("check.pdf", data))
    for image in PatientImage.objects.all():
        assert image.file.storage.exists(image.file.name) and image.thumbnail.storage.exists(image.thumbnail.name)

    assert audit.verify()[2] == []


CLINIC = ZoneInfo(settings.TIME_ZONE)
# (why this moment, clinic-local wall time)
DATES = [
    ("the day the demo first crashed (a Saturday)", datetime(2026, 12, 5, 9, 5)),
    ("29 February in a leap year", datetime(2028, 2, 29, 9, 5)),
    ("31 December, late", datetime(2027, 12, 31, 23, 30)),
    ("1 January, just after midnight (a Thursday)", datetime(2026, 1, 1, 0, 10)),
    ("a Monday morning before opening", datetime(2027, 5, 10, 7, 0)),
    ("European clocks go forward (last Sunday of March)", datetime(2027, 3, 28, 3, 30)),
    ("European clocks go back (last Sunday of October, a 31-day month's end)", datetime(2027, 10, 31, 1, 30)),
    ("US clocks go forward (second Sunday of March, afternoon)", datetime(2027, 3, 14, 15, 0)),
    ("US clocks go back (first Sunday of November)", datetime(2027, 11, 7, 12, 0)),
    ("end of a 30-day month, mid-consultation", datetime(2027, 6, 30, 11, 40)),
    ("end of February in a common year", datetime(2027, 2, 28, 18, 0)),
    ("first of March after it", datetime(2027, 3, 1, 8, 31)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("why", "moment"), DATES, ids=[why for why, _ in DATES])
def test_the_demo_loads_completely_on_any_day(why, moment):
    moment = moment.replace(tzinfo=CLINIC)
    with time_machine.travel(moment, tick=False):
        seed(**QUICK)
        assert_demo_complete_and_consistent(timezone.localdate(), timezone.now())


@pytest.mark.django_db
def test_a_failed_demo_leaves_nothing_the_next_run_completes_and_a_third_adds_nothing(media):
    with time_machine.travel(datetime(2027, 4, 6, 9, 5, tzinfo=CLINIC), tick=False):
        # Fail late: after the lab PDFs are stored, while the wound photos are being added.
        with (
            mock.patch("documents.demo._wound_series", side_effect=OSError("No space left on device")),
            pytest.raises(OSError),
        ):
            seed(**QUICK)
        assert not Patient.objects.exists() and not Appointment.objects.exists()
        assert not AuditEntry.objects.exists() and not Expense.objects.exists()
        assert [path for path in media.rglob("*") if path.is_file()] == []

        assert "Demo data ready" in seed(**QUICK)
        assert_demo_complete_and_consistent(timezone.localdate(), timezone.now())

        counts = [m.objects.count() for m in (Patient, Appointment, MedicalRecord, Expense, ClinicalDocument)]
        files = sorted(path for path in media.rglob("*") if path.is_file())
        assert "0 new appointments this week, 0 past visits, 0 new medical records" in seed(**QUICK)
        assert [m.objects.count() for m in (Patient, Appointment, MedicalRecord, Expense, ClinicalDocument)] == counts
        assert sorted(path for path in media.rglob("*") if path.is_file()) == files


@pytest.mark.django_db
def test_the_bulk_load_books_nobody_twice_and_gives_every_patient_an_mrn():
    with time_machine.travel(datetime(2026, 12, 5, 9, 5, tzinfo=CLINIC), tick=False):
        out = seed(patients=300, appointments=600, visits_per_day=0.25, batch_size=250)
        today = timezone.localdate()
        demo = Appointment.objects.filter(start__date__gte=_months(today)[0], start__date__lte=today + timedelta(3))
        # The bulk load keeps off the demo's days: the future after the demo week, the past before its year.
        # The demo's weekly series starts after the demo week too; the bulk load keeps off its days as well.
        bulk = Appointment.objects.filter(series__isnull=True)
        future = bulk.filter(start__date__gt=today + timedelta(days=3)).count()
        past = bulk.filter(start__date__lt=_months(today)[0]).count()
        series = Appointment.objects.filter(series__isnull=False).count()

        assert Patient.objects.count() == 300 and "Patients: 300 of 300" in out
        assert future + past == 600 and future >= 250 and past > 0 and series > 0
        assert Appointment.objects.count() == demo.count() + 600 + series
        assert "Appointments: 600 of 600" in out and "Bulk: 600 appointments created." in out
        assert overlaps("doctor_id") == [] and overlaps("patient_id") == []
        for patient in Patient.objects.all():
            number = f"{patient.pk:06d}"
            assert patient.mrn == number + luhn_digit(number)
            assert patient.mrn in patient.search_text and patient.name_key in patient.search_text
        assert Patient.objects.search(Patient.objects.order_by("-pk").first().mrn).count() == 1
        # One audit entry a batch (each batch prints its progress line), and the chain still verifies.
        batches = out.count("Patients: ") + out.count("Appointments: ")
        assert batches >= 3 and AuditEntry.objects.filter(summary__startswith="Demo load:").count() == batches
        assert audit.verify()[2] == []

        # A second load carries on, on days of its own.
        assert "Bulk: 600 appointments created." in seed(patients=300, appointments=600, visits_per_day=0.25)
        assert Appointment.objects.count() == demo.count() + 1200 + series
        assert overlaps("doctor_id") == [] and overlaps("patient_id") == []


@pytest.mark.django_db
def test_the_bulk_load_refuses_too_few_patients_to_fill_a_day():
    DoctorFactory(consultation_minutes=30)  # 08:00-18:00 every day: 20 slots
    PatientFactory.create_batch(19)
    with pytest.raises(CommandError, match="at least 20 patients"):
        seed_bulk_appointments(10, booked_by=UserFactory(), future_from=date(2027, 1, 4), past_before=date(2026, 1, 1))
    assert not Appointment.objects.exists()


def test_the_demo_dates_include_a_leap_day_and_both_daylight_saving_changes():
    days = {moment.date() for _, moment in DATES}
    assert {date(2028, 2, 29), date(2027, 3, 28), date(2027, 10, 31), date(2026, 12, 5)} <= days
    assert {day.weekday() for day in days} == set(range(7))
