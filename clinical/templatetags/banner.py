"""The allergy banner at the top of every clinical form (record, vital signs, plan, procedure)."""

from django import template

from patients.models import Condition

register = template.Library()


@register.inclusion_tag("clinical/_patient_banner.html")
def patient_banner(patient):
    """The patient's active allergies and conditions, read fresh: a form is where a drug is chosen."""
    return {
        "allergies": patient.allergies.filter(is_active=True),
        "conditions": patient.conditions.filter(status=Condition.Status.ACTIVE),
    }
