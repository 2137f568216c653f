from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import DetailView, FormView, TemplateView, View

from clinic.audit import Action, RecordsAccess, record
from clinic.background import in_background
from clinic.contributions import Slot
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.lifecycle import allowed_next
from clinic.permissions import Permitted
from staff.models import Doctor

from . import services
from .calendar import day_calendar, reception_board, week_calendar
from .forms import CancelForm, DayForm
from .models import Appointment
from .series import repeat_url, series_summary


def _id_param(request, name):
    """An id from the query string or form; anything that is not a number is a 404."""
    value = request.POST.get(name) or request.GET.get(name)
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()):
        raise Http404(f"Unknown {name}")
    return int(value)


def _safe_next(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def board_doctors(day):
    """The doctors Today can be narrowed to: those taking appointments, and anyone with one on `day`."""
    on_day = Appointment.objects.on_day(day).values("doctor_id")
    taking = Q(is_active=True, user__is_active=True)
    return list(Doctor.objects.filter(taking | Q(pk__in=on_day)).select_related("user").distinct())


def chosen_doctor(doctors, value):
    """The doctor `?doctor=` names among `doctors`; None (everyone) for anything else."""
    return next((doctor for doctor in doctors if str(doctor.pk) == (value or "").strip()), None)


class DashboardView(Permitted, RecordsAccess, TemplateView):
    """Reception's today: who is expected (the late flagged), waiting, in consultation, done, no-show;
    everyone's or one doctor's (?doctor=<pk>, kept in the address so a reload or a refresh keeps it)."""

    audit_summary = "today's board"
    permission_required = "scheduling.view_appointment"
    template_name = "scheduling/dashboard.html"

    def record_access(self, response):
        # Which board was seen, and whether a person asked or the page refreshed itself (auto-refresh.js):
        # an open board adds an entry at each refresh, and the trail should say why there are so many.
        doctor = response.context_data["doctor"]
        summary = self.audit_summary + (f", {doctor}" if doctor else "")
        if in_background(self.request):
            summary += " (refreshed by itself)"
        record(Action.VIEW, summary=summary)

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        doctors = board_doctors(today)
        doctor = chosen_doctor(doctors, self.request.GET.get("doctor"))
        lanes = reception_board(today, doctor=doctor)
        return super().get_context_data(
            today=today,
            lanes=lanes,
            late=lanes[0].late,
            doctors=doctors,
            doctor=doctor,
            here=self.request.get_full_path(),
            refresh_seconds=settings.TODAY_REFRESH_SECONDS,
            panels=panels(TODAY_PANELS, day=today, doctor=doctor, user=self.request.user),
            **kwargs,
        )


Status = Appointment.Status


def _not_a_way_back(target):
    return lambda appointment: (appointment.status, target) not in Appointment.WAYS_BACK


def _always(appointment):
    return True


# The buttons an appointment page offers for the statuses its lifecycle allows next:
# (status it leads to, url name, label, permission, whether it may be taken now). The last asks the same
# functions the services ask, so a page never offers a step the service would refuse (a check-in on
# another day, a no-show before the start).
STEPS = [
    (Status.CHECKED_IN, "scheduling:check_in", "Check in", "scheduling.check_in_appointment", services.is_check_in_day),
    (
        Status.CONFIRMED,
        "scheduling:confirm",
        "Mark confirmed",
        "scheduling.change_appointment",
        _not_a_way_back(Status.CONFIRMED),
    ),
    # A doctor starts the visit from the chart side: it also opens the visit's record.
    (Status.IN_PROGRESS, "clinical:visit_start", "Start consultation", "clinical.add_medicalrecord", _always),
    (Status.COMPLETED, "scheduling:complete", "Complete visit", "scheduling.start_visit_appointment", _always),
    (Status.NO_SHOW, "scheduling:no_show", "Mark no-show", "scheduling.check_in_appointment", services.has_started),
]


def can_undo_check_in(appointment, user):
    return appointment.status == Status.CHECKED_IN and user.has_perm("scheduling.check_in_appointment")


def next_steps(appointment, user):
    """The status steps this user may take on this appointment now (buttons that POST)."""
    allowed = allowed_next(appointment)
    steps = [
        {"url": reverse(name, args=[appointment.pk]), "label": label}
        for status, name, label, permission, may in STEPS
        if status in allowed and user.has_perm(permission) and may(appointment)
    ]
    if appointment.status == Status.IN_PROGRESS and user.has_perm("clinical.add_medicalrecord"):
        steps.insert(0, {"url": reverse("clinical:visit_record", args=[appointment.pk]), "label": "Chart this visit"})
    if user.has_perm("scheduling.add_appointment") and services.can_undo_booking(appointment, user):
        steps.append(
            {"url": reverse("scheduling:undo_booking", args=[appointment.pk]), "label": "Undo booking", "undo": True}
        )
    if can_undo_check_in(appointment, user):
        # Last and never the primary button: a correction, not the way forward.
        steps.append(
            {"url": reverse("scheduling:undo_check_in", args=[appointment.pk]), "label": "Undo check-in", "undo": True}
        )
    return steps


def next_links(appointment, user):
    """The pages this user may go on to from this appointment (plain links)."""
    links = []
    if appointment.status in Appointment.RESCHEDULABLE and user.has_perm("scheduling.change_appointment"):
        links.append({"url": reverse("scheduling:reschedule", args=[appointment.pk]), "label": "Reschedule"})
    if appointment.is_active and user.has_perm("clinical.record_vitals_medicalrecord"):
        links.append({"url": reverse("clinical:vitals", args=[appointment.pk]), "label": "Record vital signs"})
    if user.has_perm("clinical.view_medicalrecord"):
        links.append({"url": reverse("clinical:chart", args=[appointment.patient_id]), "label": "Open chart"})
    if Status.CANCELLED in allowed_next(appointment) and user.has_perm("scheduling.cancel_appointment"):
        links.append({"url": reverse("scheduling:cancel", args=[appointment.pk]), "label": "Cancel appointment"})
    return links


# What higher apps show on an appointment's page (finance: the visit's charges), as template context.
APPOINTMENT_PAGE = Slot("an appointment's page: context from appointment=, user=")
# Whole sections higher apps add to an appointment's page and to Today (the waitlist's candidates for a freed
# time, reminders sent): each provider returns a list of panels, each a dict with the "template" to include
# and what that template shows; the page includes them in order with `panel` set.
APPOINTMENT_PANELS = Slot("sections on an appointment's page: a list of panels from appointment=, user=")
TODAY_PANELS = Slot("sections on Today: a list of panels from day=, doctor=, user=")


def panels(slot, **kwargs):
    """The panels every provider of `slot` returned, in registration order."""
    return [panel for part in slot.collect(**kwargs) for panel in (part or ())]


class AppointmentDetailView(Permitted, RecordsAccess, DetailView):
    permission_required = "scheduling.view_appointment"
    template_name = "scheduling/appointment_detail.html"

    def load(self, *, pk, **kwargs):
        queryset = Appointment.objects.with_people().select_related(
            "booked_by", "cancelled_by", "checked_in_by", "series__created_by"
        )
        self.object = get_object_or_404(queryset, pk=pk)

    def get_object(self, queryset=None):
        return self.object

    @staticmethod
    def may_repeat(appointment, user):
        return (
            appointment.series_id is None
            and not appointment.patient.is_archived
            and user.has_perm("scheduling.add_appointment")
        )

    def get_context_data(self, **kwargs):
        appointment, user = self.object, self.request.user
        extra = APPOINTMENT_PAGE.context(appointment=appointment, user=user)
        return super().get_context_data(
            steps=next_steps(appointment, user),
            links=next_links(appointment, user),
            panels=panels(APPOINTMENT_PANELS, appointment=appointment, user=user),
            series=series_summary(appointment, user),
            repeat_url=repeat_url(appointment) if self.may_repeat(appointment, user) else None,
            **extra,
            **kwargs,
        )


class _AppointmentFormView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    def load(self, *, pk, **kwargs):
        self.appointment = get_object_or_404(Appointment.objects.with_people(), pk=pk)

    def audit_object(self):
        return self.appointment

    def get_context_data(self, **kwargs):
        return super().get_context_data(appointment=self.appointment, **kwargs)


class CancelView(_AppointmentFormView):
    permission_required = "scheduling.cancel_appointment"
    form_class = CancelForm
    template_name = "scheduling/cancel.html"

    def form_valid(self, form):
        try:
            services.cancel_appointment(
                appointment=self.appointment, reason=form.cleaned_data["reason"], by=self.request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "The appointment is cancelled; its time is free again.")
        return HttpResponseRedirect(self.appointment.get_absolute_url())


class _AppointmentStepView(OncePerSubmission, Permitted, View):
    """One status step from a button (a POST): the view names the service that takes it."""

    http_method_names = ["post"]
    done = ""  # what the message says happened

    def load(self, *, pk, **kwargs):
        self.appointment = get_object_or_404(Appointment.objects.with_people(), pk=pk)

    def post(self, request, pk):
        appointment = self.appointment
        try:
            self.act(appointment, request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, self.success_message(appointment))
        return HttpResponseRedirect(_safe_next(request, appointment.get_absolute_url()))

    def success_message(self, appointment):
        return f"{appointment.patient.full_name}: {self.done}."


class ConfirmView(_AppointmentStepView):
    permission_required = "scheduling.change_appointment"
    done = "confirmed"

    def act(self, appointment, by):
        services.confirm_appointment(appointment=appointment, by=by)


class CheckInView(_AppointmentStepView):
    permission_required = "scheduling.check_in_appointment"
    done = "checked in"

    def act(self, appointment, by):
        services.check_in(appointment=appointment, by=by)

    def success_message(self, appointment):
        """The message carries its own "Undo" button (a one-time form back to where the check-in was made):
        a check-in of the wrong patient is put right in one click, where the eye already is."""
        text = super().success_message(appointment)
        if not can_undo_check_in(appointment, self.request.user):
            return text
        context = {"text": text, "appointment": appointment, "back": _safe_next(self.request, "")}
        # Rendered now, kept safe by the message storage, shown once on the next page.
        return render_to_string("scheduling/_undo_check_in.html", context, request=self.request)


class UndoCheckInView(_AppointmentStepView):
    """Take a check-in back (the wrong patient, or too early), while the visit has not started."""

    permission_required = "scheduling.check_in_appointment"

    def act(self, appointment, by):
        services.undo_check_in(appointment=appointment, by=by)

    def success_message(self, appointment):
        back = "confirmed" if appointment.status == Status.CONFIRMED else "scheduled"
        return f"{appointment.patient.full_name}: check-in undone; expected again ({back})."


class NoShowView(_AppointmentStepView):
    permission_required = "scheduling.check_in_appointment"
    done = "marked as no-show"

    def act(self, appointment, by):
        services.mark_no_show(appointment=appointment, by=by)


class StartVisitView(_AppointmentStepView):
    permission_required = "scheduling.start_visit_appointment"
    done = "consultation started"

    def act(self, appointment, by):
        services.start_visit(appointment=appointment, by=by)


# What should make a doctor stop before completing a visit (clinical: no record, an empty or unsigned
# draft): each provider returns a list of {"text", "url", "label"} from appointment=, user=.
BEFORE_COMPLETING = Slot("concerns before completing a visit: a list from appointment=, user=")


class CompleteVisitView(_AppointmentStepView):
    """Complete the visit; when its notes are missing, empty or unsigned, ask first (a page that says
    what is left, with the way to it and "Complete anyway")."""

    permission_required = "scheduling.start_visit_appointment"
    done = "visit completed"

    http_method_names = ["get", "post"]

    def concerns(self):
        found = BEFORE_COMPLETING.collect(appointment=self.appointment, user=self.request.user)
        return [concern for provider in found for concern in provider]

    def ask(self, concerns):
        # Shown, not saved: a POST's token goes back and the page carries a fresh one.
        back = _safe_next(self.request, self.appointment.get_absolute_url())
        context = {"appointment": self.appointment, "concerns": concerns, "back": back}
        return render(self.request, "scheduling/complete_confirm.html", context)

    def get(self, request, pk):
        """The question on its own page (a link, or reloading it): nothing changes."""
        return self.ask(self.concerns())

    def post(self, request, pk):
        if request.POST.get("anyway") != "1" and Status.COMPLETED in allowed_next(self.appointment):
            concerns = self.concerns()
            if concerns:
                return self.ask(concerns)
        return super().post(request, pk)

    def act(self, appointment, by):
        services.complete_visit(appointment=appointment, by=by)


class DayCalendarView(Permitted, RecordsAccess, TemplateView):
    permission_required = "scheduling.view_appointment"
    template_name = "scheduling/day.html"

    def record_access(self, response):
        record(Action.VIEW, summary=f"day calendar {response.context_data['day']:%Y-%m-%d}")

    def get_context_data(self, **kwargs):
        form = DayForm(self.request.GET or None)
        day = form.day()
        columns, rows = day_calendar(day)
        return super().get_context_data(
            form=form,
            day=day,
            columns=columns,
            rows=rows,
            previous=day - timedelta(days=1),
            following=day + timedelta(days=1),
            **kwargs,
        )


class WeekCalendarView(Permitted, RecordsAccess, TemplateView):
    permission_required = "scheduling.view_appointment"
    template_name = "scheduling/week.html"

    def record_access(self, response):
        context = response.context_data
        record(Action.VIEW, context["doctor"], summary=f"week calendar from {context['day']:%Y-%m-%d}")

    def load(self, *, doctor_pk, **kwargs):
        self.doctor = get_object_or_404(Doctor.objects.select_related("user", "specialty"), pk=doctor_pk)

    def get_context_data(self, **kwargs):
        doctor = self.doctor
        form = DayForm(self.request.GET or None)
        day = form.day()
        columns, rows = week_calendar(doctor, day)
        return super().get_context_data(
            form=form,
            doctor=doctor,
            day=day,
            columns=columns,
            rows=rows,
            previous=day - timedelta(days=7),
            following=day + timedelta(days=7),
            doctors=Doctor.objects.active().select_related("user"),
            **kwargs,
        )
