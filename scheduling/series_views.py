"""Booking a series, and moving or cancelling several of its appointments from one of them.

Each writing page has two steps on one URL: the form, then the list of occurrences each checked (clashes
named, with "Skip" or another time that day), then the save. The form's values travel in hidden fields of
the list (not the session: two tabs do not mix), are checked again on saving, and the list is built again
from them; a time taken in between is named and nothing is saved (scheduling/series.py)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.views.generic import FormView

from clinic.audit import Action, RecordsAccess, record
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted
from patients.forms import PatientSearchForm
from patients.models import Patient

from . import series as series_services
from .booking_views import SEARCH_RESULTS, slot_in_url
from .models import Appointment
from .series import ALL, FOLLOWING, THIS, OccurrenceRefused
from .series_forms import ChoicesForm, SeriesCancelForm, SeriesForm, SeriesMoveForm
from .views import _id_param

PREVIEW, SAVE, EDIT = "preview", "save", "edit"


def _step(request):
    return request.POST.get("step") if request.method == "POST" else None


class _ListsThenSaves:
    """The shared two steps: `plan(form)` lists the occurrences, `save(form, chosen)` saves those chosen."""

    def form_valid(self, form):
        step = _step(self.request)
        if step == EDIT:
            return self.render_to_response(self.get_context_data(form=form))
        occurrences = self.plan(form)
        if step != SAVE:
            return self.show_list(form, ChoicesForm(occurrences=occurrences))
        choices = ChoicesForm(self.request.POST, occurrences=occurrences)
        if not choices.is_valid():
            return self.show_list(form, choices)
        try:
            return self.book_chosen(form, choices.chosen())
        except OccurrenceRefused as refused:
            # Nothing was saved: the list again, as it is now, saying which one was refused.
            return self.show_list(form, ChoicesForm(occurrences=self.plan(form)), refusal=str(refused))
        except ValidationError as error:
            return self.show_list(form, ChoicesForm(occurrences=self.plan(form)), refusal=" ".join(error.messages))

    def show_list(self, form, choices, refusal=""):
        context = self.get_context_data(
            form=form, choices=choices, rows=choices.rows(), saving=choices.count(), refusal=refusal
        )
        context["clashes"] = sum(1 for occurrence in choices.occurrences if occurrence.problem)
        return self.render_to_response(context)


class SeriesBookView(_ListsThenSaves, OncePerSubmission, Permitted, RecordsAccess, FormView):
    """Book a series for a patient (?patient=<pk>; found here first when not given)."""

    permission_required = "scheduling.add_appointment"
    form_class = SeriesForm
    template_name = "scheduling/series_book.html"

    def load(self, **kwargs):
        patient_id = _id_param(self.request, "patient")
        self.patient = get_object_or_404(Patient, pk=patient_id, is_archived=False) if patient_id else None

    def record_access(self, response):
        if self.patient is not None:
            record(Action.VIEW, self.patient, summary="booking a series")
        elif "results" in response.context_data:
            query = response.context_data["search_form"].cleaned_data["q"]
            found = len(response.context_data["results"])
            record(Action.SEARCH, summary=f'series booking: patients "{query}", {found} shown')

    def get_initial(self):
        return {"unit": "weeks", "interval": 1, **slot_in_url(self.request)}

    def post(self, request, *args, **kwargs):
        if self.patient is None:
            raise Http404("Choose a patient first")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(patient=self.patient, **kwargs)
        if self.patient is None:
            search = PatientSearchForm(self.request.GET if "q" in self.request.GET else None)
            context["search_form"] = search
            if search.is_valid() and search.cleaned_data["q"]:
                context["results"] = list(Patient.objects.current().search(search.cleaned_data["q"])[:SEARCH_RESULTS])
        return context

    def plan(self, form):
        data = form.cleaned_data
        return series_services.plan_series(
            patient=self.patient,
            doctor=series_services.load_doctor(data["doctor"].pk),
            first_start=data["start"],
            length=data["length"],
            rule=data["rule"],
        )

    def book_chosen(self, form, chosen):
        data = form.cleaned_data
        _, booked = series_services.book_series(
            patient=self.patient,
            doctor=data["doctor"],
            first_start=data["start"],
            length=data["length"],
            rule=data["rule"],
            reason=data["reason"],
            chosen=chosen,
            booked_by=self.request.user,
        )
        messages.success(
            self.request,
            f"Booked {len(booked)} appointment{pluralize(len(booked))} for {self.patient.full_name} "
            f"with {data['doctor']}.",
        )
        return HttpResponseRedirect(booked[0].get_absolute_url())


class _OccurrenceView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    """A page about one appointment of a series (404 for one booked on its own)."""

    def load(self, *, pk, **kwargs):
        self.appointment = get_object_or_404(Appointment.objects.with_people().select_related("series"), pk=pk)
        if self.appointment.series_id is None:
            raise Http404("This appointment is not part of a series")
        self.siblings = series_services.series_appointments(self.appointment.series_id)

    def audit_object(self):
        return self.appointment

    def counts(self):
        """How many each scope would change, for the choice's labels."""
        return {
            scope: len(series_services.in_scope(self.appointment, scope, self.siblings)[0])
            for scope in (THIS, FOLLOWING, ALL)
        }

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "counts": self.counts()}

    def get_context_data(self, **kwargs):
        form = kwargs.get("form")
        scope = form.initial.get("scope", THIS) if form is not None else THIS
        if form is not None and form.is_bound:
            scope = form.cleaned_data.get("scope", THIS) if form.is_valid() else THIS
        _, left = series_services.in_scope(self.appointment, scope, self.siblings)
        return super().get_context_data(
            appointment=self.appointment, series=self.appointment.series, left=left, **kwargs
        )


