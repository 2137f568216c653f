"""Reads that need care: the doctor's day and a patient's chart timeline, each a fixed number of queries."""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Prefetch, Q, Value
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone

from clinic.contributions import Slot
from patients.models import Allergy
from scheduling.models import Appointment

from .models import MedicalRecord, Procedure, TreatmentPlan

PAGE_SIZE = 25  # timeline entries a page

# The chart's kind filter: what the doctor picks -> the entry kinds it shows. Procedures go with plans.
KINDS = {
    "visits": ("Visits", frozenset({"visit"})),
    "records": ("Records", frozenset({"record"})),
    "plans": ("Plans and procedures", frozenset({"plan", "procedure"})),
    "documents": ("Documents", frozenset({"document"})),
    "images": ("Images", frozenset({"image"})),
}
ENTRY_KINDS = frozenset().union(*(kinds for _, kinds in KINDS.values()))

# Entries higher apps add to a chart's timeline (documents: documents and images the user may see).
# The contract: each provider is called with patient=, user= and query= (a TimelineQuery) and returns a
# TimelinePart:
#   entries: at most query.limit TimelineEntry of each of its kinds that query.wants(), in
#       query.year when set, strictly past query.cursor in the page's direction (query.window() does all
#       of that to a queryset);
#   counts: for each of its kinds, whatever the kind and year filters, (kind, year, n, beyond) rows:
#       n entries the user may see in that year, `beyond` of them past the cursor in the page's
#       direction (all n when there is no cursor). query.counts() builds them; the page takes its
#       years, its total and its position from them, so they must count what `entries` would list.
# A provider runs a fixed number of queries, however long the patient's history.
TIMELINE = Slot("a chart's timeline: a TimelinePart from patient=, user=, query=")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKEN = re.compile(r"(-?\d{1,18})\.([a-z]{1,20})\.(\d{1,18})")


def _active_allergies():
    return Prefetch("patient__allergies", queryset=Allergy.objects.filter(is_active=True), to_attr="active_allergies")


def my_day(doctor, day):
    """The doctor's appointments on a day, in order, with each patient's active allergies and record."""
    return list(
        Appointment.objects.on_day(day)
        .filter(doctor=doctor)
        .select_related("patient")
        .prefetch_related(_active_allergies(), "medical_records")
        .order_by("start")
    )


def day_start(day):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


@dataclass(frozen=True, order=True)
class TimelineKey:
    """An entry's place on the timeline: its time, then its kind and id so that no two entries tie
    (a visit and its record share the visit's time). Pages are cut at keys, never at offsets, so a
    page costs the same on a 20-entry chart and a 2,000-entry one."""

    when: datetime
    kind: str
    pk: int

    def __post_init__(self):
        # In UTC: two aware datetimes in different zones never compare equal inside a repeated
        # (clocks back) hour, which would leave ties between entries unordered.
        object.__setattr__(self, "when", self.when.astimezone(UTC))

    def token(self):
        """For the URL: microseconds since 1970 (exact, any year), kind, id."""
        delta = self.when - _EPOCH
        micro = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micro}.{self.kind}.{self.pk}"

    @classmethod
    def parse(cls, text):
        """The key in a page link, or None for anything that is not one (never an error)."""
        match = _TOKEN.fullmatch(text or "")
        if not match or match[2] not in ENTRY_KINDS:
            return None
        try:
            when = _EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError:
            return None
        # Away from the calendar's ends, where a day either side of the cursor would not exist.
        if not 1 < when.year < 9999 or int(match[3]) >= 2**63:
            return None
        return cls(when, match[2], int(match[3]))


@dataclass
class TimelineEntry:
    kind: str  # visit, record, plan, procedure, document, image
    when: datetime
    obj: object

    @property
    def key(self):
        return TimelineKey(self.when, self.kind, self.obj.pk)


@dataclass
class TimelinePart:
    """What one source (or one provider) gives a timeline page; see TIMELINE above."""

    entries: list = field(default_factory=list)
    counts: list = field(default_factory=list)  # (kind, year, n, beyond)


@dataclass(frozen=True)
class TimelineQuery:
    """Which entries a chart page shows: the kinds, the year, and the page: `limit` entries older
    than `cursor` (newest first), or with `newer`, the `limit` entries just newer than it (from the
    oldest when there is no cursor)."""

    kinds: frozenset = ENTRY_KINDS
    year: int | None = None
    cursor: TimelineKey | None = None
    newer: bool = False
    limit: int = PAGE_SIZE
    plan_status: str = ""

    def wants(self, kind):
        return kind in self.kinds

    def _year_q(self, at, on):
        if self.year is None:
            return Q()
        first, after = date(self.year, 1, 1), date(self.year + 1, 1, 1)
        if on:
            return Q(**{f"{on}__gte": first, f"{on}__lt": after})
        return Q(**{f"{at}__gte": day_start(first), f"{at}__lt": day_start(after)})

    def past_cursor(self, kind, *, at=None, on=None):
        """Entries of `kind` strictly past the cursor in the page's direction. `at` names the field
        (or annotation) holding an entry's time; `on` a date field, for entries placed at the start of
        their day (documents, photos, dated procedures): the comparison is turned into one on dates."""
        cursor = self.cursor
        if cursor is None:
            return Q()
        older = not self.newer
        lt, lte = ("lt", "lte") if older else ("gt", "gte")
        # At the cursor's very time, kinds sorting before the cursor's (older) or after it (newer) pass.
        same_time_passes = kind < cursor.kind if older else kind > cursor.kind
        same_time = None
        if at:
            strict, inclusive = Q(**{f"{at}__{lt}": cursor.when}), Q(**{f"{at}__{lte}": cursor.when})
            same_time = Q(**{at: cursor.when})
        else:
            floor = timezone.localdate(cursor.when)
            exact = day_start(floor) == cursor.when
            ceiling = floor if exact else floor + timedelta(days=1)
            if older:
                strict, inclusive = Q(**{f"{on}__lt": ceiling}), Q(**{f"{on}__lte": floor})
            else:
                strict, inclusive = Q(**{f"{on}__gt": floor}), Q(**{f"{on}__gte": ceiling})
            if exact:
                same_time = Q(**{on: floor})
        if kind == cursor.kind:
            return strict | (same_time & Q(**{f"pk__{lt}": cursor.pk})) if same_time is not None else strict
        return inclusive if same_time_passes else strict

    def window(self, queryset, kind, *, at=None, on=None):
        """The queryset's entries on this page: the year, past the cursor, in the page's order, `limit` of them."""
        by = on or at
        order = [f"-{by}", "-pk"] if not self.newer else [by, "pk"]
        queryset = queryset.filter(self._year_q(at, on), self.past_cursor(kind, at=at, on=on))
        return queryset.order_by(*order)[: self.limit]

    def counts(self, queryset, kind, *, at=None, on=None):
        """(kind, year, n, beyond) rows of the queryset, one grouped query (unevaluated: callers may union them)."""
        beyond = Count("pk", filter=self.past_cursor(kind, at=at, on=on)) if self.cursor else Count("pk")
        return (
            queryset.order_by()
            .annotate(timeline_year=ExtractYear(on or at))
            .values("timeline_year")
            .annotate(n=Count("pk"), beyond=beyond, timeline_kind=Value(kind))
            .values_list("timeline_kind", "timeline_year", "n", "beyond")
        )


