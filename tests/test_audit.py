"""The audit trail: an entry for each kind of access and change, written in the same transaction,
append-only through every path on both databases, and a chain that finds tampering."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from clinic import audit
from clinic.models import AuditEntry, AuditTrailError
from clinic.tests.concurrency import at_once
from clinical import services as clinical_services
from clinical.tests.factories import MedicalRecordFactory, SignedRecordFactory
from documents import services as document_services
from documents.tests.factories import make_document, make_image
from finance import services as finance_services
from finance.models import PaymentMethod
from finance.tests.factories import CompletedVisitFactory, ExpenseFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory
from scheduling import services as scheduling_services
from scheduling.tests.factories import AppointmentFactory, tomorrow_at
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def newest(**filters):
    return AuditEntry.objects.filter(**filters).order_by("-id").first()


def actions_on(obj):
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- what is recorded ----------------------------------------------------------------------------


def test_a_change_made_in_a_request_names_who_when_what_and_from_where(reception):
    response = reception.post(
        reverse("patients:create"),
        {
            "first_name": "Ines",
            "last_name": "Quarshie",
            "date_of_birth": "1980-02-03",
            "sex": "female",
            "phone": "07700 900123",
        },
        HTTP_USER_AGENT="Firefox/140 (front desk 2)",
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(last_name="Quarshie")

    entry = newest(object_type="patients.patient")
    assert entry.action == AuditEntry.Action.CREATE
    assert (entry.user, entry.username) == (reception.user, reception.user.username)
    assert entry.object_id == str(patient.pk) and entry.patient == patient
    assert entry.ip == "192.0.2.44" and entry.user_agent == "Firefox/140 (front desk 2)"
    assert entry.request_id == response["X-Request-ID"]
    assert timezone.now() - entry.at < timedelta(minutes=1)


def test_a_change_lists_the_fields_it_changed_and_nothing_when_nothing_changed():
    patient = PatientFactory(phone="07700 900001")
    patient = Patient.objects.get(pk=patient.pk)
    patient.phone = "07700 900002"
    patient.email = "new@example.org"
    patient.save()
    assert newest().summary == "changed: email, phone"

    before = AuditEntry.objects.count()
    Patient.objects.get(pk=patient.pk).save()  # the same values again
    assert AuditEntry.objects.count() == before


def test_archive_and_restore_of_a_patient(reception):
    patient = PatientFactory()
    reception.post(reverse("patients:archive", args=[patient.pk]))
    reception.post(reverse("patients:restore", args=[patient.pk]))
    assert actions_on(patient)[-2:] == ["archive", "restore"]


# At frozen moments: a visit that began five minutes ago is yesterday's just after midnight, and a patient
# is checked in only on the appointment's day (the test once failed when it ran at 00:03).
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 6, 0, 3, tzinfo=UTC),  # just after midnight in London
        datetime(2026, 12, 31, 23, 55, tzinfo=UTC),  # New Year's Eve
        datetime(2027, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 BST, the clocks just went forward
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT, the second 01:30 that night
        datetime(2027, 6, 30, 23, 3, tzinfo=UTC),  # 00:03 BST: still 30 June in UTC
        datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    ],
    ids=lambda m: m.isoformat(),
)
def test_appointment_status_changes_and_reschedules(moment):
    with time_machine.travel(moment, tick=False):
        check_in_and_reschedule()


def check_in_and_reschedule():
    now = timezone.now()  # UTC: local wall-clock arithmetic loses the fold in the repeated hour
    appointment = AppointmentFactory(start=now, end=now + timedelta(minutes=20))
    appointment.refresh_from_db()
    clinic_user = UserFactory()
    scheduling_services.check_in(appointment=appointment, by=clinic_user)
    entry = newest(object_type="scheduling.appointment")
    assert (entry.action, entry.summary) == ("status", "status: scheduled → checked_in")
    assert entry.patient_id == appointment.patient_id

    other = AppointmentFactory(start=tomorrow_at(12))
    scheduling_services.reschedule_appointment(appointment=other, start=tomorrow_at(14), by=clinic_user)
    entry = newest(object_type="scheduling.appointment")
    day = f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}"
    assert (entry.action, entry.summary) == ("reschedule", f"{day} 12:00–12:20 → {day} 14:00–14:20")


def test_signing_and_amending_a_record_are_named_and_belong_to_the_patient():
    record = MedicalRecordFactory(diagnosis="Tension headache")
    record = clinical_services.sign_record(record=record, by=record.author)
    assert actions_on(record) == ["create", "sign"]
    amendment = clinical_services.amend_record(
        record=record, by=record.author, section="plan", text="Review in 2 weeks", reason="Omitted"
    )
    entry = newest(object_type="clinical.amendment")
    assert entry.action == "amend" and entry.object_id == str(amendment.pk)
    assert entry.patient_id == record.patient_id


def test_documents_uploaded_archived_and_downloaded():
    document = make_document()
    by = document.uploaded_by
    document_services.archive_document(document=document, by=by, reason="Wrong patient")
    document_services.restore_document(document=document)
    # Created, then pointed at its first version, archived and restored.
    assert actions_on(document) == ["create", "change", "archive", "restore"]
    version = document.versions.get()
    assert actions_on(version) == ["create"]
    assert newest(object_type="documents.documentversion").patient_id == document.patient_id


def test_payments_and_their_reversals():
    visit = CompletedVisitFactory()
    payment = finance_services.record_payment(
        item=visit, amount=finance_services.standard_fee(visit), method=PaymentMethod.CASH, received_by=UserFactory()
    )
    refund = finance_services.reverse_entry(entry=payment, reason="Charged twice", by=UserFactory())
    assert actions_on(payment) == ["create"]
    assert actions_on(refund) == ["reverse"]
    assert newest(object_type="finance.payment").patient_id == visit.patient_id
    expense = ExpenseFactory()
    assert newest(object_type="finance.expense").patient_id is None and actions_on(expense) == ["create"]


def test_reading_a_chart_a_record_and_a_photo_is_recorded(doctor_client):
    record = SignedRecordFactory()
    image = make_image(patient=record.patient)
    patient = record.patient

    doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    assert (newest().action, newest().summary, newest().patient) == ("view", "chart", patient)
    doctor_client.get(reverse("clinical:record", args=[record.pk]))
    assert newest().object_type == "clinical.medicalrecord" and newest().patient == patient
    response = doctor_client.get(reverse("documents:image_file", args=[image.pk]))
    b"".join(response.streaming_content)
    assert (newest().action, newest().object_id) == ("download", str(image.pk))

    # Thumbnails come with a page whose own view is recorded; they add nothing.
    before = AuditEntry.objects.count()
    doctor_client.get(reverse("documents:image_thumbnail", args=[image.pk]))
    assert AuditEntry.objects.count() == before


def test_a_search_records_what_was_asked_and_how_many_were_revealed(reception):
    PatientFactory(last_name="Oyelaran")
    PatientFactory(last_name="Oyelaran")
    reception.get(reverse("patients:list"), {"q": "oyel"})
    entry = newest()
    assert (entry.action, entry.summary, entry.patient) == ("search", 'patients: "oyel", 2 found', None)


def test_a_refused_page_records_nothing(manager):
    patient = PatientFactory()
    before = AuditEntry.objects.count()
    assert manager.get(reverse("clinical:chart", args=[patient.pk])).status_code == 403
    assert AuditEntry.objects.count() == before


def test_commands_are_recorded_as_the_system():
    PatientFactory()
    entry = newest()
    assert entry.user is None and entry.username == "" and entry.user_agent.startswith("manage.py")


# --- same transaction ----------------------------------------------------------------------------


def test_when_the_entry_cannot_be_written_the_change_is_not_made(monkeypatch):
    patient = PatientFactory(phone="07700 900001")
    patient = Patient.objects.get(pk=patient.pk)

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)
    patient.phone = "07700 999999"
    with pytest.raises(RuntimeError), transaction.atomic():
        patient.save()
    assert Patient.objects.get(pk=patient.pk).phone == "07700 900001"


def test_when_the_change_is_refused_no_entry_is_left():
    first = AppointmentFactory(start=tomorrow_at(10))
    before = AuditEntry.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        # The database's own double-booking guard refuses the overlap.
        AppointmentFactory(doctor=first.doctor, start=tomorrow_at(10, 10))
    assert AuditEntry.objects.count() == before


def test_a_page_whose_view_cannot_be_recorded_is_not_served(doctor_client, monkeypatch):
    patient = PatientFactory()

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("clinic.audit.record", broken)
    doctor_client.raise_request_exception = False
    assert doctor_client.get(reverse("clinical:chart", args=[patient.pk])).status_code == 500


# --- append-only ---------------------------------------------------------------------------------


@pytest.fixture
def entries():
    PatientFactory.create_batch(3)
    audit.seal()  # PostgreSQL seals after commit, and a test's transaction never commits
    return AuditEntry.objects.order_by("id")


def test_no_orm_path_changes_or_deletes_an_entry(entries):
    entry = entries.first()
    with pytest.raises(AuditTrailError):
        entries.update(summary="nothing happened")
    with pytest.raises(AuditTrailError):
        entries.delete()
    with pytest.raises(AuditTrailError):
        AuditEntry.objects.bulk_create([AuditEntry(seq=999, at=timezone.now(), action="view", prev_hash="", hash="x")])
    with pytest.raises(AuditTrailError):
        AuditEntry.objects.bulk_update([entry], ["summary"])
    entry.summary = "nothing happened"
    with pytest.raises(AuditTrailError):
        entry.save()
    with pytest.raises(AuditTrailError):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary != "nothing happened"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE clinic_auditentry SET summary = 'nothing happened'", "DELETE FROM clinic_auditentry"],
)
def test_the_database_refuses_raw_updates_and_deletes(entries, sql):
    count = entries.count()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert entries.count() == count
    assert not entries.filter(summary="nothing happened").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_postgresql_refuses_truncate(entries):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE clinic_auditentry CASCADE")
    assert entries.count() == 3


def test_the_admin_offers_no_audit_entry_to_change(administrator):
    from django.contrib import admin

    assert AuditEntry not in admin.site._registry


# --- the chain -----------------------------------------------------------------------------------


def _tamper(sql, params=()):
    """What someone with direct database access could do: switch the guards off and write."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's own writes leave deferred foreign-key checks pending; settle them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE clinic_auditentry DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS clinic_auditentry_update")
            cursor.execute("DROP TRIGGER IF EXISTS clinic_auditentry_delete")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE clinic_auditentry ENABLE TRIGGER USER")


