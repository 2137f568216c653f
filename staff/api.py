"""The staff API (/api/v1/): specialties and doctors with their working hours (everyone who may see the
doctors page), and staff accounts (administrators). Every write goes through staff.services with the
page's own form checking what was sent (clinic.api.checked_by_form): the same password validators,
the same username rules, and nobody changes their own roles or deactivates themselves."""

import django_filters
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinic.api import IDEMPOTENCY_KEY, Endpoint, checked_by_form, done_once, problem_responses
from clinic.api_policy import Cursor

from . import services
from .forms import DoctorSearchForm, StaffSearchForm, StaffUserCreateForm, StaffUserForm
from .models import Doctor, Specialty, User, WorkingHours
from .roles import ALL_ROLES
from .views import searched_staff

# --- specialties and doctors --------------------------------------------------------------------------


class SpecialtySerializer(serializers.ModelSerializer):
    class Meta:
        model = Specialty
        fields = ["id", "name"]


class WorkingHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkingHours
        fields = ["weekday", "start_time", "end_time"]
        extra_kwargs = {"weekday": {"help_text": "0 Monday … 6 Sunday; times are the clinic's local wall times."}}


class DoctorSerializer(serializers.ModelSerializer):
    """A doctor taking appointments. `consultation_fee` is null for a caller who takes no payments (as
    on the doctors page)."""

    name = serializers.CharField(source="__str__", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    specialty = SpecialtySerializer(read_only=True)
    working_hours = WorkingHoursSerializer(many=True, read_only=True)
    consultation_fee = serializers.SerializerMethodField()

    class Meta:
        model = Doctor
        fields = [
            "id",
            "name",
            "first_name",
            "last_name",
            "specialty",
            "phone",
            "consultation_minutes",
            "consultation_fee",
            "working_hours",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_consultation_fee(self, doctor):
        request = self.context.get("request")
        if not (request and request.user.has_perm("finance.add_payment")):
            return None
        return serializers.DecimalField(max_digits=10, decimal_places=2).to_representation(doctor.consultation_fee)


@extend_schema_view(
    list=extend_schema(summary="Specialties", responses={200: SpecialtySerializer(many=True), **problem_responses()}),
    retrieve=extend_schema(summary="A specialty", responses={200: SpecialtySerializer, **problem_responses(404)}),
)
class SpecialtyViewSet(Endpoint, viewsets.ReadOnlyModelViewSet):
    serializer_class = SpecialtySerializer
    queryset = Specialty.objects.all()
    filter_backends = []
    # The doctors page names each doctor's specialty to everyone who may see it.
    action_permissions = {"list": "staff.view_doctor", "retrieve": "staff.view_doctor"}

    class pagination_class(Cursor):  # noqa: N801 - DRF's attribute name
        ordering = "name"


class DoctorFilter(django_filters.FilterSet):
    specialty = django_filters.ModelChoiceFilter(queryset=Specialty.objects.all(), help_text="A specialty's id.")
    q = django_filters.CharFilter(
        method="search", max_length=100, help_text="Name or specialty, as on the doctors page."
    )

    class Meta:
        model = Doctor
        fields = ["specialty", "q"]

    def search(self, queryset, name, value):
        form = checked_by_form(DoctorSearchForm, {"q": value})
        return queryset.search(form.cleaned_data["q"])


@extend_schema_view(
    list=extend_schema(
        summary="Doctors taking appointments, with their hours",
        responses={200: DoctorSerializer(many=True), **problem_responses(400)},
    ),
    retrieve=extend_schema(summary="A doctor", responses={200: DoctorSerializer, **problem_responses(404)}),
)
class DoctorViewSet(Endpoint, viewsets.ReadOnlyModelViewSet):
    serializer_class = DoctorSerializer
    filterset_class = DoctorFilter
    action_permissions = {"list": "staff.view_doctor", "retrieve": "staff.view_doctor"}

    class pagination_class(Cursor):  # noqa: N801 - DRF's attribute name
        ordering = ("user__last_name", "id")

    def get_queryset(self):
        # The doctors page's own list: active doctors only.
        return Doctor.objects.active().select_related("user", "specialty").prefetch_related("working_hours")


# --- staff accounts (administrators) ------------------------------------------------------------------


class RolesField(serializers.ListField):
    child = serializers.ChoiceField(choices=ALL_ROLES)


class AccountSerializer(serializers.ModelSerializer):
    # Text, not format "email": an account may have none ("").
    email = serializers.CharField(read_only=True, help_text="The e-mail address, or empty.")
    roles = serializers.SerializerMethodField()
    doctor = serializers.SerializerMethodField(help_text="The doctor profile's id, for a doctor who has one.")

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "roles",
            "is_active",
            "must_change_password",
            "doctor",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ALL_ROLES)))
    def get_roles(self, user):
        return sorted(group.name for group in user.groups.all() if group.name in ALL_ROLES)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_doctor(self, user):
        doctor = getattr(user, "doctor", None)
        return doctor.pk if doctor is not None else None


class AccountWriteSerializer(serializers.Serializer):
    """What an administrator sends: the page's fields, roles by name."""

    username = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    roles = RolesField(required=False, help_text="Role names; on an update, left as they are when not sent.")


class AccountCreateSerializer(AccountWriteSerializer):
    password = serializers.CharField(
        write_only=True,
        style={"input_type": "password"},
        help_text="A first password, checked by the clinic's password rules; its owner replaces it at their "
        "first sign-in.",
    )


