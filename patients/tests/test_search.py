from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import Patient
from patients.tests.factories import PatientFactory
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("patients:list")


def person(first, last, born=date(1970, 1, 1), phone=""):
    return PatientFactory(first_name=first, last_name=last, date_of_birth=born, phone=phone)


def found(query):
    return set(Patient.objects.search(query))


# --- Patient.objects.search ----------------------------------------------------------------------


def test_a_part_of_a_name_is_enough():
    margaret = person("Margaret", "Thornbury")
    person("Peter", "Ashdown")

    assert found("marg") == {margaret}
    assert found("thorn") == {margaret}
    assert found("BURY") == {margaret}


def test_an_unaccented_query_finds_an_accented_name():
    zoe = person("Zoë", "Núñez")
    person("Zara", "Nolan")

    assert found("zoe") == {zoe}
    assert found("nunez") == {zoe}


def test_an_accented_query_in_capitals_finds_an_unaccented_name():
    zoe = person("Zoe", "Nunez")
    person("Zara", "Nolan")

    assert found("ZOË") == {zoe}
    assert found("Núñez") == {zoe}


def test_every_word_of_the_query_must_match():
    zoe_nunez = person("Zoë", "Núñez")
    zoe_smith = person("Zoe", "Smith")
    person("Maria", "Nunez")

    assert found("zoe") == {zoe_nunez, zoe_smith}
    assert found("zoe nunez") == {zoe_nunez}
    assert found("nun zo") == {zoe_nunez}
    assert found("zoe jones") == set()


def test_punctuation_in_names_does_not_get_in_the_way():
    person("Siobhán", "O'Brien-Kelly")

    assert len(found("o'brien")) == 1
    assert len(found("brien kelly")) == 1


def test_by_mrn():
    wanted = person("Ann", "Archer", phone="")
    person("Bob", "Baker", phone="")

    assert found(wanted.mrn) == {wanted}


@pytest.mark.parametrize("query", ["020 7946 0018", "02079460018", "(020) 7946-0018", "7946 0018"])
def test_by_phone_with_or_without_spaces(query):
    wanted = person("Ann", "Archer", phone="020 7946 0018")
    person("Bob", "Baker", phone="0161 496 0000")

    assert found(query) == {wanted}


def test_a_phone_stored_without_spaces_is_found_by_a_query_with_spaces():
    wanted = person("Ann", "Archer", phone="02079460018")

    assert found("020 7946 0018") == {wanted}


@pytest.mark.parametrize("query", ["1984-03-12", "12/03/1984", " 12/03/1984 "])
def test_by_date_of_birth_in_iso_or_british_form(query):
    wanted = person("Ann", "Archer", born=date(1984, 3, 12))
    person("Bob", "Baker", born=date(1984, 12, 3))

    assert found(query) == {wanted}


def test_an_empty_query_finds_nobody():
    person("Ann", "Archer")

    assert found("") == set()
    assert found("   ") == set()


def test_search_combines_with_other_filters():
    current = person("Zoe", "Archer")
    archived = person("Zoe", "Archer")
    archived.archive(by=UserFactory())

    assert set(Patient.objects.current().search("zoe")) == {current}
    assert set(Patient.objects.filter(is_archived=True).search("zoe")) == {archived}


# --- the list page -------------------------------------------------------------------------------


def names_on(response):
    return {p.full_name for p in response.context["object_list"]}


def test_the_list_page_finds_by_partial_accent_insensitive_name(reception):
    person("Zoë", "Núñez")
    person("Zara", "Nolan")

    response = reception.get(LIST, {"q": "zoe nun"})

    assert response.status_code == 200
    assert names_on(response) == {"Zoë Núñez"}
    assert "1 found" in response.text
    assert "NÚÑEZ, Zoë" in response.text


def test_the_list_page_finds_by_date_of_birth_and_phone(reception):
    person("Ann", "Archer", born=date(1984, 3, 12), phone="020 7946 0018")
    person("Bob", "Baker", born=date(1990, 5, 5), phone="0161 496 0000")

    assert names_on(reception.get(LIST, {"q": "12/03/1984"})) == {"Ann Archer"}
    assert names_on(reception.get(LIST, {"q": "1984-03-12"})) == {"Ann Archer"}
    assert names_on(reception.get(LIST, {"q": "01614960000"})) == {"Bob Baker"}


def test_no_match_says_so(reception):
    person("Ann", "Archer")

    response = reception.get(LIST, {"q": "nobody"})

    assert response.status_code == 200
    assert "No patient matches" in response.text


def test_without_a_query_the_most_recently_registered_are_listed(reception):
    person("Ann", "Archer")
    person("Bob", "Baker")

    response = reception.get(LIST)

    assert response.status_code == 200
    assert "Recently registered" in response.text
    assert [p.full_name for p in response.context["object_list"]] == ["Bob Baker", "Ann Archer"]


def test_archived_patients_are_left_out_unless_asked_for(reception):
    person("Zoe", "Current")
    archived = person("Zoe", "Gone")
    archived.archive(by=reception.user)

    assert names_on(reception.get(LIST, {"q": "zoe"})) == {"Zoe Current"}
    assert names_on(reception.get(LIST)) == {"Zoe Current"}

    response = reception.get(LIST, {"q": "zoe", "archived": "on"})
    assert names_on(response) == {"Zoe Gone"}
    assert "archived" in response.text


def test_results_are_paginated(reception):
    for i in range(30):
        person(f"Zoe{i:02d}", "Pagewood")

    first = reception.get(LIST, {"q": "pagewood"})
    second = reception.get(LIST, {"q": "pagewood", "page": 2})

    assert len(first.context["object_list"]) == 25
    assert "30 found" in first.text
    assert len(second.context["object_list"]) == 5


def test_a_search_too_long_is_a_form_error_not_a_crash(reception):
    response = reception.get(LIST, {"q": "x" * 500})

    assert response.status_code == 200
    assert response.context["form"].errors["q"]


def test_the_list_page_runs_the_same_queries_for_5_or_60_matches(reception, django_assert_num_queries):
    for _ in range(5):
        PatientFactory(last_name="Whitfield")
    with CaptureQueriesContext(connection) as few:
        response = reception.get(LIST, {"q": "whitfield"})
    assert len(response.context["object_list"]) == 5

    for _ in range(55):
        PatientFactory(last_name="Whitfield")
    with django_assert_num_queries(len(few.captured_queries)):
        response = reception.get(LIST, {"q": "whitfield"})
    assert response.context["paginator"].count == 60


def test_the_recent_list_runs_a_bounded_number_of_queries(reception, django_assert_max_num_queries):
    PatientFactory.create_batch(60)
    # 13 with the audit entry of what the list revealed (the chain's head, the entry; a lock on PostgreSQL)
    # and the next appointment of every patient on the page (one query for the page, scheduling's slot).
    with django_assert_max_num_queries(13):
        response = reception.get(LIST)
    assert len(response.context["object_list"]) == 25