def test_an_intact_trail_verifies(entries, capsys):
    call_command("verify_audit")
    head = entries.last()
    assert f"intact: 3 entries; the newest is #{head.seq}, hash {head.hash}" in capsys.readouterr().out


def test_an_empty_trail_verifies(capsys):
    call_command("verify_audit")
    assert "empty" in capsys.readouterr().out


def test_an_edited_entry_is_found(entries):
    second = entries[1]
    _tamper("UPDATE clinic_auditentry SET username = %s WHERE id = %s", ["someone-else", second.pk])
    with pytest.raises(CommandError, match="tampered with: 1 problem"):
        call_command("verify_audit")
    _, _, breaks = audit.verify()
    assert [(b.seq, b.problem) for b in breaks] == [(second.seq, "its content does not match its hash (edited)")]


def test_a_deleted_entry_is_found(entries):
    second = entries[1]
    _tamper("DELETE FROM clinic_auditentry WHERE id = %s", [second.pk])
    _, _, breaks = audit.verify()
    assert [b.seq for b in breaks] == [second.seq + 1, second.seq + 1]
    assert "missing" in breaks[0].problem and "does not link" in breaks[1].problem


def test_an_edit_with_a_recomputed_hash_is_found_without_the_key(entries, settings):
    """Rewriting an entry and its hash needs AUDIT_KEY, which is not in the database."""
    last = entries.last()
    forged = AuditEntry.objects.get(pk=last.pk)
    forged.username = "someone-else"
    settings.AUDIT_KEY = "a guess at the key"
    _tamper(
        "UPDATE clinic_auditentry SET username = %s, mac = %s, hash = %s WHERE id = %s",
        [forged.username, audit.entry_mac(forged), audit.entry_hash(forged), last.pk],
    )
    settings.AUDIT_KEY = ""
    assert [b.seq for b in audit.verify()[2]] == [last.seq]


