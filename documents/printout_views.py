"""Printing from a signed record: the PDF (inline, audited like any read of the record) and filing it to
the patient's documents in one click (documents/printouts.py says what each letter holds).

Who: anyone who reads records (clinical.view_medicalrecord) prints the prescription and the visit summary,
which say only what the signed record says; a sick note and a referral letter say more (dates, advice, a
question to a colleague) in the doctor's name, so only a doctor who charts (clinical.add_medicalrecord)
writes them. Filing needs documents.add_clinicaldocument as well. A draft is never printed: 404.
"""

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.generic import TemplateView

from clinic.audit import Action, RecordsAccess
from clinic.audit import record as audit_record
from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted

from . import services
from .printout_forms import FORMS
from .printouts import KINDS, PLAIN_KINDS, PRESCRIPTION, available, issue, printable_records, visit_day

VIEW_RECORDS = "clinical.view_medicalrecord"
WRITE_RECORDS = "clinical.add_medicalrecord"
FILE_DOCUMENTS = "documents.add_clinicaldocument"


def pdf_response(printout):
    """The PDF shown in the browser (inline), under a name that says what and whose it is."""
    pdf = printout.pdf()
    response = FileResponse(io.BytesIO(pdf), content_type="application/pdf", filename=printout.filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def audit_printout(printout):
    audit_record(Action.VIEW, printout.record, summary=f"{printout.kind.title} PDF {printout.reference}")


class _PrintoutMixin:
    kinds = KINDS
    stores_files_first = True  # filing stores the PDF before its transaction, as every upload does

    def load(self, *, pk, kind, **kwargs):
        self.kind = self.kinds.get(kind)
        if self.kind is None:
            raise Http404("No such printout.")
        self.record = get_object_or_404(printable_records(), pk=pk)
        if not available(self.kind, self.record):
            raise Http404("Nothing to print: the record prescribes no medicine.")

    def file(self, printout):
        if not self.request.user.has_perm(FILE_DOCUMENTS):
            raise PermissionDenied
        try:
            document = services.file_printout(printout=printout, by=self.request.user)
        except ValidationError as error:
            # Shown on a page of its own, not after a redirect: a refusal gives the form's token back.
            context = {"kind": self.kind, "record": self.record, "patient": self.record.patient}
            return render(self.request, "documents/printout_not_filed.html", {**context, "errors": error.messages})
        messages.success(self.request, f"'{document.title}' is filed in {self.record.patient.full_name}'s documents.")
        return redirect("documents:patient", patient_pk=self.record.patient_id)


class RecordPrintoutView(OncePerSubmission, _PrintoutMixin, Permitted, RecordsAccess, TemplateView):
    """GET: the prescription or visit summary as a PDF. POST: file it to the patient's documents."""

    permission_required = VIEW_RECORDS
    kinds = PLAIN_KINDS
    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        self.printout = issue(self.kind, self.record)
        return pdf_response(self.printout)

    def record_access(self, response):
        audit_printout(self.printout)

    def post(self, request, *args, **kwargs):
        return self.file(issue(self.kind, self.record))


class RecordLetterView(OncePerSubmission, _PrintoutMixin, Permitted, RecordsAccess, TemplateView):
    """A sick note or referral letter: GET shows its form; once the form is valid, the PDF (?format=pdf)
    and the one-click filing (POST) are offered with the same values."""

    permission_required = (VIEW_RECORDS, WRITE_RECORDS)
    kinds = {slug: kind for slug, kind in KINDS.items() if kind.has_details}
    template_name = "documents/record_letter.html"
    http_method_names = ["get", "post"]
    printout = None

    def _form(self, data):
        form_class = FORMS[self.kind.slug]
        record = self.record
        if data is None:
            initial = {"condition": record.diagnosis[:300]} if self.kind.slug == "sick-note" else {}
            return form_class(initial=initial)
        return form_class(data)

    def _printout(self, form):
        return issue(self.kind, self.record, details=form.details(self._record_day()))

    def _record_day(self):
        return visit_day(self.record)

    def get(self, request, *args, **kwargs):
        fields = set(FORMS[self.kind.slug].base_fields)
        form = self._form(request.GET if fields & set(request.GET) else None)
        if form.is_bound and form.is_valid():
            self.printout = self._printout(form)
            if request.GET.get("format") == "pdf":
                return pdf_response(self.printout)
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        form = self._form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        return self.file(self._printout(form))

    def record_access(self, response):
        if self.printout is not None and response.get("Content-Type") == "application/pdf":
            audit_printout(self.printout)
        else:
            audit_record(Action.VIEW, self.record, summary=f"{self.kind.title} form")

    def get_context_data(self, **kwargs):
        form = kwargs["form"]
        ready = form.is_bound and form.is_valid() and self.printout is not None
        query = ""
        if ready:
            query = self.request.GET.copy()
            query["format"] = "pdf"
            query = query.urlencode()
        return super().get_context_data(
            kind=self.kind,
            record=self.record,
            patient=self.record.patient,
            printout=self.printout if ready else None,
            pdf_query=query,
            can_file=self.request.user.has_perm(FILE_DOCUMENTS),
            hidden_fields=[
                (name, value) for name, values in form.data.lists() if name in form.fields for value in values
            ]
            if ready
            else [],
            **kwargs,
        )


def record_printouts(*, record, user):
    """The record page's print actions (clinical.slots.RECORD_PAGE)."""
    if not record.is_signed or not user.has_perm(VIEW_RECORDS):
        return {}
    can_file = user.has_perm(FILE_DOCUMENTS)
    printouts = []
    for kind in PLAIN_KINDS.values():
        if available(kind, record):
            url = reverse("documents:record_printout", kwargs={"pk": record.pk, "kind": kind.slug})
            # The prescription keeps the address it has always had (bookmarks, links in older notes).
            shown = reverse("clinical:prescription", args=[record.pk]) if kind is PRESCRIPTION else url
            printouts.append({"kind": kind, "url": shown, "file_url": url if can_file else ""})
    if user.has_perm(WRITE_RECORDS):
        for kind in KINDS.values():
            if kind.has_details:
                url = reverse("documents:record_letter", kwargs={"pk": record.pk, "kind": kind.slug})
                printouts.append({"kind": kind, "url": url, "file_url": ""})
    return {"printouts": printouts}


def prescription_pdf(*, record, user):
    """The prescription of `record` for clinical.slots.PRESCRIPTION (the old clinical:prescription page)."""
    if not user.has_perm(VIEW_RECORDS):
        return None
    record = printable_records().filter(pk=record.pk).first()
    kind = PRESCRIPTION
    if record is None or not available(kind, record):
        return None
    printout = issue(kind, record)
    return {"response": pdf_response(printout), "summary": f"{kind.title} PDF {printout.reference}"}
