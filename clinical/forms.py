import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.text import capfirst

from clinic.forms import BoundedDateField
from clinic.lifecycle import allowed_next

from . import icd10
from .models import VITAL_FIELDS, Amendment, MedicalRecord, Medication, Procedure, TreatmentPlan

TEXTAREA = forms.Textarea(attrs={"rows": 3})

# --- temperature: what a nurse meant ------------------------------------------------------------

TEMPERATURE_LOW, TEMPERATURE_HIGH = Decimal("30.0"), Decimal("45.0")
TEMPERATURE_RANGE = "Enter a value between 30.0 and 45.0 °C; check the reading."
TEMPERATURE_NOT_A_NUMBER = "Enter the temperature in °C as a number, such as 37.2."
_TENTH = Decimal("0.1")


def _plausible(value):
    return TEMPERATURE_LOW <= value <= TEMPERATURE_HIGH


def _tenth(value):
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def temperature_suggestion(value: Decimal) -> str:
    """The message for an implausible reading: the °C it most likely was, when there is one."""
    # 86-113 °F is 30-45 °C: a thermometer set to Fahrenheit.
    if Decimal(86) <= value <= Decimal(113):
        celsius = _tenth((value - 32) * 5 / 9)
        if _plausible(celsius):
            return f"That looks like °F: did you mean {celsius} °C?"
    # The decimal point left out ("379", "3790") or put one place too early ("3.79").
    for factor in (Decimal(10), Decimal(100), Decimal(1000), 1 / Decimal(10)):
        candidate = _tenth(value / factor)
        if _plausible(candidate) and candidate * factor == value:
            return f"Did you mean {candidate} °C?"
    return TEMPERATURE_RANGE


def parse_temperature(text):
    """(value in °C to one decimal, None) or (None, message for the field). Never raises."""
    if not str(text or "").strip():
        return None, None
    text = str(text).strip().replace(",", ".").replace("°", "").rstrip("cC").strip()
    if not text:
        return None, TEMPERATURE_NOT_A_NUMBER  # "°C" alone
    if len(text) > 40:
        return None, TEMPERATURE_NOT_A_NUMBER
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, TEMPERATURE_NOT_A_NUMBER
    if not value.is_finite():
        return None, TEMPERATURE_NOT_A_NUMBER
    # The exponent check keeps "1e999999" from being expanded into a million digits.
    if abs(value.adjusted()) > 6:
        return None, TEMPERATURE_RANGE
    rounded = _tenth(value)
    if _plausible(rounded):
        return rounded, None
    return None, temperature_suggestion(value)


class TemperatureField(forms.Field):
    """Temperature in °C: accepts "37,9" and "37.9 °C"; an implausible reading gets the value it most
    likely was ("379" -> "Did you mean 37.9 °C?") instead of a message about digits."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 6})

    def to_python(self, value):
        parsed, problem = parse_temperature(value)
        if problem:
            raise forms.ValidationError(problem, code="implausible")
        return parsed


def _temperature_field():
    model_field = MedicalRecord._meta.get_field("temperature")
    return TemperatureField(label=capfirst(model_field.verbose_name), required=False)


# --- ICD-10 codes -------------------------------------------------------------------------------

_CODE_SEPARATORS = re.compile(r"[,;\s]+")


def clean_icd10_codes(text, stored=""):
    """The codes as the ICD-10-CM list writes them ("j029, i10" -> "J02.9, I10"), or a
    ValidationError naming the ones the list does not have. A code saved before the list was checked
    stays accepted while it is not changed: an old record can still be saved as it is."""
    kept = {code.strip().upper() for code in (stored or "").split(",") if code.strip()}
    codes, unknown = [], []
    for raw in _CODE_SEPARATORS.split(text or ""):
        code = raw.strip().upper()
        if not code:
            continue
        known = icd10.canonical(code) if len(code) <= 10 else None
        if known or code in kept:
            codes.append(known or code)
        else:
            unknown.append(raw.strip()[:20])
    if unknown:
        raise forms.ValidationError(
            "Not in the ICD-10 code list: %(codes)s. Type a code or words (such as pharyngitis) and choose "
            "a code from the suggestions.",
            code="unknown_icd10",
            params={"codes": ", ".join(unknown)},
        )
    return ", ".join(dict.fromkeys(codes))


class MedicalRecordForm(forms.ModelForm):
    temperature = _temperature_field()

    def clean_icd10_codes(self):
        return clean_icd10_codes(self.cleaned_data.get("icd10_codes"), self.initial.get("icd10_codes", ""))

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
        widgets = {
            **dict.fromkeys(("history", "examination", "diagnosis", "plan", "notes"), TEXTAREA),
            "icd10_codes": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
        help_texts = {
            "icd10_codes": "Separated by commas: E11.9, I10. Type a code or words to search the ICD-10-CM list."
        }


class VitalsForm(forms.ModelForm):
    temperature = _temperature_field()

    class Meta:
        model = MedicalRecord
        fields = VITAL_FIELDS

    def clean(self):
        data = super().clean()
        # A reading refused with its own message is not "no reading": that message is enough.
        if not self.errors and not any(data.get(name) is not None for name in VITAL_FIELDS):
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
