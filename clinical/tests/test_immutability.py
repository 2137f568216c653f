"""A signed record, its medications and every amendment never change, whatever the path.

Each path is tried in turn: the model's save()/delete(), the queryset's update()/delete(), the
medication rows, the admin, and finally raw SQL, which only the database triggers
(clinical/guards.py) can stop. Drafts, and signing itself, stay free.
"""

from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from clinical import guards, services
from clinical.models import Amendment, MedicalRecord, Medication, SignedRecordError
from clinical.signals import reinstall_clinical_guards
from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    MedicationFactory,
)
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RECORD = MedicalRecord._meta.db_table
MEDICATION = Medication._meta.db_table
AMENDMENT = Amendment._meta.db_table


@contextmanager
def refused_by_the_database(name=guards.SIGNED):
    # atomic(): on PostgreSQL the failed statement must not poison the test's transaction.
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        yield


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def stored(record):
    return MedicalRecord.objects.get(pk=record.pk)


@pytest.fixture
def signed():
    """A signed record with one medication, as a doctor leaves it."""
    record = MedicalRecordFactory(diagnosis="Acute tonsillitis", plan="Rest and fluids")
    MedicationFactory(record=record, drug="Phenoxymethylpenicillin")
    return services.sign_record(record=record, by=record.author)


# --- the model: save() and delete() -------------------------------------------------------------


def test_a_signed_record_cannot_be_saved_with_a_change(signed):
    record = stored(signed)
    record.diagnosis = "Something else"

    with pytest.raises(SignedRecordError, match="cannot be changed; add an amendment"):
        record.save()

    assert stored(signed).diagnosis == "Acute tonsillitis"


def test_a_signed_record_cannot_be_saved_even_unchanged(signed):
    with pytest.raises(SignedRecordError):
        stored(signed).save(update_fields=["updated_at"])


def test_a_signed_record_cannot_be_unsigned(signed):
    record = stored(signed)
    record.status, record.signed_at, record.signed_by = MedicalRecord.Status.DRAFT, None, None

    with pytest.raises(SignedRecordError):
        record.save()

    assert stored(signed).is_signed


@pytest.mark.parametrize(
    "load",
    [
        pytest.param(lambda r: r, id="copy-returned-by-sign_record"),
        pytest.param(lambda r: MedicalRecord.objects.only("pk", "diagnosis").get(pk=r.pk), id="status-deferred"),
    ],
)
def test_how_the_copy_was_loaded_does_not_matter(signed, load):
    record = load(signed)
    record.diagnosis = "Changed"

    with pytest.raises(SignedRecordError):
        record.save()

    assert stored(signed).diagnosis == "Acute tonsillitis"


def test_a_copy_loaded_before_signing_cannot_save_over_the_signed_record():
    record = MedicalRecordFactory(diagnosis="Acute tonsillitis")
    opened_earlier = stored(record)
    services.sign_record(record=record, by=record.author)
    opened_earlier.diagnosis = "Changed after signing"

    with pytest.raises(SignedRecordError):
        opened_earlier.save()

    assert stored(record).diagnosis == "Acute tonsillitis"


def test_a_copy_refreshed_after_signing_cannot_be_saved():
    record = MedicalRecordFactory(diagnosis="Acute tonsillitis")
    services.sign_record(record=record, by=record.author)
    record.refresh_from_db()
    record.diagnosis = "Changed"

    with pytest.raises(SignedRecordError):
        record.save()

    assert stored(record).diagnosis == "Acute tonsillitis"


def test_a_signed_record_cannot_be_deleted(signed):
    with pytest.raises(SignedRecordError, match="cannot be deleted"):
        stored(signed).delete()

    assert MedicalRecord.objects.filter(pk=signed.pk).exists()
    assert signed.medications.count() == 1


def test_a_copy_loaded_before_signing_cannot_delete_the_signed_record():
    record = MedicalRecordFactory()
    opened_earlier = stored(record)
    services.sign_record(record=record, by=record.author)

    with pytest.raises(SignedRecordError):
        opened_earlier.delete()

    assert MedicalRecord.objects.filter(pk=record.pk).exists()


# --- the queryset: update() and delete() --------------------------------------------------------


def test_update_of_a_signed_record_is_refused(signed):
    with pytest.raises(SignedRecordError, match="add an amendment"):
        MedicalRecord.objects.filter(pk=signed.pk).update(diagnosis="Bulk change")

    assert stored(signed).diagnosis == "Acute tonsillitis"