def _unsealed(count=2, **values):
    """Entries as written by a transaction whose seal has not run yet."""
    audit.bulk_record(
        [
            {"at": timezone.now(), "username": "ajones", "action": "view", "summary": f"unsealed {i}"} | values
            for i in range(count)
        ]
    )
    return list(AuditEntry.objects.filter(seq__isnull=True).order_by("id"))


def test_an_edited_entry_waiting_to_be_sealed_is_found_by_its_mac(entries):
    waiting = _unsealed()
    _tamper("UPDATE clinic_auditentry SET summary = %s WHERE id = %s", ["nothing happened", waiting[0].pk])
    count, head, breaks = audit.verify()  # seals it (the chain would not see it) but checks its mac
    assert count == 5 and head.pk == waiting[1].pk
    assert [(b.entry_id, b.problem) for b in breaks] == [
        (waiting[0].pk, "its content does not match its hash (edited)")
    ]


def test_an_entry_inserted_without_the_key_is_found_sealed_or_not(entries, settings):
    settings.AUDIT_KEY = "a guess at the key"
    forged = _unsealed(1, summary="forged")[0]
    settings.AUDIT_KEY = ""
    with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
        # Sealing it by hand is not allowed to change anything but the chain's columns...
        cursor.execute(
            "UPDATE clinic_auditentry SET seq = 99, prev_hash = 'x', hash = 'x', summary = 'y' WHERE id = %s",
            [forged.pk],
        )
    _, _, breaks = audit.verify()  # ...and sealing it does not make it genuine
    assert [(b.seq, b.entry_id, b.problem) for b in breaks] == [
        (4, forged.pk, "its content does not match its hash (edited)")
    ]


