"""Every form that writes is saved once (clinic/idempotency.py): a replay, a double click or two
identical submits at the same instant make one write, and everyone lands on its result.

The writing views come from the URL resolver (test_access's walk), the forms from the templates,
so a new form or view without the token fails here until it has one (or a reason not to).
"""

import importlib
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponseRedirect
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from clinic.idempotency import ALREADY_SAVED, OncePerSubmission, submit_once
from clinic.models import AuditEntry, FormSubmission
from clinic.tests.concurrency import at_once
from clinic.tests.submissions import token_for, token_on, tokens_on
from clinical import services as clinical_services
from clinical.models import MedicalRecord, Medication, TreatmentPlan
from clinical.tests.factories import MedicalRecordFactory, ProcedureFactory, TreatmentPlanFactory
from clinical.tests.pages import plan_form, procedure_form, record_form
from documents import services as document_services
from documents.models import ClinicalDocument
from documents.tests.factories import make_document, make_image, pdf_upload, photo_upload
from finance.tests.factories import CompletedVisitFactory, DoneProcedureFactory
from finance.tests.test_views import pay_form
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from patients.tests.test_views import patient_form
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from scheduling.tests.test_views_pages import booking
from staff.roles import ADMINISTRATOR, DOCTOR, NURSE, RECEPTIONIST
from staff.services import create_api_token
from staff.tests.factories import DoctorFactory, SpecialtyFactory, UserFactory
from staff.tests.test_views import edit_user_form, new_user_form, profile_form, row
from tests.test_access import URLS, _view_class

