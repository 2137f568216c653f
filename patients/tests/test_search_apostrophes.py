"""Names with an apostrophe are found however a receptionist types them: O'Brien as "ob", "O'B", "O’Brien",
"obrien" or "o'brien", D’Arcy and Ng'ang'a alike, on both databases and in the browser.

Before, "ob" found nobody (the words were "o" and "brien") and "O'B" was refused as two single letters."""

import importlib
import re

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect

from clinic.tests.browser import Clicks, assert_no_serious_axe_violations, sign_in
from patients.models import Patient
from patients.search import too_short
from patients.tests.factories import PatientFactory
from patients.text import fold_joined
from staff.roles import RECEPTIONIST
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "apostrophe-journey-Pw-1"
APOSTROPHES = ["'", "’", "ʼ", "‘", "´"]
# Letters outside Latin-1 among them (ł, ğ, ő, ș, ž, Cyrillic): unidecode gives each one or more ASCII letters.
LETTERS = "abcdefghijklmnoprstuvwyzłğőșžčñøáéíóúâêôäöüжкнас"


def found(query):
    return set(Patient.objects.search(query))


@pytest.mark.parametrize("typed", ["ob", "OB", "O'B", "o’b", "O'Br", "obrien", "O’Brien", "o'brien", "OʼBRIEN"])
def test_o_brien_however_it_is_typed(typed):
    siobhan = PatientFactory(first_name="Siobhán", last_name="O'Brien")
    PatientFactory(first_name="Olive", last_name="Barnes")  # "o b": two words starting o and b, not one "ob"

    assert found(typed) == {siobhan}, typed


def test_o_apostrophe_b_is_two_letters_of_one_word_not_too_short():
    assert not too_short("O'B")
    assert too_short("o b")  # typed with a space it is still two initials


def test_the_first_name_and_several_apostrophes():
    d_arcy = PatientFactory(first_name="D’Arcy", last_name="Ng'ang'a")
    assert found("darc") == {d_arcy}
    assert found("da") == {d_arcy}
    assert found("ngan") == {d_arcy}
    assert found("Ng’ang") == {d_arcy}
    assert found("d arcy") == {d_arcy}  # the words as spaces left them still work
    assert found("a") == set()


def test_the_patient_list_shows_her_for_o_apostrophe_b(reception):
    PatientFactory(first_name="Siobhán", last_name="O'Brien")
    page = reception.get(reverse("patients:list"), {"q": "O'B"}).content.decode()
    assert "O&#x27;BRIEN" in page or "O'BRIEN" in page
    assert "Type at least two letters" not in page


def test_the_migration_gives_existing_patients_the_joined_words():
    patient = PatientFactory(first_name="Zoë", last_name="O'Brien-Núñez", phone="")
    stale = "zoe o brien nunez zoeobriennunez " + patient.mrn
    Patient.objects.filter(pk=patient.pk).update(search_text=stale)
    plain = PatientFactory(first_name="Peter", last_name="Ashdown", phone="")
    assert found("ob") == set()

    migration = importlib.import_module("patients.migrations.0009_search_text_joins_apostrophes")
    migration.refresh_search_text(apps, None)

    assert found("ob") == {patient}
    patient.refresh_from_db()
    assert patient.search_text == "zoe o brien nunez obrien zoeobriennunez " + patient.mrn
    plain.refresh_from_db()
    assert plain.search_text == "peter ashdown peterashdown " + plain.mrn


def word(min_size, max_size):
    return st.text(alphabet=LETTERS, min_size=min_size, max_size=max_size)


@st.composite
def apostrophe_names(draw):
    """A first name and a last name with one or two apostrophes inside a word (O'Brien, Ng'ang'a)."""
    parts = draw(st.lists(word(1, 6), min_size=2, max_size=3))
    marks = draw(st.lists(st.sampled_from(APOSTROPHES), min_size=len(parts) - 1, max_size=len(parts) - 1))
    last = parts[0].capitalize() + "".join(mark + part for mark, part in zip(marks, parts[1:], strict=True))
    first = draw(word(2, 8)).capitalize()
    return first, last


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=apostrophe_names(), data=st.data())
def test_every_start_of_the_joined_word_typed_either_way_finds_the_patient(name, data):
    first, last = name
    patient = PatientFactory(first_name=first, last_name=last)
    joined = fold_joined(last)
    assert " " not in joined

    # Typed in plain letters: any start of the word, two letters or more.
    cut = data.draw(st.integers(min_value=2, max_value=len(joined)), label="letters typed")
    assert patient in found(joined[:cut]), joined[:cut]
    # Typed as written, apostrophe and all, cut after some letter of the name (at least two letters in all).
    typed = last[: data.draw(st.integers(min_value=1, max_value=len(last)), label="characters typed")]
    if len(fold_joined(typed)) >= 2:
        assert patient in found(typed), typed
        assert patient in found(f"{first} {typed}"), typed


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "typed"), [(1280, "O'B"), (390, "o’b")])  # a phone types the curly one
def test_reception_finds_o_brien_as_she_types_o_apostrophe_b(page, width, typed):
    page.set_viewport_size({"width": width, "height": 900})
    UserFactory(username="rita", password=PASSWORD, roles=[RECEPTIONIST])
    siobhan = PatientFactory(first_name="Siobhán", last_name="O'Brien")
    PatientFactory(first_name="Olive", last_name="Barnes")
    clicks = Clicks()

    sign_in(page, "rita", PASSWORD)
    with page.expect_navigation(wait_until="load"):  # the live search's deferred script is attached
        clicks(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients"))
    search, results = page.get_by_label("Find a patient"), page.locator("#patient-results")
    search.press_sequentially(typed, delay=40)
    expect(results.get_by_role("heading", name="1 found")).to_be_visible()
    expect(results.get_by_text("Type at least two letters")).to_have_count(0)
    assert_no_serious_axe_violations(page)
    clicks(results.get_by_role("link", name="O'BRIEN, Siobhán"))
    expect(page).to_have_url(re.compile(re.escape(siobhan.get_absolute_url()) + "$"))
    assert clicks.count == 2
    if width == 390:
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