def test_a_forged_entry_nobody_could_seal_is_named(entries, settings):
    settings.AUDIT_KEY = "a guess at the key"
    forged = _unsealed(1)[0]
    settings.AUDIT_KEY = ""
    with connection.cursor() as cursor:
        # An entry that claims a place in the chain and has no mac: neither links nor matches.
        cursor.execute(
            "INSERT INTO clinic_auditentry (seq, at, username, name, action, object_type, object_id, summary,"
            " user_agent, request_id, mac, prev_hash, hash) VALUES (4, %s, 'x', '', 'view', '', '', '', '', '', '',"
            " 'x', 'x')",
            [timezone.now()],
        )
    breaks = audit.verify()[2]
    assert forged.pk in {b.entry_id for b in breaks} and len(breaks) >= 2


def test_a_copy_of_an_entry_is_refused_and_found(entries):
    copied = entries.last()
    columns = (
        "at, user_id, username, name, action, object_type, object_id, patient_id, summary, ip, user_agent,"
        " request_id, mac"
    )
    copy = f"INSERT INTO clinic_auditentry ({columns}) SELECT {columns} FROM clinic_auditentry WHERE id = %s"
    with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
        cursor.execute(copy, [copied.pk])  # the mac's nonce is unique
    _tamper("DROP INDEX audit_mac_unique")
    _tamper(copy, [copied.pk])
    breaks = audit.verify()[2]
    assert [b.problem for b in breaks] == ["a copy of another entry (inserted)"]


def test_entries_waiting_to_be_sealed_pass_and_are_sealed_by_verify(entries, capsys):
    waiting = _unsealed(3)
    call_command("verify_audit")
    assert "intact: 6 entries; the newest is #6" in capsys.readouterr().out
    assert [entry.seq for entry in AuditEntry.objects.filter(pk__in=[e.pk for e in waiting]).order_by("id")] == [
        4,
        5,
        6,
    ]


def test_the_database_allows_sealing_and_nothing_else(entries):
    waiting = _unsealed(1)[0]
    sealed = entries.first()
    refused = [
        ("UPDATE clinic_auditentry SET seq = NULL, prev_hash = NULL, hash = NULL WHERE id = %s", sealed.pk),
        ("UPDATE clinic_auditentry SET hash = 'x' WHERE id = %s", sealed.pk),
        ("UPDATE clinic_auditentry SET seq = 100 WHERE id = %s", sealed.pk),
        ("UPDATE clinic_auditentry SET summary = 'x' WHERE id = %s", waiting.pk),
        ("UPDATE clinic_auditentry SET mac = 'x' WHERE id = %s", waiting.pk),
        ("UPDATE clinic_auditentry SET seq = 100, prev_hash = 'p', hash = 'h', at = %s WHERE id = %s", waiting.pk),
        ("UPDATE clinic_auditentry SET seq = 100, prev_hash = 'p' WHERE id = %s", waiting.pk),  # half sealed
        ("DELETE FROM clinic_auditentry WHERE id = %s", waiting.pk),
    ]
    for sql, pk in refused:
        params = [timezone.now(), pk] if "at = %s" in sql else [pk]
        with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clinic_auditentry SET seq = 100, prev_hash = 'p', hash = 'h' WHERE id = %s", [waiting.pk]
        )
    assert AuditEntry.objects.get(pk=waiting.pk).seq == 100


