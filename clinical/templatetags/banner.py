"""The allergy banner at the top of every clinical form (record, vital signs, plan, procedure)."""

from django import template

from patients.models import Condition

register = template.Library()


@register.inclusion_tag("clinical/_patient_banner.html", takes_context=True)
def patient_banner(context, patient):
    """The patient's active allergies and conditions, read fresh: a form is where a drug is chosen.
    Never asked about allergies is said as such, with the button to record "No known allergies"
    that brings the person back to this form."""
    request = context.get("request")
    return {
        "patient": patient,
        "allergies": patient.allergies.filter(is_active=True),
        "conditions": patient.conditions.filter(status=Condition.Status.ACTIVE),
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
        "request": request,
        "next": request.get_full_path() if request else "",
    }
