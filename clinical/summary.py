"""The summary at the top of a patient's chart: current medications and the trend of the vital signs.
(Allergies and active problems stand in the patient banner, the same one every clinical form shows.)

Current medications, the rule:
- Only signed records count: a draft is not a prescription.
- A medication starts on the day its record was signed (the prescription's date) and is prescribed
  by the record's author.
- The newest prescription of a drug decides: a later signed record with the same drug (compared by
  name, ignoring case, accents, spacing and punctuation) supersedes every earlier one, whether the
  later one is still running or has finished. Rows of the same drug in the same record (a tapering
  dose) stand together.
- It is current until its duration has run out, the last day included: "7 days" started on a
  Monday runs to Sunday, "1 month" from 15 January to 14 February; UK shorthand "10/7", "2/52", "3/12" is understood;
  a range ("5-7 days") runs to its longer end; "stat", "once" and "single dose" run for that day.
- No duration, or a duration that says it goes on ("ongoing", "long-term", "regular"...), means no
  end: current until a later record prescribes the drug again. So does a duration the rule cannot
  read ("until review"): the doctor sees the text as written. Showing a drug that may have stopped is
  safer than hiding one that is still taken.

Vital signs: the last readings of blood pressure, pulse, temperature and weight, each from the
records (signed or not: a measurement is a measurement once taken) that have it, dated by the
record's place on the timeline (its visit's start, or when it was written) in the clinic's time zone,
each with the way it moved since the reading before it.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Window
from django.db.models.functions import Coalesce
from django.utils import timezone

from patients.text import fold

from .models import Amendment, MedicalRecord, Medication

READINGS = 5  # readings of each vital sign in the summary

# --- medications ----------------------------------------------------------------------------------

_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "twenty": 20,
    "thirty": 30,
}
_UNITS = {
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "m": "months",
    "mo": "months",
    "mon": "months",
    "mons": "months",
    "month": "months",
    "months": "months",
    "y": "years",
    "yr": "years",
    "yrs": "years",
    "year": "years",
    "years": "years",
}
_NUMBER = r"(\d{1,4}|" + "|".join(_NUMBERS) + r")"
_AMOUNT = re.compile(rf"(?:for\s+)?(?:{_NUMBER}\s*(?:-|to|–)\s*)?{_NUMBER}\s*([a-z]+)\.?")
_SHORTHAND = re.compile(r"(\d{1,3})\s*/\s*(7|52|12)")  # UK prescribing: 10/7 = ten days, 2/52 weeks, 3/12 months
_ONE_DAY = {"stat", "once", "single dose", "one dose", "1 dose", "today only"}
_NO_END = {
    "ongoing",
    "long term",
    "longterm",
    "continuous",
    "continue",
    "indefinite",
    "indefinitely",
    "lifelong",
    "life long",
    "regular",
    "repeat",
    "chronic",
    "permanent",
}


def _add_months(day, months):
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if year > 9999:
        return date.max
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def last_day(started, duration):
    """The last day a medication started on `started` for `duration` (free text) is taken, or None
    when it has no end (no duration, one that goes on, or one the rule cannot read)."""
    text = " ".join(duration.lower().replace("-", " - ").split()) if duration else ""
    text = text.replace(" - ", "-")
    if not text:
        return None
    if text in _ONE_DAY:
        return started
    if fold(text) in _NO_END:
        return None
    if match := _SHORTHAND.fullmatch(text):
        count, unit = int(match[1]), {"7": "days", "52": "weeks", "12": "months"}[match[2]]
    elif (match := _AMOUNT.fullmatch(text)) and match[3] in _UNITS:
        count, unit = _NUMBERS.get(match[2]) or int(match[2]), _UNITS[match[3]]
    else:
        return None
    if count == 0:
        return started
    try:
        if unit == "days":
            end = started + timedelta(days=count)
        elif unit == "weeks":
            end = started + timedelta(weeks=count)
        else:
            end = _add_months(started, count * (12 if unit == "years" else 1))
    except OverflowError:
        return date.max
    return end - timedelta(days=1) if end != date.max else end


@dataclass
class CurrentMedication:
    medication: Medication
    started: date
    until: date | None  # the last day, None for no end
    prescriber: object
    amended: bool  # the record's medications were amended since signing: read the amendment

    @property
    def record(self):
        return self.medication.record


def drug_key(name):
    return fold(name)


def current_medications(patient, today=None):
    """The patient's current medications (see the rule above), by drug name. Two queries: the
    drug, record and date of every signed prescription (small rows), then the current ones in full."""
    today = today or timezone.localdate()
    rows = (
        Medication.objects.filter(record__patient=patient, record__status=MedicalRecord.Status.SIGNED)
        .order_by("-record__signed_at", "-record_id", "pk")
        .values_list("pk", "drug", "duration", "record_id", "record__signed_at")
    )
    latest = {}  # drug -> the record that prescribed it last
    current = {}  # medication pk -> (started, until)
    for pk, drug, duration, record_id, signed_at in rows:
        key = drug_key(drug)
        if latest.setdefault(key, record_id) != record_id:
            continue  # superseded by a later record's prescription of the same drug
        started = timezone.localdate(signed_at)
        until = last_day(started, duration)
        if until is None or until >= today:
            current[pk] = (started, until)
    medications = (
        Medication.objects.filter(pk__in=current)
        .select_related("record__author")
        .annotate(
            amended=Exists(Amendment.objects.filter(record=OuterRef("record"), section=Amendment.Section.MEDICATIONS))
        )
    )
    found = [CurrentMedication(m, *current[m.pk], m.record.author, m.amended) for m in medications]
    return sorted(found, key=lambda c: (_natural(drug_key(c.medication.drug)), c.medication.pk))


def _natural(name):
    """Numbers in a name compared as numbers: Vitamin B6 before Vitamin B12."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