def test_an_entry_from_before_sealing_still_verifies(entries):
    """Entries written before this change were chained as written and have no mac."""
    entry = AuditEntry(
        at=timezone.now(), username="ajones", action="view", summary="old", mac="", seq=4, prev_hash=entries.last().hash
    )
    entry.hash = audit.entry_hash(entry)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clinic_auditentry (seq, at, username, name, action, object_type, object_id, summary,"
            " user_agent, request_id, mac, prev_hash, hash) VALUES (4, %s, 'ajones', '', 'view', '', '', 'old', '',"
            " '', '', %s, %s)",
            [entry.at, entry.prev_hash, entry.hash],
        )
    assert audit.verify()[:1] == (4,) and audit.verify()[2] == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_make_one_unbroken_chain():
    patients = PatientFactory.create_batch(8)

    def view(i):
        return audit.record(AuditEntry.Action.VIEW, patients[i], summary="chart")

    outcomes = at_once(view, 8)
    assert all(isinstance(outcome, AuditEntry) for outcome in outcomes), outcomes
    count, head, breaks = audit.verify()
    assert breaks == [] and head.seq == count == 16


# --- searching the trail -------------------------------------------------------------------------


def test_search_by_patient_user_action_and_dates(manager, reception):
    anna, ben = PatientFactory(last_name="Anwar"), PatientFactory(last_name="Bello")
    reception.get(reverse("patients:detail", args=[anna.pk]))
    reception.get(reverse("patients:detail", args=[ben.pk]))
    url = reverse("audit:search")

    by_patient = manager.get(url, {"patient": anna.mrn}).context["entries"]
    assert {e.patient_id for e in by_patient} == {anna.pk} and len(by_patient) == 2  # created, viewed
    viewed = manager.get(url, {"user": reception.user.pk, "action": "view"}).context["entries"]
    assert [e.patient_id for e in viewed] == [ben.pk, anna.pk]
    today = timezone.localdate()
    assert len(manager.get(url, {"date_from": today, "date_to": today}).context["entries"]) == 4
    assert len(manager.get(url, {"date_to": today - timedelta(days=1)}).context["entries"]) == 0


def test_the_whole_trail_is_counted_only_a_few_pages_ahead(manager):
    from clinic.paginators import BoundedCountPaginator

    audit.bulk_record(
        {"at": timezone.now(), "username": "import", "action": "view", "object_id": str(i)} for i in range(600)
    )
    response = manager.get(reverse("audit:search"))
    counted = (1 + BoundedCountPaginator.pages_ahead) * 50
    assert f"More than {counted} entries" in response.content.decode()
    assert [e.object_id for e in response.context["entries"]][:2] == ["599", "598"]  # newest first
    assert "600 entries" in manager.get(reverse("audit:search"), {"page": 12}).content.decode()  # the last page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's query plans")
def test_each_search_of_the_trail_reads_through_an_index(manager):
    patient, user = PatientFactory(), UserFactory()
    audit.bulk_record(
        {
            "at": timezone.now() - timedelta(minutes=i),
            "username": "import",
            "action": ["view", "search", "change"][i % 3],
            "user_id": user.pk if i % 50 == 0 else None,
            "patient_id": patient.pk if i % 70 == 0 else None,
        }
        for i in range(20000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE clinic_auditentry")
    today = timezone.localdate()
    for query in [
        {},
        {"patient": patient.mrn},
        {"user": user.pk},
        {"action": "change"},
        {"date_from": today, "date_to": today},
        {"patient": patient.mrn, "date_from": today - timedelta(days=7)},
    ]:
        response = manager.get(reverse("audit:search"), query)
        entries = response.context["paginator"].object_list
        page = entries[:50]
        for sql_query in (page, entries[:551]):
            plan = sql_query.explain()
            assert "Seq Scan on clinic_auditentry" not in plan, (query, plan)


def test_a_search_by_dates_reads_its_days_in_order_without_sorting_them(manager):
    """Dates alone are read newest first from the (at, id) index: sorting the range by id made SQLite
    sort every entry of the chosen days (a year's million entries: thousands a day) for each page."""
    audit.bulk_record(
        {"at": timezone.now() - timedelta(hours=i), "username": "import", "action": "view", "object_id": str(i)}
        for i in range(300)
    )
    today = timezone.localdate()
    response = manager.get(reverse("audit:search"), {"date_from": today - timedelta(days=3), "date_to": today})
    entries = response.context["paginator"].object_list
    shown = [e.at for e in response.context["entries"]]
    assert shown == sorted(shown, reverse=True) and len(shown) == 50
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a tiny table: make the planner show what it would do at size
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = entries[:50].explain()
    assert "audit_at_id" in plan and "TEMP B-TREE" not in plan and "Sort Key" not in plan, plan


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"patient": "999999"}, "patient", "No patient has the MRN 999999."),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to", "The end date is before the start date."),
        ({"date_from": "10/40/2026"}, "date_from", "Enter a valid date."),
        ({"action": "erase"}, "action", "Select a valid choice."),
    ],
)
def test_bad_search_input_gets_a_message_next_to_its_field(manager, query, field, message):
    response = manager.get(reverse("audit:search"), query)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])


