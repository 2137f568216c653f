"""Search through the index finds what the words say, stays in step with the patients, and means the
same on both databases (SQLite: FTS5 trigram table kept by triggers; PostgreSQL: trigram GIN index)."""

from datetime import date
from itertools import combinations

import pytest
from django.db import connection
from django.urls import reverse

from clinic.triggers import install_all
from patients import search, views
from patients.models import Patient
from patients.services import save_patient
from patients.tests.factories import PatientFactory
from patients.text import fold

pytestmark = pytest.mark.django_db

LIST = reverse("patients:list")


def person(first, last, phone=""):
    return PatientFactory(first_name=first, last_name=last, phone=phone)


def found(query):
    return list(Patient.objects.search(query))


# --- what a query means --------------------------------------------------------------------------


def test_two_letters_find_the_start_of_a_word_not_any_name_containing_them():
    li = person("Wei", "Li")
    lisa = person("Lisa", "Jones")
    person("Alice", "Oliver")

    assert set(found("li")) == {li, lisa}
    assert set(found("LI")) == {li, lisa}


def test_a_name_outside_latin_script_is_found_by_its_short_transliteration():
    wu = person("晓明", "吴")  # folded to "xiao ming wu"
    person("Kowu", "Smith")

    assert found("wu") == [wu]
    assert found("吴") == [wu]


def test_an_initial_narrows_a_name():
    margaret = person("Margaret", "Thornbury")
    person("Peter", "Thornbury")

    assert found("m thornbury") == [margaret]
    assert found("thorn ma") == [margaret]


def test_single_letters_alone_find_nobody_and_the_list_asks_for_more(reception):
    person("Ann", "Archer")

    assert found("a") == []
    assert found("a a") == []
    response = reception.get(LIST, {"q": "a"})
    assert response.status_code == 200
    assert response.context["form"].errors["q"] == [search.TOO_SHORT]
    assert list(response.context["object_list"]) == []


def test_punctuation_alone_finds_nobody():
    person("Ann", "Archer")

    assert found("'-") == []


def test_a_whole_mrn_lists_its_patient_first_then_phones_holding_the_same_digits():
    wanted = person("Zoe", "Young")
    # A phone number containing the MRN's digits, for a patient whose name sorts first.
    also = person("Ann", "Archer", phone=f"0161 {wanted.mrn}")

    assert found(wanted.mrn) == [wanted, also]


def test_the_start_of_an_mrn_finds_every_mrn_beginning_so_and_no_other():
    patients = [person("Ann", f"Archer{i}") for i in range(3)]
    prefix = patients[0].mrn[:5]

    expected = {p for p in Patient.objects.all() if p.mrn.startswith(prefix)}
    assert set(found(prefix)) == expected
    assert patients[0] in expected


def test_a_mistyped_mrn_is_not_taken_for_someone_else():
    wanted = person("Ann", "Archer")
    wrong_check_digit = wanted.mrn[:-1] + str((int(wanted.mrn[-1]) + 1) % 10)

    assert found(wrong_check_digit) == []


def test_results_come_in_name_order_then_registration_order():
    later = person("Ann", "Baker")
    first = person("Bob", "Archer")
    twin = person("Ann", "Baker")

    assert found("ann") == [later, twin]
    assert found("baker") == [later, twin]
    assert found("er") == []  # "er" starts no word
    assert found("archer") == [first]


NAMES = [
    ("Zoë", "Núñez"),
    ("Siobhán", "O'Brien-Kelly"),
    ("Łukasz", "Wałęsa"),
    ("Wei", "Li"),
    ("晓明", "吴"),
    ("Ngọc Anh", "Nguyễn"),
    ("Алексей", "Смирнов"),
    ("Ann-Marie", "Li-Smith"),
    ("José", "García Márquez"),
    ("Jo", "Ng"),
]


def reference(query, patients):
    """What a query means, in Python: 3+ characters anywhere in search_text, 1-2 at a word's start."""
    if search.too_short(query):
        return set()
    terms = fold(query).split()

    def matches(text, term):
        if len(term) >= search.SHORTEST_ANYWHERE:
            return term in text
        return any(word.startswith(term) for word in text.split())

    return {p for p in patients if terms and all(matches(p.search_text, term) for term in terms)}