# --- vital signs ----------------------------------------------------------------------------------

UP, DOWN, STEADY = "up", "down", "steady"


@dataclass(frozen=True)
class Vital:
    name: str
    unit: str
    fields: tuple  # the record fields of one reading; the first decides whether there is one
    tolerance: Decimal  # a change smaller than this is steady: the noise of measuring


VITALS = [
    Vital("Blood pressure", "mmHg", ("bp_systolic", "bp_diastolic"), Decimal(5)),
    Vital("Pulse", "/min", ("pulse",), Decimal(5)),
    Vital("Temperature", "°C", ("temperature",), Decimal("0.3")),
    Vital("Weight", "kg", ("weight_kg",), Decimal("0.5")),
]


@dataclass
class Reading:
    values: tuple
    day: date
    record_id: int
    trend: str = ""  # up, down or steady since the reading before; "" for the oldest shown

    @property
    def value(self):
        return "/".join("–" if v is None else str(v) for v in self.values)


def trend(newer, older, tolerance):
    """Up, down or steady from one reading to the next: blood pressure by its systolic pressure,
    or its diastolic when the systolic held steady."""
    for new, old in zip(newer, older, strict=True):
        if new is None or old is None:
            continue
        change = Decimal(new) - Decimal(old)
        if abs(change) >= tolerance:
            return UP if change > 0 else DOWN
    return STEADY


def vital_trends(patient):
    """{Vital: [Reading, newest first]}, the last READINGS of each. One query: each vital's running
    count of readings, newest first, keeps the rows where one of them is still within READINGS."""
    at = Coalesce("appointment__start", "created_at")
    order = [at.desc(), F("pk").desc()]
    counters = {f"nth_{vital.fields[0]}": Window(Count(vital.fields[0]), order_by=order) for vital in VITALS}
    wanted = Q()
    for vital in VITALS:
        first = vital.fields[0]
        wanted |= Q(**{f"{first}__isnull": False, f"nth_{first}__lte": READINGS})
    any_vital = Q()
    for vital in VITALS:
        any_vital |= Q(**{f"{vital.fields[0]}__isnull": False})
    fields = [f for vital in VITALS for f in vital.fields]
    rows = (
        MedicalRecord.objects.filter(any_vital, patient=patient)
        .annotate(timeline_at=at, **counters)
        .filter(wanted)
        .order_by("-timeline_at", "-pk")
        .values("pk", "timeline_at", *fields, *counters)
    )
    trends = {vital: [] for vital in VITALS}
    for row in rows:
        for vital in VITALS:
            first = vital.fields[0]
            if row[first] is not None and row[f"nth_{first}"] <= READINGS:
                values = tuple(row[f] for f in vital.fields)
                trends[vital].append(Reading(values, timezone.localdate(row["timeline_at"]), row["pk"]))
    for vital, readings in trends.items():
        for newer, older in zip(readings, readings[1:], strict=False):
            newer.trend = trend(newer.values, older.values, vital.tolerance)
    return trends