def test_update_touching_a_signed_record_among_drafts_changes_nothing(signed):
    draft = MedicalRecordFactory(plan="Draft plan")

    with pytest.raises(SignedRecordError):
        MedicalRecord.objects.update(plan="Bulk change")

    assert stored(signed).plan == "Rest and fluids"
    assert stored(draft).plan == "Draft plan"


def test_bulk_update_of_a_signed_record_is_refused(signed):
    record = stored(signed)
    record.plan = "Bulk change"

    # bulk_update() runs in atomic(savepoint=False): its own savepoint keeps the test's transaction usable.
    with pytest.raises(SignedRecordError), transaction.atomic():
        MedicalRecord.objects.bulk_update([record], ["plan"])

    assert stored(signed).plan == "Rest and fluids"


def test_delete_of_a_signed_record_through_the_queryset_is_refused(signed):
    draft = MedicalRecordFactory()

    with pytest.raises(SignedRecordError, match="cannot be deleted"):
        MedicalRecord.objects.all().delete()

    assert set(MedicalRecord.objects.values_list("pk", flat=True)) == {signed.pk, draft.pk}


# --- the medications of a signed record ---------------------------------------------------------


def test_no_medication_can_be_added_to_a_signed_record(signed):
    with pytest.raises(SignedRecordError, match="cannot be changed"):
        MedicationFactory(record=signed, drug="Ibuprofen")

    assert [m.drug for m in signed.medications.all()] == ["Phenoxymethylpenicillin"]


def test_no_medication_can_be_bulk_created_on_a_signed_record(signed):
    with refused_by_the_database():
        Medication.objects.bulk_create([Medication(record=signed, drug="Ibuprofen")])

    assert signed.medications.count() == 1


def test_a_medication_of_a_signed_record_cannot_be_changed(signed):
    medication = signed.medications.get()
    medication.strength = "1 g"

    with pytest.raises(SignedRecordError, match="cannot be changed"):
        medication.save()

    assert signed.medications.get().strength == "500 mg"


def test_a_medication_of_a_signed_record_cannot_be_deleted(signed):
    with pytest.raises(SignedRecordError, match="cannot be removed"):
        signed.medications.get().delete()

    assert signed.medications.count() == 1


def test_a_medication_cannot_be_moved_off_a_signed_record(signed):
    medication = signed.medications.get()
    medication.record = MedicalRecordFactory(patient=signed.patient, author=signed.author)

    with pytest.raises(SignedRecordError):
        medication.save()

    assert signed.medications.count() == 1


def test_a_medication_cannot_be_moved_onto_a_signed_record(signed):
    medication = MedicationFactory(drug="Ibuprofen")
    medication.record = signed

    with pytest.raises(SignedRecordError):
        medication.save()

    assert signed.medications.count() == 1


def test_medications_of_a_signed_record_cannot_be_bulk_updated_or_deleted(signed):
    with pytest.raises(SignedRecordError, match="cannot be changed"):
        Medication.objects.filter(record=signed).update(dose="4 tablets")
    with pytest.raises(SignedRecordError, match="cannot be deleted"):
        Medication.objects.filter(record=signed).delete()

    assert signed.medications.get().dose == "2 tablets"


def test_the_database_refuses_moving_draft_medications_onto_a_signed_record_in_bulk(signed):
    """The queryset checks the rows it updates, not where they go; the trigger checks both."""
    draft = MedicationFactory(drug="Ibuprofen").record

    with refused_by_the_database():
        Medication.objects.filter(record=draft).update(record=signed)

    assert signed.medications.count() == 1
    assert draft.medications.count() == 1


# --- amendments are append-only -----------------------------------------------------------------


def test_an_amendment_cannot_be_changed():
    amendment = AmendmentFactory(text="Review in one week.")
    amendment.text = "Review in two weeks."

    with pytest.raises(SignedRecordError, match="cannot be changed"):
        amendment.save()

    assert Amendment.objects.get(pk=amendment.pk).text == "Review in one week."


def test_an_amendment_reloaded_cannot_be_changed():
    amendment = Amendment.objects.get(pk=AmendmentFactory().pk)
    amendment.reason = "Rewritten"

    with pytest.raises(SignedRecordError):
        amendment.save()


def test_an_amendment_cannot_be_deleted():
    amendment = AmendmentFactory()

    with pytest.raises(SignedRecordError, match="cannot be deleted"):
        amendment.delete()

    assert Amendment.objects.filter(pk=amendment.pk).exists()


