"""The formulary's service: the one door for adding, changing and retiring the drug names the record
form suggests (the admin calls it), and the search behind the suggestions.

Seeded from the drug class table (every generic name and combination product it knows, so a name
picked from the suggestions is one the allergy check understands); the clinic adds its own.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from . import drugs
from .models.formulary import FormularyDrug, search_key

MAX_RESULTS = 20


def _display(name: str) -> str:
    """The table's names are lower case ("co-amoxiclav"): written with a capital, as on a label."""
    return name[:1].upper() + name[1:]


def names_from_drug_classes() -> list[str]:
    """Every generic name and combination product of clinical/data/drug_classes.toml, once each."""
    table = drugs.table()
    names = [member for cls in table.classes.values() for member in cls.members]
    names += list(table.combinations)
    unique = {}
    for name in names:
        unique.setdefault(search_key(name), _display(" ".join(name.split())))
    return sorted(unique.values(), key=str.lower)


def add_missing_from_drug_classes(*, by=None, model=FormularyDrug) -> int:
    """Add the class table's drugs the formulary lacks (run from the seeding migration, with the
    migration's model, and again after the table grows). Returns how many were added; a drug the
    clinic retired stays retired."""
    with transaction.atomic():
        known = set(model.objects.values_list("name_key", flat=True))
        new = [
            model(name=name, name_key=search_key(name), **({"updated_by": by} if by else {}))
            for name in names_from_drug_classes()
            if search_key(name) not in known
        ]
        model.objects.bulk_create(new, batch_size=500)
    return len(new)


def _tidy_list(text: str) -> str:
    return ", ".join(dict.fromkeys(" ".join(part.split()) for part in (text or "").split(",") if part.strip()))


@transaction.atomic
def save_drug(*, drug: FormularyDrug, by) -> FormularyDrug:
    """Add or change a formulary drug: its name written once (no second "amoxicillin" under another
    spelling), strengths and forms tidied into a comma-separated list."""
    drug.name = " ".join((drug.name or "").split())
    drug.name_key = search_key(drug.name)
    if not drug.name_key:
        raise ValidationError({"name": "Enter the drug's name."})
    same = FormularyDrug.objects.filter(name_key=drug.name_key).exclude(pk=drug.pk).first()
    if same is not None:
        raise ValidationError({"name": f"The formulary already has this drug as {same.name}."})
    drug.strengths = _tidy_list(drug.strengths)
    drug.forms = _tidy_list(drug.forms)
    drug.updated_by = by
    drug.full_clean()
    drug.save()
    return drug


@transaction.atomic
def set_active(*, drugs_to_change, active: bool, by) -> int:
    """Retire drugs (no longer suggested; records that name them are untouched) or bring them back."""
    changed = 0
    for drug in drugs_to_change:
        if drug.active != active:
            drug.active = active
            drug.updated_by = by
            drug.save()
            changed += 1
    return changed


def search(query: str, limit: int = MAX_RESULTS):
    """Active drugs whose name starts with `query` (case, accents, spaces and hyphens ignored): one
    query on the indexed search key, at most `limit` rows."""
    key = search_key((query or "")[:100])
    if not key:
        return []
    limit = max(0, min(limit, MAX_RESULTS))
    rows = FormularyDrug.objects.filter(active=True, name_key__startswith=key).order_by("name_key")
    return list(rows.only("name", "strengths", "forms")[:limit])
