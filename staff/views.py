from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import CreateView, ListView, TemplateView, UpdateView, View

from clinic.idempotency import OncePerSubmission
from clinic.permissions import Permitted

from . import services
from .forms import (
    DoctorForm,
    DoctorSearchForm,
    StaffSearchForm,
    StaffUserCreateForm,
    StaffUserForm,
    WorkingHoursFormSet,
)
from .models import Doctor, User
from .roles import ALL_ROLES, DOCTOR


def searched_staff(users, data):
    """The staff page's search (StaffSearchForm's cleaned data), which the API's list uses too: active
    accounts unless asked, a role, every word in a name, the username or the email."""
    if not data["inactive"]:
        users = users.filter(is_active=True)
    if data["role"]:
        users = users.filter(groups=data["role"])
    for word in data["q"].split():
        users = users.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
        )
    return users


class StaffListView(Permitted, ListView):
    permission_required = "staff.view_user"
    template_name = "staff/staff_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.form = StaffSearchForm(self.request.GET or None)
        users = User.objects.prefetch_related("groups").select_related("doctor__specialty")
        if not self.form.is_valid():
            return users.filter(is_active=True)
        return searched_staff(users, self.form.cleaned_data)

    def get_context_data(self, **kwargs):
        return super().get_context_data(form=self.form, roles=ALL_ROLES, **kwargs)


class _AccountFormMixin:
    """Saves through staff.services; a refusal there (a username taken meanwhile) shows on the form."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "editor": self.request.user}

    def form_valid(self, form):
        try:
            with transaction.atomic():
                self.object = self.save_account(form)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message % {"account": self.object})
        return HttpResponseRedirect(self.get_success_url())


class StaffCreateView(OncePerSubmission, Permitted, _AccountFormMixin, CreateView):
    permission_required = "staff.add_user"
    form_class = StaffUserCreateForm
    template_name = "staff/staff_form.html"
    success_message = "Account %(account)s created. Its owner chooses their own password at their first sign-in."

    def save_account(self, form):
        return services.create_account(form.save(commit=False), roles=form.chosen_groups(), by=self.request.user)

    def get_success_url(self):
        if self.object.groups.filter(name=DOCTOR).exists():
            return reverse("staff:doctor_profile", args=[self.object.pk])
        return reverse("staff:list")


class StaffUpdateView(OncePerSubmission, Permitted, _AccountFormMixin, UpdateView):
    permission_required = "staff.change_user"
    form_class = StaffUserForm
    template_name = "staff/staff_form.html"
    success_message = "%(account)s saved."

    def load(self, *, pk, **kwargs):
        self.account = get_object_or_404(User, pk=pk)

    def get_object(self, queryset=None):
        return self.account

    def save_account(self, form):
        roles = None if form.fields["roles"].disabled else form.chosen_groups()
        return services.save_account(form.save(commit=False), roles=roles, by=self.request.user)

    def get_success_url(self):
        return reverse("staff:list")


class StaffActivationView(OncePerSubmission, Permitted, View):
    """Deactivate or reactivate: accounts are never deleted, their history must keep its author."""

    permission_required = "staff.deactivate_user"
    http_method_names = ["post"]
    activate = False

    def load(self, *, pk, **kwargs):
        self.account = get_object_or_404(User, pk=pk)

    def post(self, request, pk):
        user = self.account
        try:
            services.set_active(user, self.activate, by=request.user)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{user} {'reactivated' if self.activate else 'deactivated'}.")
        return HttpResponseRedirect(reverse("staff:list"))


class DoctorProfileView(OncePerSubmission, Permitted, TemplateView):
    """A doctor's profile and weekly working hours, edited together."""

    permission_required = "staff.change_doctor"
    template_name = "staff/doctor_profile.html"

    def load(self, *, pk, **kwargs):
        self.user_obj = get_object_or_404(User, pk=pk)
        self.doctor = Doctor.objects.filter(user=self.user_obj).first() or Doctor(user=self.user_obj)

    def get_forms(self):
        data = self.request.POST if self.request.method == "POST" else None
        return DoctorForm(data, instance=self.doctor), WorkingHoursFormSet(data, instance=self.doctor, prefix="hours")

    def get(self, request, *args, **kwargs):
        form, hours = self.get_forms()
        return self.render_to_response(self.get_context_data(form=form, hours=hours))

    def post(self, request, *args, **kwargs):
        form, hours = self.get_forms()
        if form.is_valid() and hours.is_valid():
            changed_hours = hours.save(commit=False)
            doctor = services.save_doctor_profile(
                doctor=form.save(commit=False), hours=changed_hours, removed_hours=hours.deleted_objects
            )
            messages.success(request, f"{doctor}'s profile and hours saved.")
            return HttpResponseRedirect(reverse("staff:doctors"))
        return self.render_to_response(self.get_context_data(form=form, hours=hours))

    def get_context_data(self, **kwargs):
        return super().get_context_data(staff_user=self.user_obj, doctor=self.doctor, **kwargs)


class DoctorListView(Permitted, ListView):
    permission_required = "staff.view_doctor"
    template_name = "staff/doctor_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.form = DoctorSearchForm(self.request.GET or None)
        doctors = Doctor.objects.active().select_related("user", "specialty").prefetch_related("working_hours")
        if self.form.is_valid():
            doctors = doctors.search(self.form.cleaned_data["q"])
        return doctors

    def get_context_data(self, **kwargs):
        return super().get_context_data(form=self.form, **kwargs)