def test_the_database_refuses_bulk_changes_to_amendments():
    amendment = AmendmentFactory(text="Review in one week.")

    with refused_by_the_database(guards.AMENDMENT):
        Amendment.objects.filter(pk=amendment.pk).update(text="Rewritten")
    with refused_by_the_database(guards.AMENDMENT):
        Amendment.objects.all().delete()

    assert Amendment.objects.get().text == "Review in one week."


def test_a_record_with_amendments_keeps_them(signed):
    AmendmentFactory(record=signed)

    with pytest.raises(SignedRecordError):
        stored(signed).delete()

    assert signed.amendments.count() == 1


# --- raw SQL: only the database triggers stand in the way ---------------------------------------


def test_raw_sql_cannot_update_a_signed_record(signed):
    with refused_by_the_database():
        sql(f"UPDATE {RECORD} SET diagnosis = %s WHERE id = %s", ["Raw change", signed.pk])

    assert stored(signed).diagnosis == "Acute tonsillitis"


def test_raw_sql_cannot_unsign_a_signed_record(signed):
    with refused_by_the_database():
        sql(
            f"UPDATE {RECORD} SET status = 'draft', signed_at = NULL, signed_by_id = NULL WHERE id = %s",
            [signed.pk],
        )

    assert stored(signed).is_signed


def test_raw_sql_cannot_delete_a_signed_record(signed):
    with refused_by_the_database():
        sql(f"DELETE FROM {MEDICATION} WHERE record_id = %s", [signed.pk])
    with refused_by_the_database():
        sql(f"DELETE FROM {RECORD} WHERE id = %s", [signed.pk])

    assert MedicalRecord.objects.filter(pk=signed.pk).exists()
    assert signed.medications.count() == 1


def test_raw_sql_cannot_add_a_medication_to_a_signed_record(signed):
    with refused_by_the_database():
        sql(
            f"INSERT INTO {MEDICATION} (record_id, drug, strength, dose, route, frequency, duration, instructions)"
            " VALUES (%s, 'Ibuprofen', '', '', '', '', '', '')",
            [signed.pk],
        )

    assert signed.medications.count() == 1


def test_raw_sql_cannot_change_or_delete_a_medication_of_a_signed_record(signed):
    medication = signed.medications.get()

    with refused_by_the_database():
        sql(f"UPDATE {MEDICATION} SET strength = '1 g' WHERE id = %s", [medication.pk])
    with refused_by_the_database():
        sql(f"DELETE FROM {MEDICATION} WHERE id = %s", [medication.pk])

    assert signed.medications.get().strength == "500 mg"


def test_raw_sql_cannot_move_a_medication_on_or_off_a_signed_record(signed):
    draft_medication = MedicationFactory(drug="Ibuprofen")

    with refused_by_the_database():
        sql(f"UPDATE {MEDICATION} SET record_id = %s WHERE record_id = %s", [draft_medication.record_id, signed.pk])
    with refused_by_the_database():
        sql(f"UPDATE {MEDICATION} SET record_id = %s WHERE id = %s", [signed.pk, draft_medication.pk])

    assert signed.medications.count() == 1
    assert Medication.objects.get(pk=draft_medication.pk).record_id == draft_medication.record_id


def test_raw_sql_cannot_change_or_delete_an_amendment():
    amendment = AmendmentFactory(text="Review in one week.")

    with refused_by_the_database(guards.AMENDMENT):
        sql(f"UPDATE {AMENDMENT} SET text = 'Rewritten' WHERE id = %s", [amendment.pk])
    with refused_by_the_database(guards.AMENDMENT):
        sql(f"DELETE FROM {AMENDMENT} WHERE id = %s", [amendment.pk])

    assert Amendment.objects.get(pk=amendment.pk).text == "Review in one week."


def test_raw_sql_can_append_an_amendment(signed):
    """Append-only: a new row is the way a signed record changes."""
    sql(
        f"INSERT INTO {AMENDMENT} (record_id, author_id, created_at, section, text, reason)"
        " VALUES (%s, %s, %s, 'plan', 'Review in one week.', 'Omitted at signing')",
        [signed.pk, signed.author_id, timezone.now()],
    )

    assert signed.amendments.get().text == "Review in one week."


# --- drafts stay free, and signing itself goes through ------------------------------------------