def test_who_accessed_this_record(administrator, reception, doctor_client):
    patient = PatientFactory()
    reception.get(reverse("patients:detail", args=[patient.pk]))
    reception.get(reverse("patients:detail", args=[patient.pk]))
    doctor_client.get(reverse("clinical:chart", args=[patient.pk]))
    PatientFactory()  # someone else's record is not in the report

    response = administrator.get(reverse("patients:access", args=[patient.pk]))
    people = {p["username"]: p["entries"] for p in response.context["people"]}
    assert people == {reception.user.username: 2, doctor_client.user.username: 1, "": 1}
    assert len(response.context["entries"]) == 4
    assert (
        reverse("patients:access", args=[patient.pk])
        in administrator.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    )


def test_only_managers_and_administrators_read_the_trail(client_for):
    patient = PatientFactory()
    for role, allowed in [
        (MANAGER, True),
        (ADMINISTRATOR, True),
        (RECEPTIONIST, False),
        (DOCTOR, False),
        (NURSE, False),
        (None, False),
    ]:
        client = client_for(role)
        for url in (reverse("audit:search"), reverse("patients:access", args=[patient.pk])):
            assert client.get(url).status_code == (200 if allowed else 403), (role, url)


@pytest.mark.parametrize("url_name", ["audit:search", "patients:access"])
def test_trail_pages_make_the_same_queries_for_few_and_many_entries(manager, django_assert_num_queries, url_name):
    patient = PatientFactory()
    users = UserFactory.create_batch(3)

    def grow(n):
        for i in range(n):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(
                    audit, "_who", lambda i=i: (users[i % 3], users[i % 3].username, "", "192.0.2.1", "t", "")
                )
                audit.record(AuditEntry.Action.VIEW, patient, summary="chart")

    url = reverse(url_name, args=[patient.pk] if url_name == "patients:access" else [])
    grow(3)
    manager.get(url)  # warm the session and permission caches
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(conn) as few:
        manager.get(url)
    grow(60)
    with django_assert_num_queries(len(few)):
        response = manager.get(url)
    assert len(response.context["entries"]) == 50


def test_admin_pages_showing_patients_are_recorded(manager):
    from finance.tests.factories import PaymentFactory

    payment = PaymentFactory()
    manager.get(reverse("admin:finance_payment_change", args=[payment.pk]))
    entry = newest()
    assert (entry.action, entry.summary, entry.patient_id) == ("view", "admin", payment.patient_id)
    manager.get(reverse("admin:finance_payment_changelist"), {"q": "Oyelaran"})
    assert (newest().action, newest().summary) == ("search", 'admin payments: "Oyelaran", 0 found')
    # Expenses name no patient: their pages are not recorded.
    before = AuditEntry.objects.count()
    manager.get(reverse("admin:finance_expense_changelist"))
    assert AuditEntry.objects.count() == before


def test_an_ipv4_mapped_address_from_a_proxy_keeps_the_chain_whole(reception, settings):
    # Python and the databases write "::ffff:192.0.2.10" differently; the hash must not care.
    settings.PROXY_COUNT = 1
    patient = PatientFactory()
    reception.get(reverse("patients:detail", args=[patient.pk]), HTTP_X_FORWARDED_FOR="::ffff:192.0.2.10")
    assert newest().ip == "::ffff:192.0.2.10"
    assert audit.verify()[2] == []


