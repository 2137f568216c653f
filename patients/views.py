from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import CreateView, DetailView, FormView, ListView, UpdateView, View

from clinic.audit import Action, RecordsAccess, record
from clinic.audit_views import ENTRIES, EntriesView
from clinic.contributions import Slot
from clinic.idempotency import OncePerSubmission
from clinic.models import AuditEntry
from clinic.permissions import Permitted

from . import services
from .forms import AllergyForm, ConditionForm, PatientArchiveForm, PatientCreateForm, PatientForm, PatientSearchForm
from .models import Allergy, Condition, Patient

# What higher apps add to each row of the patient list (scheduling: the next appointment). Providers get
# patients= (the page's patients) and user=, and return {column name: {patient id: value}}; each patient
# of the page then carries `row` = {column name: its value or None}. One call per page, not per row.
PATIENT_LIST = Slot("the patient list's rows: {column: {patient_id: value}} from patients=, user=")

RECENTLY_REGISTERED = 100


class PatientListView(Permitted, RecordsAccess, ListView):
    permission_required = "patients.view_patient"
    template_name = "patients/patient_list.html"
    paginate_by = 25

    def get_queryset(self):
        # Always bound: an empty query is valid and lists the most recently registered (an unbound
        # form is never valid, which left the first visit to this page empty).
        self.form = PatientSearchForm(self.request.GET)
        if not self.form.is_valid():
            return Patient.objects.none()
        patients = Patient.objects.filter(is_archived=self.form.cleaned_data["archived"])
        if not self.form.cleaned_data["q"]:
            # No search yet: the most recently registered, newest first; a few pages of them, so the
            # count stays as quick at 100,000 patients as at sixty (nobody pages through them all).
            return patients.order_by("-pk")[:RECENTLY_REGISTERED]
        # In name order (a whole MRN's patient first): search decides.
        return patients.search(self.form.cleaned_data["q"])

    def record_access(self, response):
        # A list reveals patients: what was asked and how many answered (counted for the page already).
        query = self.form.cleaned_data["q"] if self.form.is_valid() else ""
        found = response.context_data["paginator"].count
        asked = f'"{query}"' if query else "newest registrations"
        record(Action.SEARCH, summary=f"patients: {asked}, {found} found", patient_id=None)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            form=self.form,
            searched=bool(self.form.is_bound and self.form.is_valid() and self.form.cleaned_data["q"]),
            **kwargs,
        )
        patients = context["object_list"] = list(context["object_list"])
        columns = PATIENT_LIST.context(patients=patients, user=self.request.user)
        for patient in patients:
            patient.row = {name: values.get(patient.pk) for name, values in columns.items()}
        context["columns"] = set(columns)
        return context


def local_next(request, target):
    """`target` if it is an address on this site given as a path ("/appointments/book/?…"), else "".
    A full address, even to this host, or one to elsewhere ("//evil.example") is ignored."""
    target = (target or "").strip()
    if len(target) > 2000 or not target.startswith("/") or target.startswith(("//", "/\\")):
        return ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return ""
    return target


def with_patient(target, patient_pk):
    """`target` with patient=<patient_pk> in its query string (replacing any patient=), the rest kept."""
    parts = urlsplit(target)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "patient"]
    query.append(("patient", str(patient_pk)))
    return urlunsplit(parts._replace(query=urlencode(query)))


class PatientCreateView(OncePerSubmission, Permitted, CreateView):
    permission_required = "patients.add_patient"
    form_class = PatientCreateForm
    template_name = "patients/patient_form.html"

    def load(self, **kwargs):
        # Registering from elsewhere (the booking page): back there afterwards with the patient chosen.
        # The address comes with the form page (?next=) and goes back with the form (a hidden field).
        asked = self.request.POST.get("next") if self.request.method == "POST" else self.request.GET.get("next")
        self.next = local_next(self.request, asked)

    def form_valid(self, form):
        self.object = services.register_patient(patient=form.save(commit=False))
        messages.success(self.request, f"Registered {self.object.full_name}, MRN {self.object.mrn}.")
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self):
        if self.next:
            return with_patient(self.next, self.object.pk)
        return super().get_success_url()

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.next, **kwargs)


class PatientUpdateView(OncePerSubmission, Permitted, RecordsAccess, UpdateView):
    permission_required = "patients.change_patient"
    form_class = PatientForm
    template_name = "patients/patient_form.html"

    def load(self, *, pk, **kwargs):
        # An archived record is restored first, then edited.
        self.patient = get_object_or_404(Patient.objects.current(), pk=pk)

    def get_object(self, queryset=None):
        return self.patient

    def form_valid(self, form):
        self.object = services.save_patient(patient=form.save(commit=False))
        messages.success(self.request, "Patient details saved.")
        return HttpResponseRedirect(self.get_success_url())


# What higher apps show on the patient page (scheduling: the visits), as template context.
PATIENT_PAGE = Slot("the patient page: context from patient=, user=")