def test_a_draft_and_its_medications_can_be_changed_and_deleted_every_way():
    record = MedicalRecordFactory(plan="First plan")
    medication = MedicationFactory(record=record)

    record.plan = "Second plan"
    record.save()
    MedicalRecord.objects.filter(pk=record.pk).update(notes="Bulk note")
    medication.strength = "1 g"
    medication.save()
    Medication.objects.filter(pk=medication.pk).update(dose="1 tablet")
    MedicationFactory(record=record, drug="Ibuprofen")

    saved = stored(record)
    assert (saved.plan, saved.notes) == ("Second plan", "Bulk note")
    assert [(m.drug, m.strength, m.dose) for m in saved.medications.all()] == [
        ("Paracetamol", "1 g", "1 tablet"),
        ("Ibuprofen", "500 mg", "2 tablets"),
    ]

    medication.delete()
    saved.delete()
    assert not MedicalRecord.objects.filter(pk=record.pk).exists()
    assert not Medication.objects.filter(record_id=record.pk).exists()


def test_drafts_can_be_deleted_in_bulk():
    MedicationFactory(record=MedicalRecordFactory())
    MedicalRecordFactory()

    MedicalRecord.objects.all().delete()

    assert not MedicalRecord.objects.exists()
    assert not Medication.objects.exists()


def test_raw_sql_can_change_and_delete_a_draft():
    record = MedicalRecordFactory(plan="First plan")
    medication = MedicationFactory(record=record)

    sql(f"UPDATE {RECORD} SET plan = 'Raw plan' WHERE id = %s", [record.pk])
    sql(f"UPDATE {MEDICATION} SET strength = '1 g' WHERE id = %s", [medication.pk])
    assert stored(record).plan == "Raw plan"
    assert Medication.objects.get(pk=medication.pk).strength == "1 g"

    assert sql(f"DELETE FROM {MEDICATION} WHERE record_id = %s", [record.pk]) == 1
    assert sql(f"DELETE FROM {RECORD} WHERE id = %s", [record.pk]) == 1


def test_the_database_lets_a_draft_become_signed_then_holds_it():
    record = MedicalRecordFactory(plan="First plan")

    sql(
        f"UPDATE {RECORD} SET status = 'signed', signed_at = %s, signed_by_id = %s WHERE id = %s",
        [timezone.now(), record.author_id, record.pk],
    )
    assert stored(record).is_signed

    with refused_by_the_database():
        sql(f"UPDATE {RECORD} SET plan = 'Too late' WHERE id = %s", [record.pk])


def test_signing_through_the_service_passes_every_guard():
    record = MedicalRecordFactory()
    MedicationFactory(record=record)

    services.sign_record(record=record, by=record.author)

    assert stored(record).is_signed


# --- the triggers are installed, and installing them again changes nothing ----------------------

PG_TRIGGERS = {
    ("clinical_record_guard", RECORD),
    ("clinical_medication_guard", MEDICATION),
    ("clinical_amendment_guard", AMENDMENT),
}