class AccountUpdateSerializer(AccountWriteSerializer):
    pass


def _role_ids(names):
    """Group ids of role names (already checked against the roles by the serializer)."""
    return list(Group.objects.filter(name__in=set(names) & set(ALL_ROLES)).values_list("pk", flat=True))


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="noop", max_length=100, help_text="Username, name or e-mail words.")
    role = django_filters.ChoiceFilter(method="noop", choices=[(r, r) for r in ALL_ROLES], help_text="A role's name.")
    inactive = django_filters.BooleanFilter(method="noop", help_text="Include deactivated accounts.")

    class Meta:
        model = User
        fields = ["q", "role", "inactive"]

    def noop(self, queryset, name, value):
        return queryset  # the view narrows through the page's own search form


def _account_response(request, user, status_code=status.HTTP_200_OK):
    user = _accounts().get(pk=user.pk)
    location = reverse("staff_api:account-detail", kwargs={"pk": user.pk})
    return Response(AccountSerializer(user).data, status=status_code, headers={"Location": location})


def _accounts():
    return User.objects.prefetch_related("groups").select_related("doctor")


@extend_schema_view(
    list=extend_schema(
        summary="Staff accounts", responses={200: AccountSerializer(many=True), **problem_responses(400)}
    ),
    retrieve=extend_schema(summary="A staff account", responses={200: AccountSerializer, **problem_responses(404)}),
)
class AccountViewSet(Endpoint, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    action_permissions = {
        "list": "staff.view_user",
        "retrieve": "staff.view_user",
        "create": "staff.add_user",
        "update": "staff.change_user",
        "partial_update": "staff.change_user",
        "deactivate": "staff.deactivate_user",
        "reactivate": "staff.deactivate_user",
    }

    class pagination_class(Cursor):  # noqa: N801 - DRF's attribute name
        ordering = "username"

    def get_queryset(self):
        users = _accounts()
        if self.action != "list":
            return users
        # The staff page's own search: active accounts unless asked, a role, words in names.
        form = checked_by_form(StaffSearchForm, self._search_data())
        users = searched_staff(users, form.cleaned_data)
        return users.distinct() if form.cleaned_data["role"] else users

    def _search_data(self):
        params = self.request.query_params
        data = {"q": params.get("q", ""), "inactive": params.get("inactive", "").lower() in ("true", "1")}
        if params.get("role"):
            group = Group.objects.filter(name=params["role"], name__in=ALL_ROLES).first()
            data["role"] = group.pk if group else "unknown"
        return data

    @extend_schema(
        summary="Create a staff account",
        request=AccountCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AccountSerializer, **problem_responses(400)},
    )
    def create(self, request):
        def make():
            sent = AccountCreateSerializer(data=request.data)
            sent.is_valid(raise_exception=True)
            data = dict(sent.validated_data)
            password = data.pop("password")
            data["roles"] = _role_ids(data.get("roles") or [])
            form = checked_by_form(
                StaffUserCreateForm,
                {**data, "password1": password, "password2": password},
                editor=request.user,
            )
            user = services.create_account(form.save(commit=False), roles=form.chosen_groups(), by=request.user)
            return _account_response(request, user, status.HTTP_201_CREATED)

        try:
            return done_once(request, make)
        except serializers.ValidationError as exc:
            raise _password_errors(exc) from None

    @extend_schema(
        summary="Edit a staff account (details and roles)",
        request=AccountUpdateSerializer,
        responses={200: AccountSerializer, **problem_responses(400, 403, 404)},
    )
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(
        summary="Edit some of a staff account",
        request=AccountUpdateSerializer(partial=True),
        responses={200: AccountSerializer, **problem_responses(400, 403, 404)},
    )
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def _update(self, request, *, partial):
        account = self.get_object()
        sent = AccountUpdateSerializer(data=request.data, partial=partial)
        sent.is_valid(raise_exception=True)
        data = dict(sent.validated_data)
        names = data.pop("roles", None)
        current = {g.name for g in account.groups.all() if g.name in ALL_ROLES}
        if names is not None and account.pk == request.user.pk and set(names) != current:
            raise PermissionDenied(services.OWN_ROLES_REFUSED)
        if names is None:
            names = current
        form = checked_by_form(
            StaffUserForm, {**data, "roles": _role_ids(names)}, instance=account, editor=request.user
        )
        roles = None if form.fields["roles"].disabled else form.chosen_groups()
        with transaction.atomic():
            user = services.save_account(form.save(commit=False), roles=roles, by=request.user)
        return _account_response(request, user)

    def _set_active(self, request, active):
        account = self.get_object()
        services.set_active(account, active, by=request.user)  # PermissionDenied (oneself): 403
        return _account_response(request, account)

    @extend_schema(
        summary="Deactivate an account (its sessions end; never one's own)",
        request=None,
        responses={200: AccountSerializer, **problem_responses(403, 404)},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._set_active(request, False)

    @extend_schema(
        summary="Reactivate an account",
        request=None,
        responses={200: AccountSerializer, **problem_responses(403, 404)},
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        return self._set_active(request, True)


def _password_errors(exc):
    """The form's password1/password2 errors are the API's `password` errors."""
    detail = exc.detail if isinstance(exc.detail, dict) else None
    if not detail or not ({"password1", "password2"} & set(detail)):
        return exc
    detail = dict(detail)
    messages = [*detail.pop("password1", []), *detail.pop("password2", [])]
    detail["password"] = list(dict.fromkeys(str(m) for m in messages))
    return serializers.ValidationError(detail)
