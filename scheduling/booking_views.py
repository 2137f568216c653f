"""Booking and rescheduling: finding the patient, the free times to offer, the form that saves.

The slot chosen on the calendar (doctor, date, time, length in the query string) travels with the
patient search and the registration of a new patient, so it is still there when the patient is chosen.
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView, View

from clinic.audit import Action, RecordsAccess, record
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted
from patients.forms import PatientSearchForm
from patients.models import Patient

from . import services
from .forms import FIELD_MAP, BookingForm, RescheduleForm, SlotSearchForm, with_offered_slot
from .models import Appointment
from .queries import next_appointments
from .slots import free_slots, nearest_free_slots
from .views import _AppointmentFormView, _id_param, _safe_next

SLOT_PARAMS = ("doctor", "date", "time", "minutes")


def slot_in_url(request):
    """The slot asked for in the query string (doctor, date, time, length), as far as it is given."""
    return {key: request.GET[key][:20] for key in SLOT_PARAMS if request.GET.get(key)}


FREE_TIMES_SHOWN = 8  # of the chosen doctor
OTHERS_SHOWN = 4  # of other doctors of the same specialty
SEARCH_RESULTS = 20


def _asked(form, name):
    """What the form says for `name` so far (posted, or given in the URL), or None when it cannot be read."""
    try:
        return form.fields[name].clean(form[name].value())
    except ValidationError:
        return None


def by_day(slots):
    """Slots grouped by their clinic-local day, in order: [{"day": date, "slots": [...]}]."""
    days = []
    for slot in slots:
        day = slot.local_start.date()
        if not days or days[-1]["day"] != day:
            days.append({"day": day, "slots": []})
        days[-1]["slots"].append(slot)
    return days


class OffersFreeTimes:
    """Booking and rescheduling show the chosen doctor's next free times (and those of other doctors of
    the specialty) and, after a clash, the free times nearest the one asked for: each a button that
    books it in one click (scheduling.forms.with_offered_slot)."""

    moving = None  # the appointment being moved: its own time does not count as busy
    alternatives = ()

    def for_patient(self):
        raise NotImplementedError

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if "data" in kwargs:
            kwargs["data"] = with_offered_slot(kwargs["data"])
        return kwargs

    def refused(self, form, error):
        """The service said no (a clash, outside the doctor's hours): the message by its field, and the
        nearest free times instead."""
        add_service_errors(form, error, FIELD_MAP)
        data = form.cleaned_data
        self.alternatives = nearest_free_slots(
            doctor=data["doctor"],
            around=data["start"],
            length=data["end"] - data["start"],
            patient=self.for_patient(),
            ignore=self.moving,
        )
        self.alternatives = by_day([slot for slot in self.alternatives if self.new(slot)])
        return self.form_invalid(form)

    def free_times(self, form):
        doctor = _asked(form, "doctor")
        if doctor is None:
            return None
        day, minutes = _asked(form, "date"), _asked(form, "minutes")
        start_from = timezone.now()
        if day is not None and day > timezone.localdate():
            start_from = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        search = {
            "start_from": start_from,
            "length": timedelta(minutes=minutes) if minutes else None,
            "patient": self.for_patient(),
            "ignore": self.moving,
        }
        mine = [slot for slot in free_slots(doctor=doctor, limit=FREE_TIMES_SHOWN + 1, **search) if self.new(slot)]
        colleagues = free_slots(specialty=doctor.specialty, limit=FREE_TIMES_SHOWN + OTHERS_SHOWN, **search)
        return {
            "doctor": doctor,
            "days": by_day(mine[:FREE_TIMES_SHOWN]),
            "others": [slot for slot in colleagues if slot.doctor != doctor][:OTHERS_SHOWN],
            "more_url": reverse("scheduling:slots")
            + "?"
            + urlencode(
                {"doctor": doctor.pk, "patient": self.for_patient().pk, "date": timezone.localdate(start_from)}
            ),
        }

    def new(self, slot):
        """Not the time the appointment being moved already has."""
        moving = self.moving
        return moving is None or (slot.doctor.pk, slot.start) != (moving.doctor_id, moving.start)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context["free_times"] = self.free_times(form)
        context["alternatives"] = self.alternatives
        return context


class BookAppointmentView(OncePerSubmission, OffersFreeTimes, Permitted, RecordsAccess, FormView):
    """Book: find (or register) the patient, keeping the slot asked for, then confirm doctor and time."""

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

    def for_patient(self):
        return self.patient

    def slot_params(self):
        """The slot asked for so far (from the calendar's "+", a free-slot link), kept through the search."""
        return slot_in_url(self.request)

    def get_initial(self):
        return self.slot_params()

    def get_context_data(self, **kwargs):
        slot = self.slot_params()
        without_patient = reverse("scheduling:book") + (f"?{urlencode(slot)}" if slot else "")
        if self.patient is not None:
            return super().get_context_data(patient=self.patient, change_patient_url=without_patient, **kwargs)
        # Booking needs a patient: find them here first; the slot asked for waits in the links.
        context = FormView.get_context_data(self, **kwargs)
        search = PatientSearchForm(self.request.GET if "q" in self.request.GET else None)
        context.update(
            search_form=search,
            slot=slot,
            slot_query=urlencode(slot),
            asked=self.asked_slot(),
            register_url=reverse("patients:create") + "?" + urlencode({"next": without_patient}),
        )
        if search.is_valid() and search.cleaned_data["q"]:
            found = list(Patient.objects.current().search(search.cleaned_data["q"])[:SEARCH_RESULTS])
            upcoming = next_appointments([patient.pk for patient in found])
            today = timezone.localdate()
            context["results"] = [
                {"patient": patient, "age": patient.age_on(today), "next": upcoming.get(patient.pk)}
                for patient in found
            ]
        return context

    def asked_slot(self):
        """Doctor, start and end of the slot asked for, when the URL names a whole one."""
        form = BookingForm(self.slot_params())
        return form.cleaned_data if form.is_valid() else None

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
            return self.refused(form, error)
        messages.success(self.request, f"Booked: {appointment}.")
        return HttpResponseRedirect(appointment.get_absolute_url())


class UndoBookingView(OncePerSubmission, Permitted, View):
    """Take back a booking just made (scheduling.services.undo_booking), and book again from there."""

    permission_required = "scheduling.add_appointment"
    http_method_names = ["post"]

    def load(self, *, pk, **kwargs):
        self.appointment = get_object_or_404(Appointment.objects.with_people(), pk=pk)

    def post(self, request, pk):
        appointment = self.appointment
        try:
            services.undo_booking(appointment=appointment, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(appointment.get_absolute_url())
        messages.success(request, f"Booking undone: {appointment}. The time is free again.")
        again = {
            "patient": appointment.patient_id,
            "doctor": appointment.doctor_id,
            "date": appointment.local_start.date().isoformat(),
        }
        return HttpResponseRedirect(_safe_next(request, reverse("scheduling:book") + "?" + urlencode(again)))


class RescheduleView(OffersFreeTimes, _AppointmentFormView):
    permission_required = "scheduling.change_appointment"
    form_class = RescheduleForm
    template_name = "scheduling/reschedule.html"

    def load(self, **kwargs):
        super().load(**kwargs)
        self.moving = self.appointment

    def for_patient(self):
        return self.appointment.patient

    def get_initial(self):
        a = self.appointment
        initial = {
            "doctor": a.doctor_id,
            "date": a.local_start.date(),
            "time": a.local_start.time(),
            "minutes": int(a.duration.total_seconds() // 60),
        }
        # Another doctor or day asked for (the free times refreshed as the form changes).
        initial.update(slot_in_url(self.request))
        return initial

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
            return self.refused(form, error)
        messages.success(self.request, f"Rescheduled: {appointment}.")
        return HttpResponseRedirect(appointment.get_absolute_url())


class FreeSlotsView(Permitted, TemplateView):
    """The next free slots of a doctor or a specialty, 20 at a time ("Show more"), then the next days."""

    permission_required = "scheduling.view_appointment"
    template_name = "scheduling/slots.html"
    page_size = 20

    def load(self, **kwargs):
        patient_id = _id_param(self.request, "patient")
        self.patient = get_object_or_404(Patient, pk=patient_id, is_archived=False) if patient_id else None

    def get_context_data(self, **kwargs):
        patient = self.patient
        form = SlotSearchForm(self.request.GET or None)
        context = {"form": form, "slots": None, "patient": patient}
        if form.is_valid():
            data = form.cleaned_data
            shown = self.page_size * (data["pages"] or 1)
            slots = free_slots(
                doctor=data["doctor"],
                specialty=data["specialty"],
                start_from=form.start_from(),
                days=SlotSearchForm.DAYS,
                length=timedelta(minutes=data["minutes"]) if data["minutes"] else None,
                patient=patient,
                limit=shown + 1,  # one more tells whether there are more
            )
            context["slots"] = slots[:shown]
            query = self.request.GET.copy()
            if len(slots) > shown and (data["pages"] or 1) < SlotSearchForm.MAX_PAGES:
                query["pages"] = (data["pages"] or 1) + 1
                context["more_url"] = "?" + query.urlencode()
            last_day = timezone.localdate(context["slots"][-1].start) if context["slots"] else None
            following = last_day or timezone.localdate(form.start_from()) + timedelta(days=SlotSearchForm.DAYS - 1)
            query.pop("pages", None)
            query["date"] = (following + timedelta(days=1)).isoformat()
            context["later_url"] = "?" + query.urlencode()
        return super().get_context_data(**context, **kwargs)
