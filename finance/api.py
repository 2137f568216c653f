"""The finance API (/api/v1/): expenses and their categories, other incomes, patients' payments and the
monthly report, for those who keep the books (managers and administrators, as in the finance admin);
the front desk takes payments and prints receipts, as on its pages.

Every write goes through finance.services, checked first by the admin's or the page's own form
(clinic.api.checked_by_form). A wrong entry is reversed (POST .../reverse/), never edited or deleted.
A write dated in a closed month is refused 409 with the service's message, as is reversing an entry
twice or paying twice for one visit; field errors are 400. Money is a Decimal, sent and answered as a
string ("120.00").
"""

import datetime

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.api import IDEMPOTENCY_KEY, Conflict, Endpoint, checked_by_form, done_once, problem_responses
from clinic.audit import Action, record
from clinical.models import Procedure
from scheduling.models import Appointment

from . import reports, services
from .admin.entries import ReverseForm
from .admin.expenses import ExpenseAdminForm
from .admin.incomes import OtherIncomeAdminForm
from .forms import PaymentForm
from .models import ClosedMonth, Expense, ExpenseCategory, OtherIncome, Payment, PaymentMethod

MONEY = {"max_digits": 12, "decimal_places": 2}
TOTAL = {"max_digits": 14, "decimal_places": 2}  # a year's sums

# --- closed months and other conflicts: 409 --------------------------------------------------------


def _closed_month_of(value):
    """The closed month covering a sent date (a string or a date), or None."""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime.date):
        return None
    return ClosedMonth.objects.covering(value).first()


def _conflict_if_closed(errors, sent_date):
    """A refusal whose only fault is a date in a closed month is a 409 (the month, not the caller's
    typing, is in the way); any other field error keeps it a 400 with every message."""
    if set(errors) == {"date"} and _closed_month_of(sent_date) is not None:
        raise Conflict(errors["date"][0], errors={"date": list(errors["date"])})


def _checked(form_class, data, **kwargs):
    try:
        return checked_by_form(form_class, data, **kwargs)
    except exceptions.ValidationError as error:
        _conflict_if_closed(error.detail, data.get("date"))
        raise


def _django_errors(error):
    if hasattr(error, "error_dict"):
        return {field: [m for e in errors for m in e.messages] for field, errors in error.error_dict.items()}
    return {"non_field_errors": list(error.messages)}


def _by_service(call, sent_date=None):
    """Run a service; a refusal because of a closed month becomes 409, others 400 (the handler's)."""
    try:
        return call()
    except DjangoValidationError as error:
        _conflict_if_closed(_django_errors(error), sent_date)
        raise


# A list's 404 is a cursor it did not give; a POST's 303 a replay of its Idempotency-Key.
REPLAYED = OpenApiResponse(description="A replay (the same Idempotency-Key): Location names what the first made.")

# --- shared by the three kinds of entry ------------------------------------------------------------


def _annotated(queryset):
    """Whether each entry was reversed (by which entry) and whether its month is closed, for a page of
    rows in the same query (the admin's scalar subquery: an index probe per row)."""
    model = queryset.model
    return queryset.annotate(entry_month=TruncMonth("date")).annotate(
        reversed_by_id=Subquery(model.objects.filter(reverses=OuterRef("pk")).values("pk")[:1]),
        in_closed_month=Exists(ClosedMonth.objects.filter(month=OuterRef("entry_month"))),
    )


class EntrySerializer(serializers.ModelSerializer):
    """What every money entry shows: its amount (a string), who recorded it, and whether it is final.
    Read from `_annotated` querysets (`reversed_by_id`, `in_closed_month`)."""

    amount = serializers.DecimalField(**MONEY, help_text="Above zero; a reversal's is negative.")
    reversed_by = serializers.IntegerField(
        source="reversed_by_id", read_only=True, allow_null=True, help_text="The reversal cancelling this entry."
    )
    month_closed = serializers.BooleanField(
        source="in_closed_month", read_only=True, help_text="Its month is closed: the entry is final."
    )

    ENTRY_FIELDS = ["id", "date", "amount"]
    ENTRY_TAIL = ["notes", "recorded_by", "recorded_at", "reverses", "reversal_reason", "reversed_by", "month_closed"]
    READ_ONLY = ["id", "recorded_by", "recorded_at", "reverses", "reversal_reason"]

    def get_fields(self):
        fields = super().get_fields()
        fields["date"].required = True  # the form's rule: an entry names its day
        return fields


class ExpenseCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ExpenseCategory
        fields = ["id", "name", "description", "is_active"]
        read_only_fields = fields


class ExpenseSerializer(EntrySerializer):
    """An expense, filed under a category, with what it was for. Recorded through the admin's form and
    finance.services.record_expense; a receipt is attached in the admin (its file is checked there)."""

    category = serializers.PrimaryKeyRelatedField(
        queryset=ExpenseCategory.objects.all(), help_text="An active category's id (GET /expense-categories/)."
    )
    category_name = serializers.CharField(source="category.name", read_only=True)
    has_receipt = serializers.SerializerMethodField()

    class Meta:
        model = Expense
        fields = [
            *EntrySerializer.ENTRY_FIELDS,
            "category",
            "category_name",
            "reason",
            "paid_to",
            "method",
            "has_receipt",
            *EntrySerializer.ENTRY_TAIL,
        ]
        read_only_fields = EntrySerializer.READ_ONLY

    def get_has_receipt(self, expense) -> bool:
        return bool(expense.receipt)

    def validate(self, attrs):
        self.form = _checked(ExpenseAdminForm, self.initial_data, instance=Expense())
        return attrs

    def record(self, *, by):
        fields = {k: v for k, v in self.form.cleaned_data.items() if k != "receipt_file"}
        return _by_service(lambda: services.record_expense(recorded_by=by, **fields), fields["date"])


class OtherIncomeSerializer(EntrySerializer):
    """Money that is not a patient's payment: a lab's share, a donation, a service outside a visit."""

    class Meta:
        model = OtherIncome
        fields = [
            *EntrySerializer.ENTRY_FIELDS,
            "source",
            "description",
            "payer",
            "patient",
            *EntrySerializer.ENTRY_TAIL,
        ]
        read_only_fields = EntrySerializer.READ_ONLY

    def validate(self, attrs):
        self.form = _checked(OtherIncomeAdminForm, self.initial_data, instance=OtherIncome())
        return attrs

    def record(self, *, by):
        fields = dict(self.form.cleaned_data)
        return _by_service(lambda: services.record_other_income(recorded_by=by, **fields), fields["date"])


class PaymentSerializer(EntrySerializer):
    """A patient's payment (the receipt) for one completed visit or one done procedure; a reversal is a refund."""

    fee = serializers.DecimalField(**MONEY, read_only=True, help_text="The standard fee when it was taken.")
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "receipt_number",
            "date",
            "amount",
            "fee",
            "fee_override_reason",
            "method",
            "patient",
            "patient_name",
            "appointment",
            "procedure",
            *EntrySerializer.ENTRY_TAIL,
        ]
        read_only_fields = fields


class PaymentCreateSerializer(serializers.Serializer):
    """Taking a payment: for a completed visit (`appointment`) or a done procedure (`procedure`), as the
    front desk's page does; the amount differs from the standard fee only with a reason."""

    appointment = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**31 - 1, help_text="A completed visit's id."
    )
    procedure = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**31 - 1, help_text="A done procedure's id."
    )
    amount = serializers.DecimalField(**MONEY)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    fee_override_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)
    date = serializers.DateField(required=False, help_text="The day the money was received (default: today).")
    notes = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        if bool(attrs.get("appointment")) == bool(attrs.get("procedure")):
            raise serializers.ValidationError("Give the visit (appointment) or the procedure paid for: one of them.")
        if attrs.get("appointment"):
            item = Appointment.objects.with_people().filter(pk=attrs["appointment"]).first()
            if item is None:
                raise serializers.ValidationError({"appointment": ["No such visit."]})
        else:
            item = Procedure.objects.select_related("patient").filter(pk=attrs["procedure"]).first()
            if item is None:
                raise serializers.ValidationError({"procedure": ["No such procedure."]})
        attrs["item"] = item
        return attrs


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the entry is reversed; kept with the reversal.")