class SeriesMoveView(_ListsThenSaves, _OccurrenceView):
    """Move this appointment, this and the following ones, or the whole series, by the same change of time."""

    permission_required = "scheduling.change_appointment"
    form_class = SeriesMoveForm
    template_name = "scheduling/series_move.html"

    def get_initial(self):
        local = self.appointment.local_start
        return {"scope": FOLLOWING, "doctor": self.appointment.doctor_id, "date": local.date(), "time": local.time()}

    def plan(self, form):
        data = form.cleaned_data
        occurrences, self.left = series_services.plan_move(
            appointment=self.appointment,
            scope=data["scope"],
            new_start=data["start"],
            doctor=series_services.load_doctor(data["doctor"].pk),
            siblings=self.siblings,
        )
        return occurrences

    def book_chosen(self, form, chosen):
        moved = series_services.move_series(doctor=form.cleaned_data["doctor"], chosen=chosen, by=self.request.user)
        messages.success(self.request, f"Moved {len(moved)} appointment{pluralize(len(moved))}.")
        return HttpResponseRedirect(self.appointment.get_absolute_url())


class SeriesCancelView(_OccurrenceView):
    """Cancel this appointment, this and the following ones, or the whole series, with one reason."""

    permission_required = "scheduling.cancel_appointment"
    form_class = SeriesCancelForm
    template_name = "scheduling/series_cancel.html"

    def get_initial(self):
        # A patient who phones to cancel usually means one visit: cancelling more is a choice made on purpose.
        return {"scope": THIS}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            cancelled, left = series_services.cancel_series(
                appointment=self.appointment, scope=data["scope"], reason=data["reason"], by=self.request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        freed = "its time is" if len(cancelled) == 1 else "their times are"
        text = f"Cancelled {len(cancelled)} appointment{pluralize(len(cancelled))}; {freed} free again."
        if left:
            text += f" {len(left)} left as they were (begun, checked in, completed or cancelled)."
        messages.success(self.request, text)
        return HttpResponseRedirect(self.appointment.get_absolute_url())
