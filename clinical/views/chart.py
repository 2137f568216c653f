"""A patient's chart: the summary (allergies and active problems, current medications, vital signs
with their trend), then the timeline of visits, records, plans and files, filtered and paged."""

import re

from django.shortcuts import get_object_or_404
from django.utils.http import urlencode
from django.views.generic import DetailView

from clinic.audit import RecordsAccess
from clinic.permissions import Permitted
from patients.models import Patient

from ..models import TreatmentPlan
from ..queries import ENTRY_KINDS, KINDS, TimelineKey, TimelineQuery, chart_timeline
from ..summary import current_medications, vital_trends

_YEAR = re.compile(r"\d{1,4}")


class ChartView(Permitted, RecordsAccess, DetailView):
    permission_required = "clinical.view_medicalrecord"
    audit_summary = "chart"
    template_name = "clinical/chart.html"
    context_object_name = "patient"

    def load(self, *, pk, **kwargs):
        self.object = get_object_or_404(Patient, pk=pk)

    def get_object(self, queryset=None):
        return self.object

    def filters(self):
        """The timeline's filters from the URL; a value that is not one of the choices is ignored."""
        get = self.request.GET
        kind = get.get("kind", "")
        kind = kind if kind in KINDS else ""
        year = get.get("year", "")
        year = int(year) if _YEAR.fullmatch(year) and 1 <= int(year) <= 9998 else None
        status = get.get("plan_status", "")
        status = status if status in TreatmentPlan.Status.values else ""
        return kind, year, status

    def get_context_data(self, **kwargs):
        kind, year, status = self.filters()
        get = self.request.GET
        if get.get("oldest"):
            cursor, newer = None, True
        elif after := TimelineKey.parse(get.get("after")):
            cursor, newer = after, True
        else:
            cursor, newer = TimelineKey.parse(get.get("before")), False
        query = TimelineQuery(
            kinds=KINDS[kind][1] if kind else ENTRY_KINDS,
            year=year,
            cursor=cursor,
            newer=newer,
            plan_status=status,
        )
        patient = self.object
        timeline = chart_timeline(patient, self.request.user, query)
        kept = {"kind": kind, "year": year or "", "plan_status": status}
        kept = {k: v for k, v in kept.items() if v}
        years = timeline.years if year is None or year in timeline.years else sorted([*timeline.years, year])[::-1]
        return super().get_context_data(
            medications=current_medications(patient),
            vitals=vital_trends(patient),
            timeline=timeline.entries,
            page=timeline,
            pages=self.page_links(timeline, kept),
            kind=kind,
            kind_label=KINDS[kind][0].lower() if kind else "",
            kinds=[(value, label) for value, (label, _) in KINDS.items()],
            year=year,
            years=years,
            filtered=bool(kind or year or status),
            plan_status=status,
            plan_statuses=TreatmentPlan.Status.choices,
            **kwargs,
        )

    @staticmethod
    def page_links(timeline, kept):
        """Newest, newer, older and oldest: the filters kept, the page cut at an entry's key."""

        def link(**cut):
            return "?" + urlencode({**kept, **cut}) + "#timeline"

        links = {}
        if timeline.has_newer:
            links["newest"] = link()
            links["newer"] = link(after=timeline.entries[0].key.token()) if timeline.entries else link()
        if timeline.has_older:
            links["older"] = link(before=timeline.entries[-1].key.token()) if timeline.entries else link()
            links["oldest"] = link(oldest=1)
        return links