def test_every_piece_of_every_name_finds_what_the_reference_says():
    # The index (FTS5 or trigram GIN) against the plain meaning, for every 1-5 letter piece of every
    # folded word and pairs of them: the two databases agree because both agree with this.
    patients = [person(first, last) for first, last in NAMES]
    pieces = set()
    for patient in patients:
        for word in patient.search_text.split():
            if word.isdigit():
                continue  # the MRN: numbers have their own tests
            for length in range(1, 6):
                for start in range(0, max(1, len(word) - length + 1)):
                    pieces.add(word[start : start + length])
    queries = sorted(pieces) + [f"{a} {b}" for a, b in combinations(sorted(p for p in pieces if len(p) == 2), 2)][:200]

    for query in queries:
        assert set(found(query)) == reference(query, patients), query


# --- the index stays in step with the patients ---------------------------------------------------


def test_a_renamed_patient_is_found_by_the_new_name_only():
    patient = person("Margaret", "Thornbury")

    patient.last_name = "Ashdown"
    save_patient(patient=patient)

    assert found("thornbury") == []
    assert found("ashdown") == [patient]


def test_a_new_phone_is_found_and_the_old_one_no_longer():
    patient = person("Ann", "Archer", phone="020 7946 0018")

    patient.phone = "0161 496 0000"
    save_patient(patient=patient)

    assert found("79460018") == []
    assert found("4960000") == [patient]


def test_rows_written_and_deleted_by_sql_are_found_and_forgotten():
    # Around the application (no save(), so no audit entry holding on to the row): the database keeps
    # the index in step by itself.
    kept = person("Ann", "Archer")
    (gone,) = Patient.objects.bulk_create(
        [
            Patient(
                first_name="Ann", last_name="Archer", date_of_birth=date(1970, 1, 1), search_text="ann archer annarcher"
            )
        ]
    )
    assert set(found("archer")) == {kept, gone}

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM patients_patient WHERE id = %s", [gone.pk])

    assert found("archer") == [kept]
    if connection.vendor == "sqlite":
        assert indexed_rows() == Patient.objects.count()


def test_archiving_leaves_the_index_alone_and_the_patient_findable_among_the_archived(reception):
    patient = person("Ann", "Archer")
    patient.archive(by=reception.user)

    assert list(Patient.objects.filter(is_archived=True).search("archer")) == [patient]


def indexed_rows():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {search.FTS_TABLE}")  # noqa: S608 (constant name)
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table and its triggers")
class TestSqliteIndex:
    def triggers(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'patients_patient'")
            return {name for (name,) in cursor.fetchall()}

    def test_the_triggers_are_installed_after_migrate(self):
        assert set(search.SQLITE_TRIGGERS) <= self.triggers()

    def test_an_index_that_lost_its_triggers_is_rebuilt_after_migrate(self):
        # What a migration rebuilding patients_patient does: the triggers go, and rows written meanwhile
        # (a data migration) never reach the index.
        patient = person("Margaret", "Thornbury")
        with connection.cursor() as cursor:
            for name in search.SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
        Patient.objects.filter(pk=patient.pk).update(search_text="margaret ashdown margaretashdown")
        assert found("ashdown") == []

        install_all(connection)  # what post_migrate runs

        assert set(search.SQLITE_TRIGGERS) <= self.triggers()
        assert found("ashdown") == [patient]
        assert found("thornbury") == []
        assert indexed_rows() == Patient.objects.count()


# --- the list page -------------------------------------------------------------------------------


def test_before_a_search_the_list_shows_only_the_newest_registrations(reception, monkeypatch):
    monkeypatch.setattr(views, "RECENTLY_REGISTERED", 3)
    for i in range(5):
        person(f"Ann{i}", "Archer")

    response = reception.get(LIST)

    assert [p.first_name for p in response.context["object_list"]] == ["Ann4", "Ann3", "Ann2"]
    assert response.context["paginator"].count == 3


def test_the_list_page_shows_a_whole_mrns_patient_first(reception):
    wanted = person("Zoe", "Young")
    person("Ann", "Archer", phone=f"0161 {wanted.mrn}")

    response = reception.get(LIST, {"q": wanted.mrn})

    assert [p.full_name for p in response.context["object_list"]] == ["Zoe Young", "Ann Archer"]
