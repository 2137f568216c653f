from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class User(AbstractUser):
    """A member of staff. Never deleted once they have history: deactivated instead."""

    # Set when someone else (an administrator) chose this password: its owner must replace it at
    # the next sign-in, so a password another person knows never stays in use (staff.services).
    must_change_password = models.BooleanField(default=False, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["last_name", "first_name", "username"]
        permissions = [("deactivate_user", "Can deactivate and reactivate staff accounts")]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def audit_label(self):
        """Who this is, as the audit trail's summaries name people: "Anna Jones (ajones)"."""
        name = self.get_full_name()
        return f"{name} ({self.username})" if name else self.username

    @property
    def role_names(self):
        return [g.name for g in self.groups.all()]


class Specialty(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "specialties"

    def __str__(self):
        return self.name


class DoctorQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, user__is_active=True)

    def search(self, text):
        qs = self
        for word in (text or "").split():
            qs = qs.filter(
                models.Q(user__first_name__icontains=word)
                | models.Q(user__last_name__icontains=word)
                | models.Q(specialty__name__icontains=word)
            )
        return qs


class Doctor(models.Model):
    """The profile of a user in the Doctor role."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="doctor")
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="doctors")
    licence_number = models.CharField(max_length=50, unique=True)
    phone = models.CharField(max_length=30, blank=True)
    consultation_minutes = models.PositiveSmallIntegerField(
        "default consultation length (minutes)",
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    consultation_fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What a visit costs the patient; reception is offered it when recording a payment.",
    )
    is_active = models.BooleanField("active", default=True, db_index=True)

    objects = DoctorQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        indexes = [models.Index(Lower("licence_number"), name="doctor_licence_lower")]

    def __str__(self):
        return f"Dr {self.user.get_full_name() or self.user.username}"

    @property
    def consultation_length(self):
        return timedelta(minutes=self.consultation_minutes)


class WorkingHours(models.Model):
    """One interval of a doctor's weekly timetable; a weekday may have several (morning, afternoon)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["doctor", "weekday", "start_time"]
        verbose_name_plural = "working hours"
        indexes = [models.Index(fields=["doctor", "weekday"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")),
                name="working_hours_end_after_start",
                violation_error_message="The end of working hours must be after their start.",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self):
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end must be after the start."})
        if self.doctor_id and self.start_time and self.end_time and self.weekday is not None:
            overlapping = WorkingHours.objects.filter(
                doctor_id=self.doctor_id,
                weekday=self.weekday,
                start_time__lt=self.end_time,
                end_time__gt=self.start_time,
            ).exclude(pk=self.pk)
            if overlapping.exists():
                raise ValidationError("These hours overlap another interval on the same day.")


class StaffSession(models.Model):
    """One signed-in session of a member of staff: what "Your sessions" lists and what signing out
    other sessions ends. Written at sign-in, its last_seen refreshed at most once a minute, removed
    at sign-out. The session itself lives in Django's session store under the same key."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created = models.DateTimeField("signed in at", default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField("address", null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["user", "last_seen"])]

    def __str__(self):
        return f"{self.user} on {self.device} since {self.created:%Y-%m-%d %H:%M}"

    @property
    def device(self):
        """The browser and system, in a few words ("Firefox on Windows"), from the user agent."""
        return describe_user_agent(self.user_agent)


_BROWSERS = [  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
]
_SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def describe_user_agent(user_agent):
    if not user_agent:
        return "Unknown device"
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "Another browser")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    return f"{browser} on {system}" if system else browser


class APITokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)


class APIToken(models.Model):
    """A member of staff's key for the JSON API and FHIR (staff/api_tokens.py): it acts as its owner,
    with the owner's roles, until it expires or is revoked. Only its SHA-256 is kept; the key itself
    is shown once, when made."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(
        max_length=80, help_text="What uses it, e.g. “Website booking widget” (shown in the audit trail)."
    )
    prefix = models.CharField(max_length=16, editable=False)  # the key's start, to tell keys apart
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = APITokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self):
        return self.revoked_at is None and self.expires_at > timezone.now()


class CalendarFeedQuerySet(models.QuerySet):
    def usable(self):
        """Feeds that answer: not revoked, and their doctor still works here."""
        return self.filter(revoked_at__isnull=True, doctor__is_active=True, doctor__user__is_active=True)


class CalendarFeed(models.Model):
    """A doctor's private iCalendar feed (scheduling/feeds.py serves it at /calendar/<secret>.ics, without
    sign-in, for a phone's calendar app). Only the secret's SHA-256 is kept; the secret is shown once,
    when made. A doctor has at most one feed in use: making a new link revokes the old one."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="calendar_feeds")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two "make a new link" at once cannot leave two live links (the service locks the doctor too).
            models.UniqueConstraint(
                fields=["doctor"], condition=models.Q(revoked_at__isnull=True), name="calendar_feed_one_in_use"
            ),
        ]

    def __str__(self):
        return f"Calendar feed of {self.doctor} ({self.created_at:%Y-%m-%d})"
