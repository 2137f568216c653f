"""What the front desk sees: charges still to be paid, and the charges of one visit."""

from django.db.models import Prefetch

from clinical.models import Procedure
from scheduling.models import Appointment

from .models import Payment
from .services import standing_payment_exists


def _standing():
    return Payment.objects.standing().order_by("-date")


def unpaid_visits():
    """Completed visits with a consultation fee and no payment that stands, newest first."""
    return (
        Appointment.objects.filter(status=Appointment.Status.COMPLETED, doctor__consultation_fee__gt=0)
        .exclude(standing_payment_exists("appointment"))
        .select_related("patient", "doctor__user")
        .order_by("-start")
    )


def unpaid_procedures():
    """Procedures done, with a fee and no payment that stands, newest first."""
    return (
        Procedure.objects.filter(status=Procedure.Status.DONE, fee__gt=0)
        .exclude(standing_payment_exists("procedure"))
        .select_related("patient")
        .order_by("-performed_date", "-pk")
    )


def appointment_page_charges(*, appointment, user):
    """On the appointment's page, for whoever takes payments: what the visit costs and what is paid."""
    return {"charges": visit_charges(appointment) if user.has_perm("finance.add_payment") else []}


def visit_charges(appointment):
    """The visit's consultation and the procedures done during it, each with its standing payment if any."""
    charges = []
    if appointment.status == Appointment.Status.COMPLETED:
        paid = _standing().filter(appointment=appointment).first()
        charges.append(
            {
                "label": "Consultation",
                "fee": appointment.doctor.consultation_fee,
                "payment": paid,
                "kind": "visit",
                "pk": appointment.pk,
            }
        )
    procedures = appointment.procedures.filter(status=Procedure.Status.DONE).prefetch_related(
        Prefetch("payments", queryset=_standing(), to_attr="standing")
    )
    for procedure in procedures:
        charges.append(
            {
                "label": procedure.name,
                "fee": procedure.fee,
                "payment": next(iter(procedure.standing), None),
                "kind": "procedure",
                "pk": procedure.pk,
            }
        )
    return charges