def test_a_change_made_through_a_stale_copy_is_named_from_the_row_it_overwrote():
    from clinical.models import TreatmentPlan
    from clinical.tests.factories import TreatmentPlanFactory

    plan = TreatmentPlanFactory(status=TreatmentPlan.Status.ACTIVE, start_date=timezone.localdate())
    stale = TreatmentPlan.objects.get(pk=plan.pk)  # one request loads the plan, active
    clinical_services.change_plan_status(
        plan=TreatmentPlan.objects.get(pk=plan.pk), status=TreatmentPlan.Status.ON_HOLD, by=None
    )  # another puts it on hold
    clinical_services.change_plan_status(
        plan=stale, status=TreatmentPlan.Status.ACTIVE, by=None
    )  # the first: on hold -> active, allowed under the lock
    entry = newest(object_type="clinical.treatmentplan")
    assert (entry.action, entry.summary) == ("status", "status: on_hold → active")


def race(monkeypatch, actions, slow):
    """Run {name: (action, delay)} in threads; in thread `slow`, taking a row lock waits 0.6 s first
    (a wide gap in which the other thread writes). Returns {name: "ok" or the error}."""
    import threading
    import time

    from django.db.models import QuerySet

    real_select_for_update = QuerySet.select_for_update

    def slow_select_for_update(self, *args, **kwargs):
        if threading.current_thread().name == slow:
            time.sleep(0.6)
        return real_select_for_update(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", slow_select_for_update)
    outcomes = {}

    def run(name, action, delay):
        time.sleep(delay)
        try:
            action()
            outcomes[name] = "ok"
        except Exception as error:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[name] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, name=name, args=(name, *job)) for name, job in actions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


ON_POSTGRESQL_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row and advisory locks")


@ON_POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_status_change_and_a_record_on_the_same_visit_do_not_deadlock(monkeypatch):
    """Reception confirms a visit while a nurse records vital signs on it (a new record referring to
    the visit): the visit's row lock must not be one that a reference waits for."""
    appointment = AppointmentFactory()
    nurse, desk = UserFactory(roles=[NURSE]), UserFactory(roles=[RECEPTIONIST])
    outcomes = race(
        monkeypatch,
        {
            "reception": (
                lambda: scheduling_services.confirm_appointment(
                    appointment=type(appointment).objects.get(pk=appointment.pk), by=desk
                ),
                0,
            ),
            "nurse": (
                lambda: clinical_services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 72}),
                0.2,
            ),
        },
        slow="reception",
    )
    assert outcomes == {"reception": "ok", "nurse": "ok"}
    assert audit.verify()[2] == []


@ON_POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_vital_signs_and_the_doctors_draft_saved_at_once_do_not_deadlock(monkeypatch):
    """The nurse's service locks the record, the doctor's save writes it: audited writes take no
    lock of their own (no chain lock), so the row's lock is the only one and neither waits the other way."""
    from clinical.models import MedicalRecord

    appointment = AppointmentFactory()
    record = MedicalRecordFactory(appointment=appointment, patient=appointment.patient, author=appointment.doctor.user)
    nurse = UserFactory(roles=[NURSE])

    def doctor_saves():
        draft = MedicalRecord.objects.get(pk=record.pk)
        draft.examination = "Throat red"
        clinical_services.save_draft(record=draft, by=draft.author)

    outcomes = race(
        monkeypatch,
        {
            "nurse": (
                lambda: clinical_services.record_vitals(appointment=appointment, by=nurse, values={"pulse": 72}),
                0,
            ),
            "doctor": (doctor_saves, 0.2),
        },
        slow="nurse",
    )
    assert outcomes == {"nurse": "ok", "doctor": "ok"}
    saved = MedicalRecord.objects.get(pk=record.pk)
    assert (saved.pulse, saved.examination) == (72, "Throat red")


