import re
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models, transaction
from django.db.models.functions import Replace
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Audited

from . import search
from .text import digits, fold, fold_joined

ICD10_VALIDATOR = RegexValidator(
    r"^[A-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$",
    "Enter an ICD-10 code such as J45 or E11.9.",
)
PHONE_VALIDATOR = RegexValidator(
    r"^\+?[0-9 ()\-.]{6,25}$", "Enter a phone number using digits, spaces and + ( ) - only."
)

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def parse_date(text: str):
    from datetime import datetime

    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def luhn_digit(number: str) -> str:
    """Check digit, so a mistyped MRN is caught rather than finding someone else."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


class PatientQuerySet(models.QuerySet):
    def current(self):
        return self.filter(is_archived=False)

    def search(self, query: str):
        """Name, MRN, phone or date of birth; partial, case- and accent-insensitive; in name order.

        Every term must match. Each kind of query has an index behind it on both databases (see
        patients/search.py for what a term of 1-2 letters and a whole MRN mean, and why).
        """
        query = (query or "").strip()
        if not query:
            return self.none()
        vendor = connections[self.db].vendor
        by_name = search.NAME_ORDER
        born = parse_date(query)
        if born:
            return self.filter(date_of_birth=born).order_by(*by_name)
        number = digits(query)
        if len(number) >= 5 and len(number) >= len(re.sub(r"\s", "", query)) - 3:
            # Looks like a phone number or an MRN: match the digits in one run.
            mrn = search.mrn_from(number, luhn_digit)
            found = self.filter(search.number_match(vendor, number, whole_mrn=bool(mrn)))
            if mrn:
                # The patient with this MRN first, then anyone whose phone holds the same digits.
                return found.order_by(models.Case(models.When(mrn=mrn, then=0), default=1), *by_name)
            return found.order_by(*by_name)
        terms = fold_joined(query).split()
        if not terms or search.too_short(query):
            return self.none()
        return self.filter(search.words_match(vendor, terms)).order_by(*by_name)

    def likely_duplicates(self, *, first_name, last_name, date_of_birth, phone):
        """Patients born that day with the same name, or with the same phone. A name is the same whatever its
        case, accents, spaces, hyphens and apostrophes ("Obrien" is O'Brien, "Mary-Ann" is "Maryann"), and in
        either order ("Nguyen Hoa" for "Hoa Nguyen": a family name written first, or swapped at the desk)."""
        given, family = fold(first_name).replace(" ", ""), fold(last_name).replace(" ", "")
        squashed = Replace("name_key", models.Value(" "), models.Value(""))
        q = models.Q(date_of_birth=date_of_birth, name_squashed__in={given + family, family + given})
        if digits(phone):
            q |= models.Q(phone_digits=digits(phone))
        return self.alias(name_squashed=squashed).filter(q)


class Patient(Audited, models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Not stated"

    mrn = models.CharField("MRN", max_length=12, unique=True, null=True, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(db_index=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=30, blank=True, validators=[PHONE_VALIDATOR])
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_relationship = models.CharField(max_length=50, blank=True)
    emergency_contact_phone = models.CharField(max_length=30, blank=True, validators=[PHONE_VALIDATOR])
    notes = models.TextField(blank=True, help_text="Administrative notes (not clinical).")
    # Appointment reminders (the reminders app): on unless the patient asks for none on that channel.
    reminders_by_email = models.BooleanField(
        "Send appointment reminders by e-mail",
        default=True,
        help_text="Untick if the patient does not want reminders by e-mail.",
    )
    reminders_by_sms = models.BooleanField(
        "Send appointment reminders by text message",
        default=True,
        help_text="Untick if the patient does not want reminders by text message (SMS).",
    )

    # Asked about allergies and found the list complete: with no active allergy this is "No known
    # allergies"; never asked stays "Allergies not yet recorded" (the two must not look alike).
    allergies_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    allergies_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+"
    )

    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Derived on save for search and duplicate detection.
    search_text = models.TextField(editable=False, default="")
    name_key = models.CharField(max_length=201, editable=False, default="")
    phone_digits = models.CharField(max_length=30, editable=False, default="", db_index=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        permissions = [("archive_patient", "Can archive and restore patients")]
        indexes = [
            models.Index(fields=["name_key", "date_of_birth"], name="patient_duplicate_key"),
            models.Index(fields=["last_name", "first_name"], name="patient_name_order"),
            # The archived, newest first (the list before a search, archived records only), read in
            # index order; current patients, nearly all rows, are read newest first from the primary key.
            models.Index(fields=["-id"], condition=models.Q(is_archived=True), name="patient_archived_newest"),
        ]

    audit_derived_fields = frozenset({"search_text", "phone_digits"})

    def audit_patient_id(self):
        return self.pk

    def __str__(self):
        return f"{self.last_name.upper()}, {self.first_name}" + (f" ({self.mrn})" if self.mrn else "")

    def get_absolute_url(self):
        return reverse("patients:detail", args=[self.pk])

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def age(self):
        return self.age_on(timezone.localdate())

    def clean(self):
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": "The date of birth cannot be in the future."})
        if self.date_of_birth and self.date_of_birth.year < 1900:
            raise ValidationError({"date_of_birth": "Enter a date of birth after 1900."})

    def save(self, *args, **kwargs):
        self.name_key = fold(f"{self.first_name} {self.last_name}")
        self.phone_digits = digits(self.phone)
        self._refresh_search_text()
        # One transaction: a patient is never left without an MRN.
        with transaction.atomic():
            super().save(*args, **kwargs)
            if not self.mrn:
                # The MRN is derived from the row's id (sequential, never reused) plus a check digit.
                number = f"{self.pk:06d}"
                self.mrn = number + luhn_digit(number)
                self._refresh_search_text()
                Patient.objects.filter(pk=self.pk).update(mrn=self.mrn, search_text=self.search_text)

    def _refresh_search_text(self):
        self.search_text = search.search_text(
            self.name_key, fold_joined(f"{self.first_name} {self.last_name}"), self.mrn, self.phone_digits
        )

    def archive(self, *, by):
        self.is_archived = True
        self.archived_at = timezone.now()
        self.archived_by = by
        self.save(update_fields=["is_archived", "archived_at", "archived_by", "updated_at"])

    def restore(self):
        self.is_archived = False
        self.archived_at = None
        self.archived_by = None
        self.save(update_fields=["is_archived", "archived_at", "archived_by", "updated_at"])


class Allergy(Audited, models.Model):
    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        LIFE_THREATENING = "life_threatening", "Life-threatening"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    substance = models.CharField(max_length=200)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.MODERATE)
    is_active = models.BooleanField("active", default=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "substance"]
        verbose_name_plural = "allergies"
        indexes = [models.Index(fields=["patient", "is_active"])]

    def __str__(self):
        return f"{self.substance} ({self.get_severity_display()})"


class Condition(Audited, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESOLVED = "resolved", "Resolved"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="conditions")
    name = models.CharField(max_length=200)
    icd10_code = models.CharField("ICD-10 code", max_length=8, blank=True, validators=[ICD10_VALIDATOR])
    onset_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    resolved_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "-onset_date", "name"]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self):
        return f"{self.name} [{self.icd10_code}]" if self.icd10_code else self.name

    @property
    def is_resolved(self):
        return self.status == self.Status.RESOLVED

    def clean_fields(self, exclude=None):
        # Normalised before the field validators run, so "e11.9 " is accepted as E11.9, not refused.
        self.icd10_code = (self.icd10_code or "").strip().upper()
        super().clean_fields(exclude=exclude)

    def clean(self):
        today = timezone.localdate()
        if self.onset_date and self.onset_date > today:
            raise ValidationError({"onset_date": "The onset date cannot be in the future."})
        resolved, onset = self.resolved_date, self.onset_date
        if self.status == self.Status.RESOLVED and resolved and onset and resolved < onset:
            raise ValidationError({"resolved_date": "A condition cannot resolve before its onset."})
        if self.status == self.Status.ACTIVE:
            self.resolved_date = None
