"""The clinic's formulary: the drug names the record form suggests as a doctor types.

Seeded from the drug class table (clinical/data/drug_classes.toml) and extended by the clinic in the
admin, through clinical.formulary (the service). A drug is retired (active=False), not deleted:
suggestions stop, records that name it stay as written. The medication row itself stays free text:
a drug not in the formulary can still be prescribed.
"""

from django.conf import settings
from django.db import models

from clinic.audit import Audited
from patients.text import fold


def search_key(name: str) -> str:
    """One spelling to search by: "Co-Amoxiclav" and "co amoxiclav" -> "coamoxiclav"."""
    return fold(name).replace(" ", "")


class FormularyDrug(Audited, models.Model):
    audit_derived_fields = frozenset({"name_key", "updated_by"})

    name = models.CharField(max_length=200, unique=True, help_text="As it should be written: Amoxicillin")
    # Filled from the name on every save (the service): a prefix search on an indexed column.
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    strengths = models.CharField(
        "common strengths", max_length=200, blank=True, help_text="Separated by commas: 250 mg, 500 mg"
    )
    forms = models.CharField(
        "common forms", max_length=200, blank=True, help_text="Separated by commas: capsule, oral suspension"
    )
    active = models.BooleanField(default=True, help_text="Untick to stop suggesting it (records keep it).")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "formulary drug"

    def __str__(self):
        return self.name

    def strength_list(self):
        return [s.strip() for s in self.strengths.split(",") if s.strip()]

    def form_list(self):
        return [f.strip() for f in self.forms.split(",") if f.strip()]