class PatientDetailView(Permitted, RecordsAccess, DetailView):
    permission_required = "patients.view_patient"
    template_name = "patients/patient_detail.html"

    def load(self, *, pk, **kwargs):
        self.patient = get_object_or_404(Patient.objects.select_related("allergies_checked_by"), pk=pk)

    def get_object(self, queryset=None):
        return self.patient

    def get_context_data(self, **kwargs):
        patient, user = self.object, self.request.user
        context = PATIENT_PAGE.context(patient=patient, user=user)
        # Allergies and conditions are clinical: shown only to clinical roles.
        if user.has_perm("patients.view_allergy"):
            context["allergies"] = list(patient.allergies.all())
            context["active_allergies"] = [allergy for allergy in context["allergies"] if allergy.is_active]
        if user.has_perm("patients.view_condition"):
            context["conditions"] = patient.conditions.all()
        return super().get_context_data(**context, **kwargs)


# What higher apps tell on the archive page (scheduling: the appointments archiving will cancel), as
# template context from patient= and user=. `cancelled_by_archiving_count` > 0 makes a reason required.
ARCHIVE_PAGE = Slot("the archive confirmation page: context from patient=, user=")


class PatientArchiveView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    """Archive instead of delete: the record and its history stay. Asked first (GET): the page says what
    else happens (appointments still to come are cancelled, with a reason then required); POST does it."""

    permission_required = "patients.archive_patient"
    form_class = PatientArchiveForm
    template_name = "patients/patient_archive.html"
    audit_summary = "archive confirmation"

    def load(self, *, pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=pk, is_archived=False)
        self.consequences = ARCHIVE_PAGE.context(patient=self.patient, user=self.request.user)

    def audit_object(self):
        return self.patient

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.fields["reason"].required = bool(self.consequences.get("cancelled_by_archiving_count"))
        return form

    def form_valid(self, form):
        patient = self.patient
        try:
            done = services.archive_patient(patient=patient, by=self.request.user, reason=form.cleaned_data["reason"])
        except ValidationError as refused:
            # Refused inside the transaction (an appointment booked since the page was shown, one that
            # cannot be cancelled): nothing changed; say why next to the reason or above the form.
            form.add_error(None, refused)
            return self.form_invalid(form)
        messages.success(self.request, " ".join([f"{patient.full_name}'s record is archived.", *done]))
        return HttpResponseRedirect(patient.get_absolute_url())

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, **self.consequences, **kwargs)


class PatientRestoreView(OncePerSubmission, Permitted, View):
    """An archived record made active again (its cancelled appointments stay cancelled)."""

    permission_required = "patients.archive_patient"
    http_method_names = ["post"]

    def load(self, *, pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=pk, is_archived=True)

    def post(self, request, pk):
        patient = services.restore_patient(patient=self.patient)
        messages.success(request, f"{patient.full_name}'s record is active again.")
        return HttpResponseRedirect(patient.get_absolute_url())


class AllergiesCheckedView(OncePerSubmission, Permitted, View):
    """ "Asked about allergies: the list is complete" (with none active: No known allergies). From the
    patient page or the allergy banner of a clinical form, which it returns to."""

    permission_required = "patients.add_allergy"
    http_method_names = ["post"]

    def load(self, *, pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=pk, is_archived=False)

    def post(self, request, pk):
        patient = services.record_allergies_checked(patient=self.patient, by=request.user)
        active = patient.allergies.filter(is_active=True).exists()
        messages.success(request, "Allergy list confirmed." if active else "Recorded: no known allergies.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = patient.get_absolute_url()
        return HttpResponseRedirect(target)


class _PatientChildMixin(OncePerSubmission, Permitted):
    """Allergy/condition forms belong to one patient from the URL."""

    template_name = "patients/child_form.html"

    def load(self, *, patient_pk, pk=None, **kwargs):
        self.patient = get_object_or_404(Patient, pk=patient_pk)
        self.item = None if pk is None else get_object_or_404(self.model.objects.filter(patient=self.patient), pk=pk)

    def get_object(self, queryset=None):
        return self.item

    def form_valid(self, form):
        self.object = services.save_history_item(form.save(commit=False), patient=self.patient, by=self.request.user)
        messages.success(self.request, f"{self.model._meta.verbose_name.capitalize()} saved.")
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self):
        return self.patient.get_absolute_url()

    def get_context_data(self, **kwargs):
        return super().get_context_data(patient=self.patient, kind=self.model._meta.verbose_name, **kwargs)


class AllergyCreateView(_PatientChildMixin, CreateView):
    permission_required = "patients.add_allergy"
    model = Allergy
    form_class = AllergyForm


class AllergyUpdateView(_PatientChildMixin, RecordsAccess, UpdateView):
    permission_required = "patients.change_allergy"
    model = Allergy
    form_class = AllergyForm


class ConditionCreateView(_PatientChildMixin, CreateView):
    permission_required = "patients.add_condition"
    model = Condition
    form_class = ConditionForm


class ConditionUpdateView(_PatientChildMixin, RecordsAccess, UpdateView):
    permission_required = "patients.change_condition"
    model = Condition
    form_class = ConditionForm


class PatientAccessView(EntriesView):
    """Who accessed this patient's record: each person with how often and when, then every entry."""

    template_name = "patients/patient_access.html"

    def load(self, *, pk, **kwargs):
        self.patient = get_object_or_404(Patient, pk=pk)

    def get_queryset(self):
        return ENTRIES.filter(patient=self.patient)

    def get_context_data(self, **kwargs):
        people = (
            AuditEntry.objects.filter(patient=self.patient)
            .values("user_id", "username", "name")
            .annotate(entries=Count("id"), first=Min("at"), last=Max("at"))
            .order_by("-last")[:200]
        )
        return super().get_context_data(patient=self.patient, people=people, **kwargs)
