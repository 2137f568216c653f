from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.generic import FormView, TemplateView, View

from clinic.audit import Action, RecordsAccess, record
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.links import LinkError, link_is_used
from clinic.permissions import Permitted
from patients.forms import PatientSearchForm
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.views import _id_param

from . import services
from .forms import EntryForm, FilterForm, OfferForm, RemoveForm
from .matching import reason
from .models import FreedTime, WaitlistEntry, WaitlistOffer
from .panels import freed_time_panel

LIST_LIMIT = 100
SEARCH_RESULTS = 20


class WaitlistView(Permitted, RecordsAccess, TemplateView):
    """Who is waiting, most urgent and longest waiting first; narrowed to a doctor or a specialty."""

    permission_required = "waitlist.view_waitlistentry"
    template_name = "waitlist/list.html"
    audit_summary = "waitlist"

    def get_context_data(self, **kwargs):
        form = FilterForm(self.request.GET or None)
        entries = WaitlistEntry.objects.waiting().with_people().ranked()
        if form.is_valid():
            doctor, specialty = form.cleaned_data["doctor"], form.cleaned_data["specialty"]
            if doctor:
                # Waiting for this doctor, or for any doctor of their specialty.
                entries = entries.filter(doctor=doctor) | entries.filter(
                    doctor__isnull=True, specialty_id=doctor.specialty_id
                )
            if specialty:
                entries = entries.filter(specialty=specialty) | entries.filter(doctor__specialty=specialty)
        now = timezone.now()
        shown = list(entries[: LIST_LIMIT + 1])
        rows = [{"entry": entry, "reason": reason(entry, now=now)} for entry in shown[:LIST_LIMIT]]
        return super().get_context_data(form=form, rows=rows, more=len(shown) > LIST_LIMIT, limit=LIST_LIMIT, **kwargs)


class AddEntryView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    """Put a patient on the waitlist: find them first (as booking does), then say what they wait for."""

    permission_required = "waitlist.add_waitlistentry"
    form_class = EntryForm
    template_name = "waitlist/add.html"

    def load(self, **kwargs):
        patient_id = _id_param(self.request, "patient")
        self.patient = get_object_or_404(Patient, pk=patient_id, is_archived=False) if patient_id else None

    def record_access(self, response):
        if self.patient is not None:
            record(Action.VIEW, self.patient, summary="adding to the waitlist")
        elif "results" in response.context_data:
            query = response.context_data["search_form"].cleaned_data["q"]
            record(
                Action.SEARCH, summary=f'waitlist: patients "{query}", {len(response.context_data["results"])} shown'
            )

    def get_context_data(self, **kwargs):
        if self.patient is not None:
            return super().get_context_data(patient=self.patient, **kwargs)
        context = FormView.get_context_data(self, **kwargs)
        search = PatientSearchForm(self.request.GET if "q" in self.request.GET else None)
        context["search_form"] = search
        if search.is_valid() and search.cleaned_data["q"]:
            context["results"] = list(Patient.objects.current().search(search.cleaned_data["q"])[:SEARCH_RESULTS])
        return context

    def post(self, request, *args, **kwargs):
        if self.patient is None:
            messages.error(request, "Choose a patient first.")
            return HttpResponseRedirect(reverse("waitlist:add"))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            entry = services.add_entry(patient=self.patient, by=self.request.user, **form.entry_fields())
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{entry.patient.full_name} is on the waitlist for {entry.wanted}.")
        return HttpResponseRedirect(reverse("waitlist:list"))


class _EntryFormView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    permission_required = "waitlist.change_waitlistentry"

    def load(self, *, pk, **kwargs):
        self.entry = get_object_or_404(WaitlistEntry.objects.with_people(), pk=pk)

    def audit_object(self):
        return self.entry

    def get_context_data(self, **kwargs):
        return super().get_context_data(entry=self.entry, **kwargs)

    def refused(self, form, error):
        add_service_errors(form, error)
        return self.form_invalid(form)


class EditEntryView(_EntryFormView):
    form_class = EntryForm
    template_name = "waitlist/edit.html"

    def get_initial(self):
        return EntryForm.initial_for(self.entry)

    def form_valid(self, form):
        try:
            entry = services.update_entry(entry=self.entry, by=self.request.user, **form.entry_fields())
        except ValidationError as error:
            return self.refused(form, error)
        messages.success(self.request, f"Waitlist entry of {entry.patient.full_name} saved.")
        return HttpResponseRedirect(reverse("waitlist:list"))


class RemoveEntryView(_EntryFormView):
    form_class = RemoveForm
    template_name = "waitlist/remove.html"

    def form_valid(self, form):
        try:
            entry = services.remove_entry(entry=self.entry, reason=form.cleaned_data["reason"], by=self.request.user)
        except ValidationError as error:
            return self.refused(form, error)
        messages.success(self.request, f"{entry.patient.full_name} is off the waitlist.")
        return HttpResponseRedirect(reverse("waitlist:list"))


