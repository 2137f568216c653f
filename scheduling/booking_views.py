"""Booking and rescheduling: finding the patient, the free times, the form that saves."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.generic import FormView, TemplateView

from clinic.audit import Action, RecordsAccess, record
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted
from patients.forms import PatientSearchForm
from patients.models import Patient

from . import services
from .forms import FIELD_MAP, BookingForm, RescheduleForm, SlotSearchForm
from .slots import free_slots
from .views import _AppointmentFormView, _id_param


class BookAppointmentView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    permission_required = "scheduling.add_appointment"
    form_class = BookingForm
    template_name = "scheduling/book.html"

    def record_access(self, response):
        if self.patient is not None:
            record(Action.VIEW, self.patient, summary="booking")
        elif "results" in response.context_data:
            found = len(response.context_data["results"])  # the page's own query, run once
            query = response.context_data["search_form"].cleaned_data["q"]
            record(Action.SEARCH, summary=f'booking: patients "{query}", {found} shown')

    def load(self, **kwargs):
        patient_id = _id_param(self.request, "patient")
        self.patient = get_object_or_404(Patient, pk=patient_id, is_archived=False) if patient_id else None

    def get_initial(self):
        return {key: self.request.GET[key] for key in ("doctor", "date", "time", "minutes") if key in self.request.GET}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(patient=self.patient, **kwargs)
        if self.patient is None:
            # Booking starts from a patient: find them here first.
            search = PatientSearchForm(self.request.GET or None)
            context["search_form"] = search
            if search.is_valid() and search.cleaned_data["q"]:
                context["results"] = Patient.objects.current().search(search.cleaned_data["q"])[:20]
        return context

    def post(self, request, *args, **kwargs):
        if self.patient is None:
            raise Http404("Choose a patient first")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            appointment = services.book_appointment(
                patient=self.patient,
                doctor=data["doctor"],
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
                booked_by=self.request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error, FIELD_MAP)
            return self.form_invalid(form)
        messages.success(self.request, f"Booked: {appointment}.")
        return HttpResponseRedirect(appointment.get_absolute_url())


class RescheduleView(_AppointmentFormView):
    permission_required = "scheduling.change_appointment"
    form_class = RescheduleForm
    template_name = "scheduling/reschedule.html"

    def get_initial(self):
        a = self.appointment
        return {
            "doctor": a.doctor_id,
            "date": a.local_start.date(),
            "time": a.local_start.time(),
            "minutes": int(a.duration.total_seconds() // 60),
        }

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            appointment = services.reschedule_appointment(
                appointment=self.appointment,
                doctor=data["doctor"],
                start=data["start"],
                end=data["end"],
                by=self.request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error, FIELD_MAP)
            return self.form_invalid(form)
        messages.success(self.request, f"Rescheduled: {appointment}.")
        return HttpResponseRedirect(appointment.get_absolute_url())


class FreeSlotsView(Permitted, TemplateView):
    permission_required = "scheduling.view_appointment"
    template_name = "scheduling/slots.html"

    def load(self, **kwargs):
        patient_id = _id_param(self.request, "patient")
        self.patient = get_object_or_404(Patient, pk=patient_id, is_archived=False) if patient_id else None

    def get_context_data(self, **kwargs):
        patient = self.patient
        form = SlotSearchForm(self.request.GET or None)
        slots = None
        if form.is_valid():
            data = form.cleaned_data
            slots = free_slots(
                doctor=data["doctor"],
                specialty=data["specialty"],
                start_from=form.start_from(),
                length=timedelta(minutes=data["minutes"]) if data["minutes"] else None,
                patient=patient,
                limit=20,
            )
        return super().get_context_data(form=form, slots=slots, patient=patient, **kwargs)