# --- lists' filters ---------------------------------------------------------------------------------


class MonthFilter(django_filters.FilterSet):
    month = django_filters.CharFilter(
        method="in_month",
        help_text="Entries dated in this month, YYYY-MM.",
        validators=[RegexValidator(r"^(19|20)\d\d-(0[1-9]|1[0-2])$", "Give a month as YYYY-MM.")],
    )

    def in_month(self, queryset, name, value):
        year, month = (int(part) for part in value.split("-"))
        return queryset.filter(reports.in_month(year, month))


class ExpenseFilter(MonthFilter):
    category = django_filters.ModelChoiceFilter(queryset=ExpenseCategory.objects.all(), help_text="A category's id.")

    class Meta:
        model = Expense
        fields = ["month", "category", "method"]


class OtherIncomeFilter(MonthFilter):
    class Meta:
        model = OtherIncome
        fields = ["month", "source"]


class PaymentFilter(MonthFilter):
    class Meta:
        model = Payment
        fields = ["month", "method"]


# --- the views ------------------------------------------------------------------------------------


class EntryViewSet(Endpoint, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List, read, record and reverse one kind of money entry."""

    related = ()
    names_patients = False  # other incomes and payments name patients: reads are audited
    listed = ""

    def get_queryset(self):
        return _annotated(self.serializer_class.Meta.model.objects.select_related(*self.related))

    def get_serializer_class(self):
        return self.serializer_class

    def detail_url(self, entry):
        return reverse(f"finance_api:{self.basename}-detail", kwargs={"pk": entry.pk})

    def answer(self, entry, status_code=status.HTTP_201_CREATED):
        entry = self.get_queryset().get(pk=entry.pk)  # read back with the list's annotations
        data = self.serializer_class(entry, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers={"Location": self.detail_url(entry)})

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if self.names_patients:
            month = request.query_params.get("month", "")
            asked = f"month {month}" if month else "newest"
            record(Action.SEARCH, summary=f"{self.listed} (API): {asked}, {len(response.data['results'])} listed")
        return response

    def retrieve(self, request, *args, **kwargs):
        entry = self.get_object()
        if self.names_patients:
            record(Action.VIEW, entry, summary="API")
        return Response(self.get_serializer(entry).data)

    def create(self, request, *args, **kwargs):
        def make():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return self.answer(serializer.record(by=request.user))  # the service, checked by the form

        return done_once(request, make)

    @action(detail=True, methods=["post"], url_path="reverse", url_name="reverse")
    def reverse_entry(self, request, pk=None):
        entry = self.get_object()

        def make():
            ReverseSerializer(data=request.data).is_valid(raise_exception=True)
            form = checked_by_form(ReverseForm, request.data)
            try:
                reversal = services.reverse_entry(entry=entry, reason=form.cleaned_data["reason"], by=request.user)
            except DjangoValidationError as error:
                if "reason" in getattr(error, "error_dict", {}):
                    raise
                # A reversal, or an entry already reversed: the entry as it is now is in the way.
                raise Conflict(error.messages[0], extra={"entry": self.detail_url(entry)}) from error
            return self.answer(reversal)

        return done_once(request, make)


def _entry_schema(noun, serializer):
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}s, newest first",
            responses={200: serializer(many=True), **problem_responses(400, 404)},
        ),
        retrieve=extend_schema(summary=f"A {noun}", responses={200: serializer, **problem_responses(404)}),
        create=extend_schema(
            summary=f"Record an {noun}" if noun[0] in "aeiou" else f"Record a {noun}",
            parameters=[IDEMPOTENCY_KEY],
            responses={201: serializer, 303: REPLAYED, **problem_responses(400, 409)},
        ),
        reverse_entry=extend_schema(
            summary=f"Reverse a {noun}: a negative entry dated today cancels it (the original stays)",
            request=ReverseSerializer,
            parameters=[IDEMPOTENCY_KEY],
            responses={201: serializer, 303: REPLAYED, **problem_responses(400, 404, 409)},
        ),
    )


@_entry_schema("expense", ExpenseSerializer)
class ExpenseViewSet(EntryViewSet):
    serializer_class = ExpenseSerializer
    filterset_class = ExpenseFilter
    related = ("category",)
    action_permissions = {
        "list": "finance.view_expense",
        "retrieve": "finance.view_expense",
        "create": "finance.add_expense",
        # Reversing adds an entry, and only those who see the books may (as in the admin).
        "reverse_entry": ("finance.view_expense", "finance.add_expense"),
    }


@_entry_schema("other income", OtherIncomeSerializer)
class OtherIncomeViewSet(EntryViewSet):
    serializer_class = OtherIncomeSerializer
    filterset_class = OtherIncomeFilter
    names_patients = True
    listed = "other incomes"
    action_permissions = {
        "list": "finance.view_otherincome",
        "retrieve": "finance.view_otherincome",
        "create": "finance.add_otherincome",
        "reverse_entry": ("finance.view_otherincome", "finance.add_otherincome"),
    }


@extend_schema_view(
    list=extend_schema(
        summary="List payments, newest first (those who keep the books)",
        responses={200: PaymentSerializer(many=True), **problem_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A payment: the patient's receipt (the front desk prints it too)",
        responses={200: PaymentSerializer, **problem_responses(404)},
    ),
    create=extend_schema(
        summary="Take a payment for a completed visit or a done procedure",
        request=PaymentCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PaymentSerializer, 303: REPLAYED, **problem_responses(400, 409)},
    ),
    reverse_entry=extend_schema(
        summary="Refund a payment: a negative payment dated today cancels it (the receipt stays)",
        request=ReverseSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PaymentSerializer, 303: REPLAYED, **problem_responses(400, 404, 409)},
    ),
)
class PaymentViewSet(EntryViewSet):
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    related = ("patient",)
    names_patients = True
    listed = "payments"
    action_permissions = {
        "list": "finance.view_payment",
        # The receipt page admits add_payment or view_payment; in the roles table whoever views payments
        # also takes them, so add_payment names the same people (the front desk, managers, administrators).
        "retrieve": "finance.add_payment",
        "create": "finance.add_payment",
        # A refund: only those who keep the books (the front desk takes payments but does not refund them).
        "reverse_entry": ("finance.view_payment", "finance.add_payment"),
    }

    def create(self, request, *args, **kwargs):
        return done_once(request, lambda: self._take(request))

    def _take(self, request):
        sent = PaymentCreateSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        item = sent.validated_data["item"]
        paid = services.paid_payments(item).first()
        if paid is not None:
            raise Conflict(
                f"This was already paid: receipt {paid.receipt_number}.", extra={"payment": self.detail_url(paid)}
            )
        data = {key: request.data[key] for key in PaymentForm.base_fields if key in request.data}
        data.setdefault("date", timezone.localdate().isoformat())
        form = _checked(PaymentForm, data)
        fields = form.cleaned_data
        try:
            payment = _by_service(
                lambda: services.record_payment(item=item, received_by=request.user, **fields), fields["date"]
            )
        except DjangoValidationError as error:
            paid = services.paid_payments(item).first()  # paid at another desk in the same instant
            if paid is not None:
                raise Conflict(error.messages[0], extra={"payment": self.detail_url(paid)}) from error
            raise
        return self.answer(payment)


@extend_schema_view(
    list=extend_schema(summary="Expense categories, by name"),
    retrieve=extend_schema(
        summary="An expense category", responses={200: ExpenseCategorySerializer, **problem_responses(404)}
    ),
)
class ExpenseCategoryViewSet(Endpoint, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ExpenseCategorySerializer
    queryset = ExpenseCategory.objects.all()
    pagination_class = None  # a short managed list
    action_permissions = {"list": "finance.view_expensecategory", "retrieve": "finance.view_expensecategory"}


# --- the monthly report -----------------------------------------------------------------------------


def _total(**kwargs):
    return serializers.DecimalField(**TOTAL, **kwargs)


class IncomeColumnSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="`payments`, or an other income's source.")
    label = serializers.CharField()


class CategoryColumnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TotalsSerializer(serializers.Serializer):
    incomes = serializers.ListField(child=_total(), help_text="One a column of `income_columns`, in order.")
    expenses = serializers.ListField(child=_total(), help_text="One a column of `categories`, in order.")
    income_total = _total()
    expense_total = _total()
    net = _total()


class MonthRowSerializer(TotalsSerializer):
    month = serializers.DateField(help_text="The month's first day.")
    closed = serializers.BooleanField(help_text="Closed: its entries are final.")
    ended = serializers.BooleanField(help_text="Over, and may be closed.")
    future = serializers.BooleanField(help_text="Nothing can be dated in it yet.")


class ReportSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    currency = serializers.CharField()
    income_columns = IncomeColumnSerializer(many=True)
    categories = CategoryColumnSerializer(many=True)
    months = MonthRowSerializer(many=True)
    totals = TotalsSerializer()
    years = serializers.ListField(child=serializers.IntegerField(), help_text="Years with entries, newest first.")


class MethodTotalSerializer(serializers.Serializer):
    method = serializers.CharField()
    count = serializers.IntegerField()
    total = _total()


class MonthDetailSerializer(serializers.Serializer):
    month = serializers.DateField()
    closed = serializers.BooleanField()
    expenses = ExpenseSerializer(many=True)
    incomes = OtherIncomeSerializer(many=True)
    payment_count = serializers.IntegerField()
    payment_total = _total()
    payment_methods = MethodTotalSerializer(many=True)
    income_total = _total()
    expense_total = _total()
    net = _total()


def _row(row):
    return {
        "incomes": [cell.amount for cell in row.incomes],
        "expenses": [cell.amount for cell in row.expenses],
        "income_total": row.income_total,
        "expense_total": row.expense_total,
        "net": row.net,
    }


def _year_or_404(year, month=None):
    if not 1900 <= year <= timezone.localdate().year + 1 or (month is not None and not 1 <= month <= 12):
        raise Http404("No such month.")


class ReportView(Endpoint, APIView):
    action_permissions = {"get": "finance.view_monthlyreport"}


class MonthlyReportView(ReportView):
    @extend_schema(
        operation_id="finance_monthly_report",
        summary="The monthly report of a year: income by source and expenses by category, month by month",
        responses={200: ReportSerializer, **problem_responses(404)},
    )
    def get(self, request, year):
        _year_or_404(year)
        report = reports.monthly_report(year, timezone.localdate())
        data = {
            "year": report.year,
            "currency": settings.CLINIC_CURRENCY,
            "income_columns": [{"key": key, "label": label} for key, label in report.income_columns],
            "categories": [{"id": c.pk, "name": c.name} for c in report.categories],
            "months": [
                {**_row(m), "month": m.month, "closed": m.closed, "ended": m.ended, "future": m.future}
                for m in report.months
            ],
            "totals": _row(report.totals),
            "years": report.years,
        }
        return Response(ReportSerializer(data).data)


class MonthDetailView(ReportView):
    @extend_schema(
        operation_id="finance_month_report",
        summary="One month of the report: its expenses and other incomes, its payments by method",
        responses={200: MonthDetailSerializer, **problem_responses(404)},
    )
    def get(self, request, year, month):
        _year_or_404(year, month)
        detail = reports.month_detail(year, month)
        within = reports.in_month(year, month)
        # The entries again with the lists' annotations (reversed, month closed): two queries, not one a row.
        expenses = _annotated(Expense.objects.filter(within).select_related("category")).order_by("date", "pk")
        incomes = _annotated(OtherIncome.objects.filter(within)).order_by("date", "pk")
        data = {
            "month": detail.month,
            "closed": detail.closed,
            "expenses": list(expenses),
            "incomes": list(incomes),
            "payment_count": detail.payment_count,
            "payment_total": detail.payment_total,
            "payment_methods": [{"method": m, "count": c, "total": t} for m, c, t in detail.payment_methods],
            "income_total": detail.income_total,
            "expense_total": detail.expense_total,
            "net": detail.net,
        }
        return Response(MonthDetailSerializer(data, context={"request": request}).data)
