"""The lists a patient's documents and images pages show: bounded, a fixed number of queries."""

from dataclasses import dataclass, field

from clinical.queries import TimelinePart, entries_of
from patients.text import fold

from .access import documents_visible_to
from .models import ClinicalDocument, PatientImage

LIST_LIMIT = 200  # a patient's documents; beyond this the type filter narrows the list


def patient_documents(patient, user, doc_type=""):
    """(current, archived) documents of the patient that the user may see, newest first."""
    documents = documents_visible_to(user, ClinicalDocument.objects.filter(patient=patient)).select_related(
        "current_version", "uploaded_by", "appointment__doctor__user", "archived_by"
    )
    if doc_type:
        documents = documents.filter(doc_type=doc_type)
    current = list(documents.filter(is_archived=False)[:LIST_LIMIT])
    archived = list(documents.filter(is_archived=True)[:LIST_LIMIT])
    return current, archived


@dataclass
class SiteGroup:
    """One body site's photos in date order: a wound or a lesion followed over time."""

    body_site: str
    images: list = field(default_factory=list)


def gallery(patient, user, site_key=""):
    images = PatientImage.objects.filter(patient=patient).select_related("uploaded_by", "archived_by")
    if fold(site_key):
        images = images.filter(body_site_key=fold(site_key))
    groups = {}
    for image in images.filter(is_archived=False).order_by("body_site_key", "taken_on", "pk")[:LIST_LIMIT]:
        groups.setdefault(image.body_site_key, SiteGroup(image.body_site)).images.append(image)
    archived = list(images.filter(is_archived=True).order_by("-taken_on")[:LIST_LIMIT])
    return list(groups.values()), archived


def archived_items(patient):
    """Everything archived for the patient, for the administrator who restores (titles only)."""
    documents = ClinicalDocument.objects.filter(patient=patient, is_archived=True).select_related("archived_by")
    images = PatientImage.objects.filter(patient=patient, is_archived=True).select_related("archived_by")
    return list(documents.order_by("-archived_at")[:LIST_LIMIT]), list(images.order_by("-archived_at")[:LIST_LIMIT])


def chart_timeline_entries(*, patient, user, query):
    """For a chart's timeline (the TIMELINE contract in clinical/queries.py): documents (by their date)
    and photos (by the day taken) the user may see; archived ones stay off the chart. One counting
    query, and one for each of the two kinds the page shows."""
    documents = documents_visible_to(user, ClinicalDocument.objects.filter(patient=patient, is_archived=False))
    sources = [("document", documents.select_related("current_version"), {"on": "document_date"})]
    if user.has_perm("documents.view_patientimage"):
        sources.append(("image", PatientImage.objects.filter(patient=patient, is_archived=False), {"on": "taken_on"}))
    counted = [query.counts(qs, kind, **where) for kind, qs, where in sources]
    part = TimelinePart(counts=list(counted[0].union(*counted[1:], all=True)))
    for kind, qs, where in sources:
        if query.wants(kind):
            part.entries += entries_of(query.window(qs, kind, **where), kind, **where)
    return part
