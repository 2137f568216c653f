"""The front desk's side of finance: payments due, taking a payment, the printable receipt.

Everything else about money lives in the admin (finance/admin/), for managers.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.generic import DetailView, FormView, ListView

from clinic.audit import Action, RecordsAccess, record
from clinic.forms import add_service_errors
from clinic.idempotency import OncePerSubmission
from clinic.paginators import BoundedCountPaginator
from clinic.permissions import Permitted
from clinical.models import Procedure
from patients.models import Patient
from scheduling.models import Appointment

from . import queries, services
from .forms import DueFilterForm, PaymentForm
from .models import Payment
from .money import format_money


class PaymentsDueView(Permitted, RecordsAccess, ListView):
    """Completed visits and done procedures that nobody has paid for yet."""

    def record_access(self, response):
        query = self.filters.cleaned_data.get("q") if self.filters.is_valid() else ""
        asked = f'"{query}"' if query else "all"
        found = response.context_data["paginator"].count_shown
        record(Action.SEARCH, summary=f"payments due ({self.show}): {asked}, {found} found")

    permission_required = "finance.add_payment"
    template_name = "finance/due.html"
    paginate_by = 25
    # Every unpaid visit ever is on this list: count only a few pages ahead, not all of them.
    paginator_class = BoundedCountPaginator

    def get_queryset(self):
        self.filters = DueFilterForm(self.request.GET or None)
        # The tab stays as asked even when the search is invalid (its error shows next to the field).
        self.show = "procedures" if self.request.GET.get("show") == "procedures" else "visits"
        rows = queries.unpaid_procedures() if self.show == "procedures" else queries.unpaid_visits()
        if self.filters.is_valid() and self.filters.cleaned_data.get("q"):
            rows = rows.filter(patient__in=Patient.objects.search(self.filters.cleaned_data["q"]).values("pk"))
        return rows

    def get_context_data(self, **kwargs):
        return super().get_context_data(filters=self.filters, show=self.show, **kwargs)


class RecordPaymentView(OncePerSubmission, Permitted, RecordsAccess, FormView):
    """Take a payment for one completed visit (kind=visit) or one done procedure (kind=procedure)."""

    permission_required = "finance.add_payment"
    template_name = "finance/pay.html"
    form_class = PaymentForm

    def load(self, *, kind, pk, **kwargs):
        if kind == "procedure":
            self.item = get_object_or_404(Procedure.objects.select_related("patient"), pk=pk)
        else:
            self.item = get_object_or_404(Appointment.objects.with_people(), pk=pk)
        self.paid = services.paid_payments(self.item).first()

    def get(self, request, *args, **kwargs):
        return self._already_paid() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self._already_paid() or super().post(request, *args, **kwargs)

    def _already_paid(self):
        if self.paid is None:
            return None
        messages.info(self.request, f"This was already paid: receipt {self.paid.receipt_number}.")
        return redirect(self.paid)

    def audit_object(self):
        return self.item

    def get_initial(self):
        return {"amount": services.standard_fee(self.item), "date": timezone.localdate()}

    def form_valid(self, form):
        try:
            payment = services.record_payment(item=self.item, received_by=self.request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request, f"Payment of {format_money(payment.amount)} recorded: receipt {payment.receipt_number}."
        )
        return redirect(payment)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            item=self.item,
            patient=self.item.patient,
            fee=services.standard_fee(self.item),
            is_procedure=isinstance(self.item, Procedure),
            **kwargs,
        )


class ReceiptView(Permitted, RecordsAccess, DetailView):
    """A printable receipt for the patient (and a refund note for a reversal)."""

    # The front desk that took it, or whoever keeps the books.
    any_permission = ("finance.add_payment", "finance.view_payment")
    template_name = "finance/receipt.html"
    context_object_name = "payment"

    def load(self, *, pk, **kwargs):
        payments = Payment.objects.select_related(
            "patient", "recorded_by", "procedure", "appointment__doctor__user", "reverses"
        )
        self.payment = get_object_or_404(payments, pk=pk)

    def get_object(self, queryset=None):
        return self.payment
