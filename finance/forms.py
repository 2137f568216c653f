from decimal import Decimal

from django import forms

from clinic.forms import BoundedDateField

from .models import PaymentMethod


class PaymentForm(forms.Form):
    """Taking a payment at the front desk; the amount starts at the standard fee."""

    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.CARD)
    fee_override_reason = forms.CharField(
        label="Reason for a different amount",
        required=False,
        max_length=300,
        help_text="Needed only when the amount is not the standard fee (discount, insurance share, waiver).",
    )
    date = BoundedDateField(help_text="The day the money was received.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DueFilterForm(forms.Form):
    SHOW = [("visits", "Visits"), ("procedures", "Procedures")]

    show = forms.ChoiceField(choices=SHOW, required=False, widget=forms.HiddenInput)
    q = forms.CharField(label="Patient", required=False, max_length=100, help_text="Name, MRN or phone")
