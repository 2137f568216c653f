from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from clinic.forms import BoundedDateField
from clinic.lifecycle import allowed_next

from .models import VITAL_FIELDS, Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan

TEXTAREA = forms.Textarea(attrs={"rows": 3})


class MedicalRecordForm(forms.ModelForm):
    class Meta:
        model = MedicalRecord
        fields = [
            "chief_complaint",
            "history",
            "examination",
            *VITAL_FIELDS,
            "diagnosis",
            "icd10_codes",
            "plan",
            "notes",
        ]
        widgets = dict.fromkeys(("history", "examination", "diagnosis", "plan", "notes"), TEXTAREA)


class VitalsForm(forms.ModelForm):
    class Meta:
        model = MedicalRecord
        fields = VITAL_FIELDS

    def clean(self):
        data = super().clean()
        if not any(data.get(name) is not None for name in VITAL_FIELDS):
            raise forms.ValidationError("Enter at least one vital sign.")
        return data


# More medications than this on one record is a mistake (or a crafted form): refused with a message
# before thousands of rows are built (Django's own cap is 1,000 forms and took seconds to render).
MAX_MEDICATIONS = 30


class BaseMedicationFormSet(BaseInlineFormSet):
    def mark_allergy_conflicts(self, record):
        """Give each row the allergy conflicts of the drug it shows (typed or saved), for a warning
        next to the row: the doctor sees it when the drug is entered, not first at signing."""
        drugs = [str(form["drug"].value() or "") for form in self.forms]
        # One look at the patient's allergies for all rows, not one per row.
        conflicts = record.allergy_conflicts([Medication(drug=drug) for drug in set(drugs)])
        for form, drug in zip(self.forms, drugs, strict=True):
            form.allergy_conflicts = [c for c in conflicts if c.drug == drug]
        return self


MedicationFormSet = inlineformset_factory(
    MedicalRecord,
    Medication,
    formset=BaseMedicationFormSet,
    fields=["drug", "strength", "dose", "route", "frequency", "duration", "instructions"],
    extra=2,
    can_delete=True,
    max_num=MAX_MEDICATIONS,
    absolute_max=MAX_MEDICATIONS,
    validate_max=True,
)


class SignForm(forms.Form):
    acknowledge_allergies = forms.BooleanField(
        label="I have seen the allergy warning and prescribe deliberately", required=False
    )


class AmendmentForm(forms.ModelForm):
    class Meta:
        model = Amendment
        fields = ["section", "text", "reason"]
        widgets = {"text": forms.Textarea(attrs={"rows": 5})}


class TreatmentPlanForm(forms.ModelForm):
    start_date = BoundedDateField(required=False)
    expected_end_date = BoundedDateField(required=False)

    class Meta:
        model = TreatmentPlan
        fields = ["doctor", "diagnosis_summary", "prescription", "goals", "start_date", "expected_end_date", "notes"]
        widgets = dict.fromkeys(("diagnosis_summary", "prescription", "goals", "notes"), TEXTAREA)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = self.fields["doctor"].queryset.select_related("user", "specialty")


class ProcedureForm(forms.ModelForm):
    scheduled_date = BoundedDateField(required=False)
    performed_date = BoundedDateField(required=False)

    class Meta:
        model = Procedure
        fields = [
            "name",
            "code",
            "plan",
            "appointment",
            "status",
            "scheduled_date",
            "performed_date",
            "performed_by",
            "fee",
            "outcome",
            "notes",
        ]
        widgets = {"outcome": TEXTAREA, "notes": TEXTAREA}

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.patient = patient
        self.fields["plan"].queryset = patient.treatment_plans.all()
        self.fields["appointment"].queryset = patient.appointments.select_related("doctor__user").order_by("-start")
        self.fields["performed_by"].queryset = self.fields["performed_by"].queryset.filter(
            doctor__isnull=False, is_active=True
        )
        if self.instance.pk:
            # An existing procedure offers its status and those its lifecycle allows next.
            offered = {self.instance.status} | allowed_next(self.instance)
            self.fields["status"].choices = [(v, label) for v, label in Procedure.Status.choices if v in offered]