# POST views that write no clinic data: signing in and out, passwords, two-factor codes and sessions.
# They change who may sign in, not a record; each is safe to repeat (a second sign-out, a second
# reset find nothing left to do) or must not be replayable by design (a code is good once anyway).
NOT_DOMAIN_WRITES = {
    "login": "signing in",
    "logout": "signing out",
    "password_change": "one's own password (Django's form)",
    "staff:two_factor_setup": "two-factor set-up: the code proves the key, a replayed code is refused",
    "staff:new_backup_codes": "two-factor backup codes: each request deliberately shows a new set",
    "staff:two_factor_disable": "two-factor off: a second time finds it off",
    "staff:two_factor_verify": "the sign-in's second step",
    "staff:sign_out_others": "sessions: a second time finds no other session",
    "staff:reset_two_factor": "an administrator resets someone's two-factor sign-in: a second time finds none",
    "staff:sign_out_everywhere": "an administrator signs someone out: a second time finds no session",
    "session:keep_alive": "renews one's session: twice is the same as once",
    "session:draft": "keeps one's unsaved text: each call replaces the one before",
    "session:draft_discard": "throws one's kept text away: a second time finds none",
}
# The same forms by template (plus the sign-out button in the navigation and the admin's own pages).
TEMPLATES_WITHOUT_TOKEN = {
    "registration/login.html",
    "registration/password_change_form.html",
    "registration/two_factor_verify.html",
    "partials/_nav.html",
    "staff/two_factor.html",
    "staff/two_factor_setup.html",
    "staff/sessions.html",
    "staff/staff_security.html",
}
TEMPLATES = Path(settings.BASE_DIR) / "templates"
POST_FORM = re.compile(r"<form\b[^>]*method=[\"']post[\"'][^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)


def post_views():
    """URL name -> view class, for every app URL whose view accepts POST."""
    found = {}
    for name, pattern in URLS.items():
        view_class = _view_class(pattern)
        if view_class is not None and "post" in view_class.http_method_names and hasattr(view_class, "post"):
            found[name] = view_class
    return found


# --- every form and every writing view carries the guard ------------------------------------------


def test_every_view_that_accepts_post_is_saved_once_or_named_with_a_reason():
    views = post_views()
    unguarded = {name for name, view in views.items() if not issubclass(view, OncePerSubmission)}
    assert unguarded == set(NOT_DOMAIN_WRITES)
    assert set(WRITES) == set(views) - set(NOT_DOMAIN_WRITES), "each writing view needs a replay case in WRITES"


def app_templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if not name.startswith("admin/"):  # the admin is the managers' workplace, outside this rule
            yield name, path.read_text()


def test_every_post_form_in_the_app_templates_carries_the_token():
    missing, seen = [], set()
    for name, text in app_templates():
        forms = POST_FORM.findall(text)
        if forms:
            seen.add(name)
        if name in TEMPLATES_WITHOUT_TOKEN:
            continue
        for body in forms:
            if "{% form_token %}" not in body:
                missing.append(name)
    assert missing == []
    assert seen >= TEMPLATES_WITHOUT_TOKEN, "an exempt template no longer has a form: drop it from the list"


@pytest.mark.django_db
def test_each_form_on_a_page_gets_its_own_token(reception):
    for _ in range(3):
        AppointmentFactory(start=local(timezone.localdate(), 10 + _))
    page = reception.get(reverse("home"))
    tokens = tokens_on(page)
    assert len(tokens) >= 3
    assert len(set(tokens)) == len(tokens)
    assert token_on(reception.get(reverse("home"))) not in tokens  # and a fresh one each time it is shown


# --- each writing form, sent twice with the same body ---------------------------------------------


@dataclass
class Form:
    client: Client
    url: str
    data: Callable[[], dict]  # built afresh for each submit: an uploaded file is read once


def _patient_create(client_for):
    return Form(client_for(RECEPTIONIST), reverse("patients:create"), lambda: patient_form())


def _patient_edit(client_for):
    patient = PatientFactory()
    return Form(client_for(RECEPTIONIST), reverse("patients:edit", args=[patient.pk]), lambda: patient_form())


def _patient_archive(name, archived):
    def build(client_for):
        patient = PatientFactory(is_archived=archived)
        return Form(client_for(RECEPTIONIST), reverse(name, args=[patient.pk]), dict)

    return build


def _allergies_checked(client_for):
    patient = PatientFactory()
    return Form(client_for(NURSE), reverse("patients:allergies_checked", args=[patient.pk]), dict)


ALLERGY = {"substance": "Latex", "reaction": "Wheeze", "severity": "severe", "is_active": "on"}
CONDITION = {"name": "Type 2 diabetes", "icd10_code": "E11.9", "onset_date": "2019-06-01", "status": "active"}


def _child(name, factory, data):
    def build(client_for):
        if name.endswith("_create"):
            args = [PatientFactory().pk]
        else:
            existing = factory()
            args = [existing.patient_id, existing.pk]
        return Form(client_for(NURSE), reverse(name, args=args), lambda: {**data, "reaction": "Rash"})

    return build


def _book(client_for):
    patient, doctor = PatientFactory(), DoctorFactory()
    return Form(client_for(RECEPTIONIST), reverse("scheduling:book"), lambda: booking(patient, doctor))


def _reschedule(client_for):
    appointment = AppointmentFactory()
    day = (timezone.localdate() + timedelta(days=2)).isoformat()
    data = {"doctor": appointment.doctor_id, "date": day, "time": "14:00", "minutes": "30"}
    return Form(client_for(RECEPTIONIST), reverse("scheduling:reschedule", args=[appointment.pk]), lambda: data)


def _cancel(client_for):
    appointment = AppointmentFactory()
    url = reverse("scheduling:cancel", args=[appointment.pk])
    return Form(client_for(RECEPTIONIST), url, lambda: {"reason": "Patient phoned"})


def _step(name, role, data=dict, **appointment):
    def build(client_for):
        pk = AppointmentFactory(**{key: value() if callable(value) else value for key, value in appointment.items()}).pk
        return Form(client_for(role), reverse(name, args=[pk]), data)

    return build


def _undo_booking(client_for):
    client = client_for(RECEPTIONIST)
    pk = AppointmentFactory(booked_by=client.user).pk  # booked just now by the one who undoes it
    return Form(client, reverse("scheduling:undo_booking", args=[pk]), dict)


def _today_at_ten():
    return local(timezone.localdate(), 10)


def _two_hours_ago():
    return timezone.now() - timedelta(hours=2)


def _staff_create(client_for):
    return Form(client_for(ADMINISTRATOR), reverse("staff:create"), lambda: new_user_form(roles=[NURSE]))


def _staff_edit(client_for):
    user = UserFactory(roles=[NURSE])
    data = edit_user_form(user, [NURSE, RECEPTIONIST])
    return Form(client_for(ADMINISTRATOR), reverse("staff:edit", args=[user.pk]), lambda: data)


def _staff_activation(name, active):
    def build(client_for):
        user = UserFactory(is_active=active)
        return Form(client_for(ADMINISTRATOR), reverse(name, args=[user.pk]), dict)

    return build


def _doctor_profile(client_for):
    user, specialty = UserFactory(roles=[DOCTOR]), SpecialtyFactory()
    url = reverse("staff:doctor_profile", args=[user.pk])
    return Form(client_for(ADMINISTRATOR), url, lambda: profile_form(specialty, [row(0, "09:00", "17:00")]))


def _api_token_create(client_for):
    return Form(client_for(RECEPTIONIST), reverse("staff:api_tokens"), lambda: {"name": "Website widget", "days": "30"})


def _api_token_revoke(client_for):
    client = client_for(RECEPTIONIST)
    token, _key = create_api_token(user=client.user, name="Old widget", days=30)
    return Form(client, reverse("staff:api_token_revoke", args=[token.pk]), dict)


def _new_record(client_for):
    return Form(client_for(DOCTOR), reverse("clinical:record_create", args=[PatientFactory().pk]), dict)


def _visit(name, status):
    def build(client_for):
        now = timezone.now()
        started = now if status == Appointment.Status.IN_PROGRESS else None
        appointment = AppointmentFactory(start=_today_at_ten(), status=status, checked_in_at=now, started_at=started)
        return Form(client_for(DOCTOR), reverse(name, args=[appointment.pk]), dict)

    return build


def _vitals(client_for):
    appointment = AppointmentFactory(start=_today_at_ten(), status=Appointment.Status.CHECKED_IN)
    url = reverse("clinical:vitals", args=[appointment.pk])
    return Form(client_for(NURSE), url, lambda: {"pulse": "72", "spo2": "97"})


def _record_edit(client_for):
    client = client_for(DOCTOR)
    record = MedicalRecordFactory(author=client.user)
    url = reverse("clinical:record_edit", args=[record.pk])
    return Form(client, url, lambda: record_form(record, meds=["Amoxicillin"], diagnosis="Tonsillitis"))


def _record_sign(client_for):
    client = client_for(DOCTOR)
    record = MedicalRecordFactory(author=client.user, diagnosis="Tonsillitis")
    return Form(client, reverse("clinical:record_sign", args=[record.pk]), dict)


def _record_amend(client_for):
    client = client_for(DOCTOR)
    record = MedicalRecordFactory(author=client.user, diagnosis="Viral pharyngitis")
    clinical_services.sign_record(record=record, by=client.user)
    data = {"section": "diagnosis", "text": "Bacterial tonsillitis", "reason": "Swab result"}
    return Form(client, reverse("clinical:record_amend", args=[record.pk]), lambda: data)


def _plan_create(client_for):
    client, doctor = client_for(DOCTOR), DoctorFactory()
    url = reverse("clinical:plan_create", args=[PatientFactory().pk])
    return Form(client, url, lambda: plan_form(doctor))


def _plan_edit(client_for):
    plan = TreatmentPlanFactory()
    url = reverse("clinical:plan_edit", args=[plan.pk])
    return Form(client_for(DOCTOR), url, lambda: plan_form(plan.doctor, goals="BP below 130/80"))


def _plan_status(client_for):
    plan = TreatmentPlanFactory()
    url = reverse("clinical:plan_status", args=[plan.pk])
    return Form(client_for(DOCTOR), url, lambda: {"status": TreatmentPlan.Status.ACTIVE})


def _procedure_create(client_for):
    plan = TreatmentPlanFactory()
    url = reverse("clinical:procedure_create", args=[plan.patient_id])
    return Form(client_for(DOCTOR), url, lambda: procedure_form(plan=plan.pk))


def _procedure_edit(client_for):
    procedure = ProcedureFactory()
    url = reverse("clinical:procedure_edit", args=[procedure.pk])
    return Form(client_for(DOCTOR), url, lambda: procedure_form(plan=procedure.plan_id, notes="Fasting first"))


def _pay(name, factory):
    def build(client_for):
        item = factory()
        return Form(client_for(RECEPTIONIST), reverse(name, args=[item.pk]), lambda: pay_form(amount=item_fee(item)))

    return build


def item_fee(item):
    from finance.services import standard_fee

    return standard_fee(item)


def _upload(client_for):
    url = reverse("documents:upload", args=[PatientFactory().pk])
    data = {"doc_type": ClinicalDocument.Type.LAB_RESULT, "title": "Full blood count", "notes": ""}
    day = str(timezone.localdate() - timedelta(days=1))
    return Form(client_for(DOCTOR), url, lambda: {**data, "document_date": day, "file": pdf_upload(text="FBC")})


def _file_printout(client_for):
    from documents.tests.printing import signed_record

    url = reverse("documents:record_printout", kwargs={"pk": signed_record().pk, "kind": "prescription"})
    return Form(client_for(DOCTOR), url, dict)


def _file_sick_note(client_for):
    from documents.tests.printing import signed_record

    url = reverse("documents:record_letter", kwargs={"pk": signed_record().pk, "kind": "sick-note"})
    day = timezone.localdate()
    note = {"outcome": "not_fit", "start": str(day), "end": str(day + timedelta(days=6)), "condition": "Flu"}
    return Form(client_for(DOCTOR), url, lambda: note)


def _image_upload(client_for):
    url = reverse("documents:image_upload", args=[PatientFactory().pk])
    day = str(timezone.localdate() - timedelta(days=1))
    return Form(
        client_for(DOCTOR), url, lambda: {"body_site": "Left shin", "taken_on": day, "file": photo_upload(seed=7)}
    )


def _replace(client_for):
    url = reverse("documents:replace", args=[make_document().pk])
    return Form(client_for(DOCTOR), url, lambda: {"note": "Corrected", "file": pdf_upload(text="Corrected FBC")})


def _archive(name, make):
    def build(client_for):
        return Form(client_for(DOCTOR), reverse(name, args=[make().pk]), lambda: {"reason": "Filed in error"})

    return build


def _restore(name, make, archive):
    def build(client_for):
        item = make()
        archive(item, by=item.uploaded_by, reason="Filed in error")
        return Form(client_for(ADMINISTRATOR), reverse(name, args=[item.pk]), dict)

    return build


def _archive_document(document, by, reason):
    document_services.archive_document(document=document, by=by, reason=reason)


def _archive_image(image, by, reason):
    document_services.archive_image(image=image, by=by, reason=reason)


WRITES = {
    "patients:create": _patient_create,
    "patients:edit": _patient_edit,
    "patients:archive": _patient_archive("patients:archive", archived=False),
    "patients:restore": _patient_archive("patients:restore", archived=True),
    "patients:allergies_checked": _allergies_checked,
    "patients:allergy_create": _child("patients:allergy_create", AllergyFactory, ALLERGY),
    "patients:allergy_edit": _child("patients:allergy_edit", AllergyFactory, ALLERGY),
    "patients:condition_create": _child("patients:condition_create", ConditionFactory, CONDITION),
    "patients:condition_edit": _child("patients:condition_edit", ConditionFactory, CONDITION),
    "scheduling:book": _book,
    "scheduling:reschedule": _reschedule,
    "scheduling:undo_booking": _undo_booking,
    "scheduling:cancel": _cancel,
    "scheduling:confirm": _step("scheduling:confirm", RECEPTIONIST),
    "scheduling:check_in": _step("scheduling:check_in", RECEPTIONIST, start=_today_at_ten),
    "scheduling:undo_check_in": _step(
        "scheduling:undo_check_in", RECEPTIONIST, start=_today_at_ten, status=Appointment.Status.CHECKED_IN
    ),
    "scheduling:no_show": _step("scheduling:no_show", RECEPTIONIST, start=_two_hours_ago),
    "scheduling:start": _step("scheduling:start", DOCTOR, start=_today_at_ten, status=Appointment.Status.CHECKED_IN),
    "scheduling:complete": _step(
        "scheduling:complete",
        DOCTOR,
        data=lambda: {"anyway": "1"},
        start=_today_at_ten,
        status=Appointment.Status.IN_PROGRESS,
    ),
    "staff:create": _staff_create,
    "staff:edit": _staff_edit,
    "staff:deactivate": _staff_activation("staff:deactivate", active=True),
    "staff:reactivate": _staff_activation("staff:reactivate", active=False),
    "staff:doctor_profile": _doctor_profile,
    "staff:api_tokens": _api_token_create,
    "staff:api_token_revoke": _api_token_revoke,
    "clinical:record_create": _new_record,
    "clinical:visit_start": _visit("clinical:visit_start", Appointment.Status.CHECKED_IN),
    "clinical:visit_record": _visit("clinical:visit_record", Appointment.Status.IN_PROGRESS),
    "clinical:vitals": _vitals,
    "clinical:record_edit": _record_edit,
    "clinical:record_sign": _record_sign,
    "clinical:record_amend": _record_amend,
    "clinical:plan_create": _plan_create,
    "clinical:plan_edit": _plan_edit,
    "clinical:plan_status": _plan_status,
    "clinical:procedure_create": _procedure_create,
    "clinical:procedure_edit": _procedure_edit,
    "finance:pay_visit": _pay("finance:pay_visit", CompletedVisitFactory),
    "finance:pay_procedure": _pay("finance:pay_procedure", DoneProcedureFactory),
    "documents:upload": _upload,
    "documents:image_upload": _image_upload,
    "documents:replace": _replace,
    "documents:archive": _archive("documents:archive", make_document),
    "documents:image_archive": _archive("documents:image_archive", make_image),
    "documents:restore": _restore("documents:restore", make_document, _archive_document),
    "documents:image_restore": _restore("documents:image_restore", make_image, _archive_image),
    "documents:record_printout": _file_printout,
    "documents:record_letter": _file_sick_note,
}
# The newer features keep their cases beside their own tests.
WRITES.update(importlib.import_module("waitlist.tests.idempotency_cases").WRITES)
WRITES.update(importlib.import_module("reminders.tests.idempotency_cases").WRITES)
_SERIES = importlib.import_module("scheduling.tests.series_access_rules").IDEMPOTENCY_WRITES
_FEEDS = importlib.import_module("staff.tests.test_calendar_feed_replays").FEED_WRITES
WRITES.update({name: lambda cf, b=b: Form(*b(cf)) for name, b in {**_SERIES, **_FEEDS}.items()})

SNAPSHOT_APPS = ("patients", "scheduling", "reminders", "waitlist", "staff", "clinical", "finance", "documents")


def snapshot(media):
    """Every row of the clinic's data, the audit trail's length and the stored files."""
    rows = {}
    for app in SNAPSHOT_APPS:
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            if not model._meta.managed:
                continue  # database views (reports) hold no rows of their own
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    files = sorted(p.relative_to(media).as_posix() for p in Path(media).rglob("*") if p.is_file())
    return rows, AuditEntry.objects.count(), files


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_form_sent_twice_is_saved_once(name, client_for, media):
    form = WRITES[name](client_for)
    token = str(uuid.uuid4())
    before = snapshot(media)

    first = form.client.post(form.url, {**form.data(), "client_token": token})
    assert first.status_code == 302, first.content.decode()[:2000]
    saved = snapshot(media)
    assert saved != before, "the first submit wrote nothing: the case does not test a write"

    second = form.client.post(form.url, {**form.data(), "client_token": token})

    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert ALREADY_SAVED in messages_of(second)
    assert snapshot(media) == saved  # no second row, change, audit entry or file
    assert FormSubmission.objects.get().result_url == first["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["patients:allergy_create", "clinical:record_edit", "clinical:plan_create"])
def test_control_the_same_form_without_a_token_writes_again(name, client_for, media):
    # Shows the table above would notice a missing guard: the same two submits, no token.
    form = WRITES[name](client_for)
    form.client.post(form.url, form.data())
    once = snapshot(media)
    second = form.client.post(form.url, form.data())
    assert second.status_code in (200, 302)
    assert snapshot(media) != once


# --- what the guard gives back, and to whom --------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_form_gives_its_token_back_for_the_corrected_submit(nurse):
    patient = PatientFactory()
    url = reverse("patients:allergy_create", args=[patient.pk])
    token = token_on(nurse.get(url))

    refused = nurse.post(url, {**ALLERGY, "substance": "", "client_token": token})
    assert refused.status_code == 200
    assert not FormSubmission.objects.exists()

    saved = nurse.post(url, {**ALLERGY, "client_token": token})
    assert saved.status_code == 302
    assert patient.allergies.count() == 1


@pytest.mark.django_db
def test_a_form_that_fails_half_way_gives_its_token_back(doctor_client, monkeypatch):
    client = doctor_client
    record = MedicalRecordFactory(author=client.user)
    url = reverse("clinical:record_edit", args=[record.pk])
    data = {**record_form(record, meds=["Amoxicillin"]), "client_token": str(uuid.uuid4())}

    def broken(**kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(clinical_services, "save_draft", broken)
        with pytest.raises(RuntimeError):
            client.post(url, data)
    assert not FormSubmission.objects.exists()

    assert client.post(url, data).status_code == 302
    assert Medication.objects.filter(record=record).count() == 1


@pytest.mark.django_db
def test_someone_elses_token_is_refused_and_writes_nothing(client_for):
    first, second = client_for(NURSE), client_for(DOCTOR)
    patient = PatientFactory()
    url = reverse("patients:allergy_create", args=[patient.pk])
    token = str(uuid.uuid4())
    assert first.post(url, {**ALLERGY, "client_token": token}).status_code == 302

    assert second.post(url, {**ALLERGY, "substance": "Penicillin", "client_token": token}).status_code == 403
    assert list(patient.allergies.values_list("substance", flat=True)) == ["Latex"]


@pytest.mark.django_db
def test_a_replayed_draft_does_not_overwrite_a_later_save(doctor_client):
    record = MedicalRecordFactory(author=doctor_client.user)
    url = reverse("clinical:record_edit", args=[record.pk])
    earlier = {**record_form(record, diagnosis="Viral pharyngitis"), "client_token": token_on(doctor_client.get(url))}
    doctor_client.post(url, earlier)
    later = {**record_form(record, diagnosis="Bacterial tonsillitis"), "client_token": token_on(doctor_client.get(url))}
    doctor_client.post(url, later)
    audit_entries = AuditEntry.objects.count()

    replay = doctor_client.post(url, earlier)  # the browser's Back, then "resend"

    assert replay.status_code == 302
    assert ALREADY_SAVED in messages_of(replay)
    record.refresh_from_db()
    assert record.diagnosis == "Bacterial tonsillitis"
    assert AuditEntry.objects.count() == audit_entries


@pytest.mark.django_db
def test_a_replayed_status_step_writes_no_second_audit_entry(reception):
    appointment = AppointmentFactory(start=local(timezone.localdate(), 10))
    page = reception.get(appointment.get_absolute_url())
    url = reverse("scheduling:check_in", args=[appointment.pk])
    token = token_for(page, url)
    reception.post(url, {"client_token": token})
    entries = AuditEntry.objects.count()

    replay = reception.post(url, {"client_token": token})

    assert ALREADY_SAVED in messages_of(replay)
    assert AuditEntry.objects.count() == entries
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN


# --- two identical submits at the same instant -----------------------------------------------------

THREADS = 10


def _signed_in_clients(user, count):
    clients = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def _draft_with_a_new_drug(token=None):
    author = UserFactory(roles=[DOCTOR])
    record = MedicalRecordFactory(author=author, patient=PatientFactory())
    data = record_form(record, meds=["Amoxicillin"], diagnosis="Tonsillitis")
    if token:
        data["client_token"] = token
    return author, record, data


@pytest.mark.django_db(transaction=True)
def test_ten_identical_draft_saves_at_once_add_the_drug_once():
    author, record, data = _draft_with_a_new_drug(token=str(uuid.uuid4()))
    clients = _signed_in_clients(author, THREADS)
    url = reverse("clinical:record_edit", args=[record.pk])

    outcomes = at_once(lambda i: clients[i].post(url, data), THREADS)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert {o.status_code for o in outcomes} == {302}
    assert {o["Location"] for o in outcomes} == {url}  # everyone lands on the saved draft
    assert Medication.objects.filter(record=record).count() == 1
    assert sum(ALREADY_SAVED in messages_of(o) for o in outcomes) == THREADS - 1
    assert MedicalRecord.objects.get(pk=record.pk).diagnosis == "Tonsillitis"


@pytest.mark.django_db(transaction=True)
def test_control_ten_identical_draft_saves_without_the_token_add_the_drug_ten_times():
    # The reported bug, reproduced with the guard left out (no token): one row per submit.
    author, record, data = _draft_with_a_new_drug()
    clients = _signed_in_clients(author, THREADS)
    url = reverse("clinical:record_edit", args=[record.pk])

    outcomes = at_once(lambda i: clients[i].post(url, data), THREADS)

    assert {getattr(o, "status_code", o) for o in outcomes} == {302}
    assert Medication.objects.filter(record=record).count() == THREADS


@pytest.mark.django_db(transaction=True)
def test_identical_uploads_at_once_file_one_document_and_store_one_file(media):
    doctor, patient = UserFactory(roles=[DOCTOR]), PatientFactory()
    clients = _signed_in_clients(doctor, 4)
    url = reverse("documents:upload", args=[patient.pk])
    token, day = str(uuid.uuid4()), str(timezone.localdate() - timedelta(days=1))

    def upload(i):
        data = {"doc_type": ClinicalDocument.Type.LAB_RESULT, "title": "FBC", "document_date": day}
        return clients[i].post(url, {**data, "file": pdf_upload(text="FBC"), "client_token": token})

    outcomes = at_once(upload, 4)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    document = ClinicalDocument.objects.get()
    assert {o.status_code for o in outcomes} == {302}
    assert {o["Location"] for o in outcomes} == {document.get_absolute_url()}
    assert [p.name for p in Path(media).rglob("*") if p.is_file()] == [Path(document.current_version.file.name).name]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite writes one transaction at a time by design")
def test_a_form_being_saved_does_not_hold_up_another_persons_form():
    """Only twins of one submission wait for each other: a booking still being saved at one desk
    does not queue the next desk's booking (one lock for every form did, under a busy front desk)."""
    inside, release = threading.Event(), threading.Event()

    def slow():
        inside.set()
        release.wait(timeout=10)
        return HttpResponseRedirect("/first/")

    def posted(user):
        request = RequestFactory().post("/form/", {"client_token": str(uuid.uuid4())})
        request.user = user
        return request

    first, second = posted(UserFactory()), posted(UserFactory())
    waited = {}

    def the_other_desk(_):
        inside.wait(timeout=10)
        started = time.monotonic()
        response = submit_once(second, lambda: HttpResponseRedirect("/second/"))
        waited["seconds"] = time.monotonic() - started
        release.set()
        return response

    outcomes = at_once(lambda i: submit_once(first, slow) if i == 0 else the_other_desk(i), 2)

    assert [o["Location"] for o in outcomes] == ["/first/", "/second/"]
    assert waited["seconds"] < 2.5  # released after 10 s at the latest: not waiting for the first form
    assert set(FormSubmission.objects.values_list("result_url", flat=True)) == {"/first/", "/second/"}
