"""The small forms behind a sick note and a referral letter (documents/printouts.py prints them)."""

from datetime import timedelta

from django import forms

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXTAREA = forms.Textarea(attrs={"rows": 4})
# The longest a note runs (as a GP's fit note in its first six months); a longer absence gets a new note.
LONGEST_NOTE = timedelta(days=92)


class SickNoteForm(forms.Form):
    NOT_FIT, MAY_BE_FIT = "not_fit", "may_be_fit"
    ADJUSTMENTS = [
        ("phased return to work", "A phased return to work"),
        ("altered hours", "Altered hours"),
        ("amended duties", "Amended duties"),
        ("workplace adaptations", "Workplace adaptations"),
    ]

    outcome = forms.ChoiceField(
        label="Advice",
        choices=[(NOT_FIT, "Not fit for work"), (MAY_BE_FIT, "May be fit for work with adjustments")],
        widget=forms.RadioSelect,
        initial=NOT_FIT,
    )
    start = forms.DateField(label="From", widget=DATE)
    end = forms.DateField(label="To", widget=DATE)
    adjustments = forms.MultipleChoiceField(
        label="Adjustments (if may be fit)", choices=ADJUSTMENTS, required=False, widget=forms.CheckboxSelectMultiple
    )
    condition = forms.CharField(
        max_length=300, help_text="In words the employer will read; the diagnosis need not be named."
    )
    comments = forms.CharField(max_length=1000, required=False, widget=TEXTAREA)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif end - start > LONGEST_NOTE:
                self.add_error("end", "A note covers at most three months; write a new one after that.")
        if data.get("outcome") == self.NOT_FIT:
            data["adjustments"] = []
        return data

    def details(self, record_day):
        data = self.cleaned_data
        return {**data, "assessed_on": record_day}


class ReferralForm(forms.Form):
    URGENCY = [("routine", "Routine"), ("soon", "Soon"), ("urgent", "Urgent")]

    recipient = forms.CharField(label="To", max_length=200, help_text="The doctor, clinic or service referred to.")
    specialty = forms.CharField(max_length=100)
    urgency = forms.ChoiceField(choices=URGENCY, initial="routine", widget=forms.RadioSelect)
    reason = forms.CharField(
        label="Reason for referral",
        max_length=2000,
        widget=TEXTAREA,
        help_text="The question for the colleague (findings, diagnosis, medications and allergies are added).",
    )

    def details(self, record_day):
        data = self.cleaned_data
        return {**data, "urgency_label": dict(self.URGENCY)[data["urgency"]]}


FORMS = {"sick-note": SickNoteForm, "referral": ReferralForm}
