"""Documents and photos on the chart's timeline (documents.queries.chart_timeline_entries, the TIMELINE
slot of clinical/queries.py): they page with the clinical entries, ties at the start of a day
included, honour the kind and year filters, count only what the user may see, and keep a
2,000-entry chart's queries those of a 20-entry one."""

from datetime import date

import pytest
from hypothesis import given

from clinical.queries import ENTRY_KINDS, TimelineQuery, chart_timeline
from clinical.tests.test_chart_timeline import (
    CLINICAL_KINDS,
    EXAMPLES,
    FLAT_IDS,
    FLAT_PARAMS,
    PAGING,
    a_chart,
    check_flat,
    check_paging,
    check_whole_timeline,
    every_entry,
    tied_history,
)
from documents import services
from documents.models import ClinicalDocument
from documents.tests.factories import make_document, make_image, photo_upload
from staff.roles import NURSE, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db


def files_of_the_day(patient, day):
    """Two documents (one administrative) and a photo, all at the start of the day."""
    make_document(patient, document_date=day, title=f"Letter {day}", doc_type=ClinicalDocument.Type.REFERRAL)
    make_document(patient, document_date=day, title=f"Result {day}")
    make_image(patient, taken_on=day, uploaded=photo_upload(size=(40, 30)))


@pytest.fixture
def doctor(doctor_client):
    return DoctorFactory(user=doctor_client.user)


@pytest.fixture
def history(doctor):
    return tied_history(doctor, add_files=files_of_the_day)


def test_documents_and_photos_take_their_place_among_the_ties(history, doctor):
    check_whole_timeline(history, doctor.user, ENTRY_KINDS, 5 * (2 + 3 + 1 + 1 + 1 + 3) + 2)


@EXAMPLES
@given(**PAGING)
def test_paging_with_documents_and_photos_shows_every_entry_once_in_order(
    history, doctor, limit, kind, year, plan_status
):
    check_paging(history, doctor.user, limit, kind, year, plan_status)


@pytest.mark.parametrize(
    ("role", "kinds", "documents"),
    [
        (NURSE, ENTRY_KINDS, 10),
        (RECEPTIONIST, CLINICAL_KINDS | {"document"}, 5),  # administrative documents only, no photos
    ],
)
def test_each_role_sees_and_counts_only_what_it_may_see(history, role, kinds, documents):
    user = UserFactory(roles=[role])
    everything = every_entry(history, user)
    assert {e.kind for e in everything.entries} <= kinds
    assert len([e for e in everything.entries if e.kind == "document"]) == documents
    assert everything.total == len(everything.entries)
    for limit in (1, 4):
        check_paging(history, user, limit, "", None, "")


def test_archived_files_stay_off_the_chart(doctor):
    history = tied_history(doctor, add_files=files_of_the_day)
    document = ClinicalDocument.objects.filter(patient=history).first()
    services.archive_document(document=document, by=doctor.user, reason="Filed in error")
    page = chart_timeline(history, doctor.user, TimelineQuery(kinds=frozenset({"document"}), limit=100))
    assert document not in [e.obj for e in page.entries]
    assert page.total == 9


def files(patient):
    make_document(patient, document_date=date(2025, 6, 1))
    make_image(patient, taken_on=date(2025, 6, 2), uploaded=photo_upload(size=(40, 30)))


@pytest.mark.parametrize("params", [*FLAT_PARAMS, {"kind": "documents"}], ids=[*FLAT_IDS, "documents"])
def test_a_2000_entry_chart_with_files_costs_the_queries_of_a_20_entry_one(params, doctor_client, doctor):
    check_flat(doctor_client, doctor.user, a_chart(20, files), a_chart(2000, files), params)
