"""Printing from the record page: who may print and file, the PDF response, the sick note and referral forms,
the audit entry of each print, and filing once (double submit, a failure leaves nothing)."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry, FormSubmission
from clinic.tests.concurrency import at_once
from clinic.tests.files import stored_files
from clinic.tests.submissions import token_for, token_on
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from documents import services
from documents.models import ClinicalDocument
from documents.tests.pages import messages_of, text
from documents.tests.printing import DRUG, LICENCE, pdf_text, signed_record

pytestmark = pytest.mark.django_db


def printout_url(record, kind="prescription"):
    return reverse("documents:record_printout", kwargs={"pk": record.pk, "kind": kind})


def letter_url(record, kind="sick-note"):
    return reverse("documents:record_letter", kwargs={"pk": record.pk, "kind": kind})


def pdf_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content)


def sick_note():
    day = timezone.localdate()
    return {
        "outcome": "not_fit",
        "start": str(day),
        "end": str(day + timedelta(days=6)),
        "condition": "Chest infection",
    }


# --- the PDF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["prescription", "visit-summary"])
def test_a_doctor_and_a_nurse_open_the_pdf_inline_under_a_sensible_name(kind, doctor_client, nurse):
    record = signed_record()
    for client in (doctor_client, nurse):
        response = client.get(printout_url(record, kind))
        content = pdf_of(response)
        disposition = response["Content-Disposition"]
        assert disposition.startswith("inline;") and f"{kind}-nwosu-" in disposition and ".pdf" in disposition
        assert response["Cache-Control"] == "private, no-store"
        body = pdf_text(content)
        assert "Amara Nwosu" in body and DRUG in body and "Dr Hana Okafor" in body and LICENCE in body


def test_the_old_prescription_address_serves_the_same_pdf(doctor_client):
    record = signed_record()
    old = pdf_of(doctor_client.get(reverse("clinical:prescription", args=[record.pk])))
    assert old == pdf_of(doctor_client.get(printout_url(record)))


@pytest.mark.parametrize("url", [printout_url, letter_url, lambda r: reverse("clinical:prescription", args=[r.pk])])
def test_a_draft_cannot_be_printed(url, doctor_client):
    draft = MedicalRecordFactory()
    MedicationFactory(record=draft)
    assert doctor_client.get(url(draft)).status_code == 404


def test_no_prescription_without_a_medicine_but_a_visit_summary(doctor_client):
    record = signed_record(medications=False)
    assert doctor_client.get(printout_url(record)).status_code == 404
    assert doctor_client.get(printout_url(record, "visit-summary")).status_code == 200
    assert doctor_client.get(printout_url(record, "no-such-kind")).status_code == 404
    assert doctor_client.get(printout_url(record, "sick-note")).status_code == 404  # it has a form of its own


def test_each_print_is_in_the_audit_trail_with_its_reference(doctor_client):
    record = signed_record()
    content = pdf_of(doctor_client.get(printout_url(record)))
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.patient_id == record.patient_id and entry.user_id == doctor_client.user.pk
    reference = entry.summary.rsplit(" ", 1)[-1]
    assert entry.summary.startswith("Prescription PDF RX-") and reference in pdf_text(content)


@pytest.mark.parametrize("role_client", ["reception", "manager", "administrator"])
def test_roles_that_do_not_read_records_are_refused(role_client, request):
    client = request.getfixturevalue(role_client)
    record = signed_record()
    assert client.get(printout_url(record)).status_code == 403
    assert client.post(printout_url(record)).status_code == 403
    assert client.get(letter_url(record)).status_code == 403
    assert not ClinicalDocument.objects.exists()


def test_a_nurse_prints_the_prescription_but_writes_no_sick_note_or_referral(nurse):
    record = signed_record()
    assert nurse.get(letter_url(record)).status_code == 403
    assert nurse.get(letter_url(record, "referral")).status_code == 403
    page = text(nurse.get(record.get_absolute_url()))
    assert reverse("clinical:prescription", args=[record.pk]) in page and letter_url(record) not in page


def test_the_record_page_offers_each_printout_and_filing(doctor_client):
    record = signed_record()
    page = text(doctor_client.get(record.get_absolute_url()))
    prescription = reverse("clinical:prescription", args=[record.pk])
    for url in (prescription, printout_url(record), printout_url(record, "visit-summary"), letter_url(record)):
        assert url in page
    assert letter_url(record, "referral") in page
    assert "File prescription to patient's documents" in page


def test_a_draft_page_offers_no_printout(doctor_client):
    draft = MedicalRecordFactory(author=doctor_client.user)
    MedicationFactory(record=draft)
    page = text(doctor_client.get(draft.get_absolute_url()))
    assert printout_url(draft) not in page and "Print prescription" not in page


def test_someone_who_may_not_file_sees_no_filing_button(doctor_client):
    from django.contrib.auth.models import Permission

    doctor_client.user.user_permissions.add(Permission.objects.get(codename="view_medicalrecord"))
    group_permissions = Permission.objects.filter(group__user=doctor_client.user, codename="add_clinicaldocument")
    for group in doctor_client.user.groups.all():
        group.permissions.remove(*group_permissions)
    record = signed_record()
    assert "File prescription" not in text(doctor_client.get(record.get_absolute_url()))
    assert doctor_client.post(printout_url(record)).status_code == 403


# --- the sick note and referral forms --------------------------------------------------------------


def test_the_sick_note_form_starts_with_the_diagnosis_and_offers_no_pdf_before_it_is_filled(doctor_client):
    record = signed_record()
    response = doctor_client.get(letter_url(record))
    page = text(response)
    assert response.status_code == 200 and "Community-acquired pneumonia" in page and "format=pdf" not in page


def test_a_filled_sick_note_offers_its_pdf_and_filing(doctor_client):
    record = signed_record()
    response = doctor_client.get(letter_url(record), sick_note())
    page = text(response)
    assert "format=pdf" in page and "Ready: document FW-" in page and token_on(response)
    pdf = pdf_of(doctor_client.get(letter_url(record), {**sick_note(), "format": "pdf"}))
    assert "You are not fit for work." in pdf_text(pdf) and "Chest infection" in pdf_text(pdf)


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"end": str(timezone.localdate() - timedelta(days=1))}, "end", "before the start"),
        ({"end": str(timezone.localdate() + timedelta(days=200))}, "end", "at most three months"),
        ({"start": "31/02/2026"}, "start", "valid date"),
        ({"condition": ""}, "condition", "required"),
        ({"outcome": "fit"}, "outcome", "valid choice"),
        ({"condition": "x" * 301}, "condition", "at most 300"),
    ],
)
def test_a_wrong_sick_note_is_shown_again_with_the_error_at_its_field(change, field, message, doctor_client):
    record = signed_record()
    response = doctor_client.get(letter_url(record), {**sick_note(), **change, "format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert message in " ".join(response.context["form"].errors[field])


def test_a_referral_letter_from_its_form(doctor_client):
    record = signed_record()
    data = {
        "recipient": "Riverside Chest Clinic",
        "specialty": "Respiratory",
        "urgency": "urgent",
        "reason": "Haemoptysis",
    }
    pdf = pdf_text(pdf_of(doctor_client.get(letter_url(record, "referral"), {**data, "format": "pdf"})))
    for said in ("Riverside Chest Clinic", "Respiratory", "Urgent", "Haemoptysis", "Crackles", "Penicillin", DRUG):
        assert said in pdf


# --- filing ----------------------------------------------------------------------------------------


def test_filing_stores_the_pdf_as_a_document_of_the_patient_linked_to_the_record(doctor_client, media):
    record = signed_record()
    page = doctor_client.get(record.get_absolute_url())
    response = doctor_client.post(printout_url(record), {"client_token": token_for(page, printout_url(record))})
    assert response.status_code == 302 and response["Location"] == reverse(
        "documents:patient", args=[record.patient_id]
    )
    document = ClinicalDocument.objects.get()
    assert (document.patient, document.medical_record, document.doc_type) == (
        record.patient,
        record,
        ClinicalDocument.Type.PRESCRIPTION,
    )
    assert document.title.startswith("Prescription RX-") and document.current_version.content_type == "application/pdf"
    with document.current_version.file.open("rb") as stored:
        assert DRUG in pdf_text(stored.read())
    assert stored_files(media) == [document.current_version.file.name]
    assert any("is filed in Amara Nwosu's documents" in m for m in messages_of(doctor_client.get(response["Location"])))


def test_a_double_submit_files_once(doctor_client, media):
    record = signed_record()
    token = str(uuid.uuid4())
    first = doctor_client.post(printout_url(record), {"client_token": token})
    second = doctor_client.post(printout_url(record), {"client_token": token})
    assert second["Location"] == first["Location"]
    assert ClinicalDocument.objects.count() == 1 and len(stored_files(media)) == 1
    assert FormSubmission.objects.get().result_url == first["Location"]


def test_filing_the_same_letter_again_from_a_new_page_is_refused_as_already_filed(doctor_client, media):
    record = signed_record()
    doctor_client.post(printout_url(record), {"client_token": str(uuid.uuid4())})
    again = doctor_client.post(printout_url(record), {"client_token": str(uuid.uuid4())})
    assert again.status_code == 200 and "already on the patient" in text(again)
    assert ClinicalDocument.objects.count() == 1 and len(stored_files(media)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_submits_at_once_file_one_document(media):
    record = signed_record()
    clients = []
    for _ in range(3):
        client = Client()
        client.force_login(record.author)
        clients.append(client)
    token = str(uuid.uuid4())
    outcomes = at_once(lambda i: clients[i].post(printout_url(record), {"client_token": token}), 3)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    document = ClinicalDocument.objects.get()
    assert {o.status_code for o in outcomes} == {302}
    assert {o["Location"] for o in outcomes} == {reverse("documents:patient", args=[record.patient_id])}
    assert stored_files(media) == [document.current_version.file.name]


def test_a_failure_while_filing_leaves_no_document_and_no_file_and_the_button_works_again(
    doctor_client, media, monkeypatch
):
    record = signed_record()
    token = str(uuid.uuid4())
    with monkeypatch.context() as patched:
        patched.setattr(services, "_make_current", broken)
        response = doctor_client.post(printout_url(record), {"client_token": token})
    assert response.status_code == 200 and "The file could not be stored; nothing was saved." in text(response)
    assert not ClinicalDocument.objects.exists() and stored_files(media) == []
    assert not FormSubmission.objects.exists()  # the token is given back: the same button tries again
    assert doctor_client.post(printout_url(record), {"client_token": token}).status_code == 302
    assert ClinicalDocument.objects.count() == 1


def broken(document, version):
    raise RuntimeError("the database went away")


def test_a_refusal_while_filing_is_said_and_leaves_no_file(doctor_client, media, monkeypatch):
    record = signed_record()

    def archived(*args, **kwargs):
        raise ValidationError("This patient's record is archived; restore it before filing anything new.")

    monkeypatch.setattr(services, "_check_links", archived)
    response = doctor_client.post(printout_url(record), {"client_token": str(uuid.uuid4())})
    assert response.status_code == 200
    assert "This patient's record is archived" in text(response)
    assert not ClinicalDocument.objects.exists() and stored_files(media) == []


def test_a_sick_note_is_filed_with_what_the_form_said_and_a_wrong_one_is_not(doctor_client, media):
    record = signed_record()
    ready = doctor_client.get(letter_url(record), sick_note())
    wrong = doctor_client.post(letter_url(record), {**sick_note(), "condition": "", "client_token": token_on(ready)})
    assert wrong.status_code == 200 and "condition" in wrong.context["form"].errors
    assert not ClinicalDocument.objects.exists() and stored_files(media) == []
    filed = doctor_client.post(letter_url(record), {**sick_note(), "client_token": token_on(ready)})
    assert filed.status_code == 302
    document = ClinicalDocument.objects.get()
    assert document.title.startswith("Fitness for work note FW-")
    with document.current_version.file.open("rb") as stored:
        assert "Chest infection" in pdf_text(stored.read())