class _FreedTimeAction(OncePerSubmission, Permitted, View):
    """A button acting on a freed time: a cancelled appointment's (on its page), or one an appointment was
    moved from (on its own page). `load` sets the time (doctor, start, end) and the page to go back to."""

    http_method_names = ["post"]

    def load(self, *, appointment_pk=None, moved_pk=None, **kwargs):
        if moved_pk is not None:
            moved = get_object_or_404(
                FreedTime.objects.select_related("doctor__user", "doctor__specialty"), pk=moved_pk
            )
            self.doctor, self.start, self.end = moved.doctor, moved.start, moved.end
            self.back_url = reverse("waitlist:moved", args=[moved.pk])
            self.still_free = services.moved_time_is_free(moved)
        else:
            freed = get_object_or_404(Appointment.objects.with_people(), pk=appointment_pk)
            self.doctor, self.start, self.end = freed.doctor, freed.start, freed.end
            self.back_url = freed.get_absolute_url()
            self.still_free = services.is_freed_time(freed)

    def back(self):
        return HttpResponseRedirect(self.back_url)


class BookFromWaitlistView(_FreedTimeAction):
    """Book a waiting patient into the freed time in one click."""

    permission_required = ("scheduling.add_appointment", "waitlist.change_waitlistentry")

    def load(self, *, entry_pk, **kwargs):
        super().load(**kwargs)
        self.entry = get_object_or_404(WaitlistEntry.objects.select_related("patient", "appointment"), pk=entry_pk)

    def post(self, request, **kwargs):
        entry = self.entry
        if entry.status == WaitlistEntry.Status.BOOKED and entry.appointment is not None:
            # Sent again (a double click without the page's token): show what the first one booked.
            messages.info(request, f"{entry.patient.full_name} is already booked from the waitlist.")
            return HttpResponseRedirect(entry.appointment.get_absolute_url())
        try:
            appointment = services.book_from_waitlist(
                entry=entry, doctor=self.doctor, start=self.start, end=self.end, by=request.user
            )
        except ValidationError as error:
            messages.error(request, "Not booked: " + " ".join(error.messages))
            return self.back()
        messages.success(request, f"Booked from the waitlist: {appointment}.")
        return HttpResponseRedirect(appointment.get_absolute_url())


class OfferView(_FreedTimeAction):
    """Offer the freed time to the top few candidates by e-mail/SMS (sent in the background)."""

    permission_required = "waitlist.offer_waitlistentry"

    def post(self, request, **kwargs):
        form = OfferForm(request.POST)
        count = (form.is_valid() and form.cleaned_data["count"]) or 3
        if not self.still_free:
            messages.error(request, "This time is not free to offer.")
            return self.back()
        try:
            offers = services.offer_time(
                doctor=self.doctor, start=self.start, end=self.end, count=count, by=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return self.back()
        names = ", ".join(offer.entry.patient.full_name for offer in offers)
        messages.success(request, f"Offered to {names}; the messages are on their way. The first to accept gets it.")
        return self.back()


class MovedTimeView(Permitted, RecordsAccess, TemplateView):
    """A time an appointment was moved from (linked from Today): who on the waitlist fits it, to book or offer."""

    permission_required = "waitlist.view_waitlistentry"
    template_name = "waitlist/moved.html"
    audit_summary = "waitlist candidates for a freed time"

    def load(self, *, moved_pk, **kwargs):
        self.freed = get_object_or_404(
            FreedTime.objects.select_related("doctor__user", "doctor__specialty", "appointment"), pk=moved_pk
        )

    def audit_object(self):
        return None

    def get_context_data(self, **kwargs):
        freed, panel = self.freed, None
        if services.moved_time_is_free(freed):
            panel = freed_time_panel(
                doctor=freed.doctor,
                start=freed.start,
                end=freed.end,
                user=self.request.user,
                book_url=lambda entry: reverse("waitlist:book_moved", args=[freed.pk, entry.pk]),
                offer_url=reverse("waitlist:offer_moved", args=[freed.pk]),
            )
        return super().get_context_data(freed=freed, panel=panel, **kwargs)


@method_decorator(login_not_required, name="dispatch")
class AcceptOfferView(OncePerSubmission, View):
    """The patient's page from an offer's link: GET shows the time, the button (POST) accepts it.
    Public on purpose (the signed link is the credential); a GET changes nothing (mail scanners)."""

    template_name = "waitlist/accept.html"

    def problem(self, request, code, offer=None, status=200):
        return render(request, self.template_name, {"problem": code, "offer": offer}, status=status)

    def get(self, request, token):
        try:
            offer = services.offer_from_link(token)
        except LinkError as error:
            return self.problem(request, error.code, status=404 if error.code == "forged" else 410)
        if offer.status == WaitlistOffer.Status.ACCEPTED:
            return render(request, self.template_name, {"offer": offer, "done": True})
        if offer.status not in WaitlistOffer.OPEN or services.time_is_taken(offer.doctor_id, offer.start, offer.end):
            return self.problem(request, "taken", offer)
        if link_is_used(token, services.ACCEPT):
            return self.problem(request, "used", offer, status=410)
        context = {"offer": offer, "clinic_address": settings.CLINIC_LETTERHEAD_ADDRESS}
        return render(request, self.template_name, context)

    def post(self, request, token):
        try:
            answer = services.accept_offer(token=token)
        except LinkError as error:
            return self.problem(request, error.code, status=404 if error.code == "forged" else 410)
        if answer.outcome == "taken":
            return self.problem(request, "taken", answer.offer)
        # Back to the link's page, which now shows the appointment booked (a reload does not post again).
        return HttpResponseRedirect(reverse("waitlist:accept", args=[token]))