@dataclass
class TimelinePage:
    entries: list  # newest first
    total: int  # entries the filters select
    offset: int  # how many of them are newer than this page
    years: list  # the years the patient has entries in (any kind), newest first

    @property
    def has_newer(self):
        return self.offset > 0

    @property
    def has_older(self):
        return self.offset + len(self.entries) < self.total

    @property
    def first_number(self):
        return self.offset + 1 if self.entries else 0

    @property
    def last_number(self):
        return self.offset + len(self.entries)


def _sources(patient, query):
    """The clinical sources of the timeline: (kind, queryset, at or on, makes the entry's time)."""
    records = (
        MedicalRecord.objects.filter(patient=patient)
        .select_related("author", "appointment")
        .annotate(timeline_at=Coalesce("appointment__start", "created_at"))
    )
    plans = TreatmentPlan.objects.filter(patient=patient).select_related("doctor__user")
    if query.plan_status:
        plans = plans.filter(status=query.plan_status)
    procedures = Procedure.objects.filter(patient=patient).select_related("plan", "performed_by")
    undated = Q(performed_date__isnull=True, scheduled_date__isnull=True)
    return [
        ("visit", Appointment.objects.filter(patient=patient).select_related("doctor__user"), {"at": "start"}),
        # A visit's record sits at the visit's time, whenever it was typed.
        ("record", records, {"at": "timeline_at"}),
        ("plan", plans, {"at": "created_at"}),
        # A procedure sits on the day it was done (or is planned for), or else when it was entered.
        (
            "procedure",
            procedures.exclude(undated).annotate(timeline_on=Coalesce("performed_date", "scheduled_date")),
            {"on": "timeline_on"},
        ),
        ("procedure", procedures.filter(undated), {"at": "created_at"}),
    ]


# Each kind's page query adds what its line on the timeline shows.
_PAGE_EXTRAS = {
    "record": lambda qs: qs.annotate(amendment_count=Count("amendments")),
    "plan": lambda qs: qs.annotate(
        done=Count("procedures", filter=Q(procedures__status=Procedure.Status.DONE)),
        planned=Count("procedures", filter=~Q(procedures__status=Procedure.Status.CANCELLED)),
    ),
}


def entries_of(queryset, kind, *, at=None, on=None):
    """TimelineEntry objects for the rows of a window."""
    if on:
        return [TimelineEntry(kind, day_start(getattr(obj, on)), obj) for obj in queryset]
    return [TimelineEntry(kind, getattr(obj, at), obj) for obj in queryset]


def clinical_part(patient, query):
    """Visits, records, plans and procedures for a page: one counting query and one per kind shown."""
    sources = _sources(patient, query)
    counted = [query.counts(qs, kind, **where) for kind, qs, where in sources]
    counts = list(counted[0].union(*counted[1:], all=True))
    entries = []
    for kind, qs, where in sources:
        if query.wants(kind):
            qs = _PAGE_EXTRAS.get(kind, lambda q: q)(qs)
            entries += entries_of(query.window(qs, kind, **where), kind, **where)
    return TimelinePart(entries, counts)


def chart_timeline(patient, user=None, query=None):
    """One page of the patient's timeline (visits, records, plans, procedures, and the documents and
    images the user may see), newest first, with the years to filter by and the page's place."""
    query = query or TimelineQuery()
    parts = [clinical_part(patient, query)]
    if user is not None:
        parts += TIMELINE.collect(patient=patient, user=user, query=query)
    counts = [row for part in parts for row in part.counts]
    chosen = [row for row in counts if query.wants(row[0]) and (query.year is None or row[1] == query.year)]
    total = sum(row[2] for row in chosen)
    beyond = sum(row[3] for row in chosen)
    entries = sorted((e for part in parts for e in part.entries), key=lambda e: e.key, reverse=not query.newer)
    entries = entries[: query.limit]
    if query.newer:
        entries.reverse()
        offset = max(0, beyond - query.limit)
    else:
        offset = total - beyond
    years = sorted({row[1] for row in counts if row[1] is not None}, reverse=True)
    return TimelinePage(entries, total, offset, years)