# Every page that shows patients' data records that it did (found missing by a review: forms and
# calendars showed names and clinical content with no entry).
def _pages():
    from clinical.tests.factories import ProcedureFactory, TreatmentPlanFactory
    from patients.tests.factories import AllergyFactory, ConditionFactory

    today_visit = lambda: AppointmentFactory(  # noqa: E731
        start=timezone.localtime() - timedelta(minutes=5), end=timezone.localtime() + timedelta(minutes=15)
    )
    return {
        "patients:allergy_edit": ("doctor_client", lambda: AllergyFactory(), lambda a: [a.patient_id, a.pk]),
        "patients:condition_edit": ("doctor_client", lambda: ConditionFactory(), lambda c: [c.patient_id, c.pk]),
        "clinical:plan_edit": ("doctor_client", lambda: TreatmentPlanFactory(), lambda p: [p.pk]),
        "clinical:procedure_edit": ("doctor_client", lambda: ProcedureFactory(), lambda p: [p.pk]),
        "clinical:record_amend": ("doctor_client", lambda: SignedRecordFactory(), lambda r: [r.pk]),
        "clinical:vitals": ("nurse", today_visit, lambda a: [a.pk]),
        "scheduling:reschedule": ("reception", lambda: AppointmentFactory(), lambda a: [a.pk]),
        "scheduling:cancel": ("reception", lambda: AppointmentFactory(), lambda a: [a.pk]),
        "finance:pay_visit": ("reception", lambda: CompletedVisitFactory(), lambda a: [a.pk]),
    }


@pytest.mark.parametrize("url_name", list(_pages()))
def test_forms_that_show_a_patients_data_record_the_view(request, url_name):
    persona, make, args = _pages()[url_name]
    client = request.getfixturevalue(persona)
    obj = make()
    patient_id = obj.patient_id
    before = AuditEntry.objects.count()
    assert client.get(reverse(url_name, args=args(obj))).status_code == 200
    assert AuditEntry.objects.count() == before + 1
    entry = newest()
    assert (entry.action, entry.user, entry.patient_id) == ("view", client.user, patient_id)


@pytest.mark.parametrize(
    ("url_name", "summary"),
    [("home", "today's board"), ("scheduling:day", f"day calendar {timezone.localdate():%Y-%m-%d}")],
)
def test_schedules_record_the_view(reception, url_name, summary):
    AppointmentFactory()
    reception.get(reverse(url_name))
    assert (newest().action, newest().summary) == ("view", summary)


def test_searches_for_patients_outside_the_patient_list_are_recorded(reception, manager):
    patient = PatientFactory(last_name="Zebedee")
    CompletedVisitFactory(patient=patient)
    reception.get(reverse("scheduling:book"), {"q": "Zebedee"})
    assert (newest().action, newest().summary) == ("search", 'booking: patients "Zebedee", 1 shown')
    reception.get(reverse("finance:due"), {"q": "Zebedee"})
    assert (newest().action, newest().summary) == ("search", 'payments due (visits): "Zebedee", 1 found')

    url = reverse("admin:autocomplete")
    query = {"app_label": "finance", "model_name": "otherincome", "field_name": "patient", "term": "Zeb"}
    assert manager.get(url, query).status_code == 200
    assert newest().summary == 'admin autocomplete finance.otherincome.patient: "Zeb"'

    manager.get(reverse("admin:finance_payment_csv"))
    assert (newest().action, newest().summary) == ("search", "admin export (csv) of payments: all, 0 rows")


def test_an_entry_says_what_it_is_about_in_words(manager):
    record = MedicalRecordFactory()
    entry = newest(object_type="clinical.medicalrecord")
    assert entry.object_label == f"Medical record #{record.pk}"
    assert AuditEntry(object_type="gone.model", object_id="4").object_label == "gone.model #4"
    assert f"Medical record #{record.pk}" in manager.get(reverse("audit:search")).content.decode()


def test_a_stale_copy_of_a_plan_keeps_the_start_date_another_request_set():
    from clinical.models import TreatmentPlan
    from clinical.tests.factories import TreatmentPlanFactory

    plan = TreatmentPlanFactory(status=TreatmentPlan.Status.DRAFT, start_date=None)
    stale = TreatmentPlan.objects.get(pk=plan.pk)  # loaded as a draft without a start date
    clinical_services.change_plan_status(
        plan=TreatmentPlan.objects.get(pk=plan.pk), status=TreatmentPlan.Status.ACTIVE, by=None
    )  # activated: starts today
    clinical_services.change_plan_status(
        plan=stale, status=TreatmentPlan.Status.CANCELLED, by=None
    )  # the stale copy: active -> cancelled
    plan.refresh_from_db()
    assert (plan.status, plan.start_date) == ("cancelled", timezone.localdate())
    assert newest(object_type="clinical.treatmentplan").summary == "status: active → cancelled"