def installed_triggers():
    """(trigger, table) pairs of the clinical guards as the database lists them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", ["clinical%"]
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND t.tgname LIKE %s",
                ["clinical%"],
            )
        else:  # pragma: no cover - the project runs on these two
            pytest.skip(f"no clinical guards on {connection.vendor}")
        return sorted(cursor.fetchall())


def expected_triggers():
    if connection.vendor == "sqlite":
        tables = {"record": RECORD, "medication": MEDICATION, "amendment": AMENDMENT}
        return sorted((name, tables[name.split("_")[1]]) for name in guards.SQLITE)
    return sorted(PG_TRIGGERS)


def drop_one_trigger():
    if connection.vendor == "sqlite":
        sql("DROP TRIGGER clinical_record_signed_update")
    else:
        sql(f"DROP TRIGGER clinical_record_guard ON {RECORD}")


def test_the_triggers_exist_after_migrations():
    assert installed_triggers() == expected_triggers()
    assert len(installed_triggers()) == (7 if connection.vendor == "sqlite" else 3)


def test_installing_the_guards_again_is_harmless(signed):
    guards.install_clinical_guards(connection)
    guards.install_clinical_guards(connection)

    assert installed_triggers() == expected_triggers()
    with refused_by_the_database():
        sql(f"UPDATE {RECORD} SET plan = 'Raw change' WHERE id = %s", [signed.pk])


def test_a_missing_trigger_is_put_back_by_installing_again(signed):
    drop_one_trigger()
    sql(f"UPDATE {RECORD} SET plan = 'Unguarded' WHERE id = %s", [signed.pk])  # the control: no trigger, no guard
    assert stored(signed).plan == "Unguarded"

    guards.install_clinical_guards(connection)

    assert installed_triggers() == expected_triggers()
    with refused_by_the_database():
        sql(f"UPDATE {RECORD} SET plan = 'Raw change' WHERE id = %s", [signed.pk])


def test_every_migrate_puts_the_triggers_back():
    """SQLite drops triggers when a migration rebuilds a table: post_migrate reinstalls them."""
    drop_one_trigger()

    reinstall_clinical_guards(sender=None, app_config=apps.get_app_config("patients"), using="default")
    assert installed_triggers() != expected_triggers()

    reinstall_clinical_guards(sender=None, app_config=apps.get_app_config("clinical"), using="default")
    assert installed_triggers() == expected_triggers()


# --- the admin ----------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client):
    client.user = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(client.user)
    return client


def change_url(record):
    return reverse("admin:clinical_medicalrecord_change", args=[record.pk])


def admin_form(record, **changes):
    """What the admin's change form for a record posts: its fields and both inlines' management forms."""
    data = {
        "patient": record.patient_id,
        "appointment": record.appointment_id or "",
        "chief_complaint": record.chief_complaint,
        "history": record.history,
        "examination": record.examination,
        "diagnosis": record.diagnosis,
        "icd10_codes": record.icd10_codes,
        "plan": record.plan,
        "notes": record.notes,
        "_save": "Save",
    }
    medications = list(record.medications.all())
    for prefix, initial in (("medications", len(medications)), ("amendments", record.amendments.count())):
        data |= {
            f"{prefix}-TOTAL_FORMS": initial,
            f"{prefix}-INITIAL_FORMS": initial,
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    for i, medication in enumerate(medications):
        data |= {f"medications-{i}-id": medication.pk, f"medications-{i}-record": record.pk}
        for name in ("drug", "strength", "dose", "route", "frequency", "duration", "instructions"):
            data[f"medications-{i}-{name}"] = getattr(medication, name)
    return {key: "" if value is None else value for key, value in data.items()} | changes


def test_the_admin_saves_changes_to_a_draft(superuser_client):
    """The control: the same form on a draft does save, so the refusal below is about signing.
    (The draft is the superuser's own: anyone else's opens read-only, tests/test_object_access.py.)"""
    record = MedicalRecordFactory(diagnosis="Acute tonsillitis", author=superuser_client.user)
    MedicationFactory(record=record)

    response = superuser_client.post(
        change_url(record), admin_form(record, diagnosis="Peritonsillar abscess", **{"medications-0-dose": "1 tablet"})
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    saved = stored(record)
    assert saved.diagnosis == "Peritonsillar abscess"
    assert saved.medications.get().dose == "1 tablet"


def test_the_admin_shows_a_signed_record_read_only(superuser_client, signed):
    response = superuser_client.get(change_url(signed))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Acute tonsillitis" in content
    assert 'name="_save"' not in content
    assert 'name="diagnosis"' not in content
    assert 'name="medications-0-drug"' not in content


def test_the_admin_cannot_save_changes_to_a_signed_record(superuser_client, signed):
    response = superuser_client.post(
        change_url(signed), admin_form(signed, diagnosis="Changed in the admin", **{"medications-0-dose": "9"})
    )

    assert response.status_code == 403
    saved = stored(signed)
    assert saved.diagnosis == "Acute tonsillitis"
    assert saved.medications.get().dose == "2 tablets"


def test_the_admin_cannot_add_a_medication_to_a_signed_record(superuser_client, signed):
    form = admin_form(signed) | {"medications-TOTAL_FORMS": 2, "medications-1-drug": "Ibuprofen"}

    response = superuser_client.post(change_url(signed), form)

    assert response.status_code == 403
    assert signed.medications.count() == 1


def test_the_admin_cannot_delete_a_signed_record(superuser_client, signed):
    url = reverse("admin:clinical_medicalrecord_delete", args=[signed.pk])

    assert superuser_client.get(url).status_code == 403
    assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    superuser_client.post(
        reverse("admin:clinical_medicalrecord_changelist"),
        {"action": "delete_selected", "_selected_action": [signed.pk], "post": "yes"},
    )

    assert MedicalRecord.objects.filter(pk=signed.pk).exists()


def test_the_admin_cannot_change_or_delete_an_amendment(superuser_client):
    amendment = AmendmentFactory(text="Review in one week.")
    change = reverse("admin:clinical_amendment_change", args=[amendment.pk])

    assert superuser_client.get(change).status_code == 200  # shown, read-only
    response = superuser_client.post(
        change,
        {"record": amendment.record_id, "author": amendment.author_id, "section": "plan", "text": "Rewritten"},
    )
    assert response.status_code == 403
    assert superuser_client.get(reverse("admin:clinical_amendment_add")).status_code == 403
    delete = reverse("admin:clinical_amendment_delete", args=[amendment.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403

    assert Amendment.objects.get(pk=amendment.pk).text == "Review in one week."
