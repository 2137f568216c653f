"""The accessibility audit's findings (issue #14), one test each: what axe-core and an HTML validator found,
checked here on the rendered page so that each stays fixed even where no browser runs."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic import audit
from clinical.tests.factories import MedicalRecordFactory, MedicationFactory
from clinical.tests.pages import signed_record
from patients.tests.factories import PatientFactory
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER
from staff.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

# HTML's valid date-and-time string: seconds take at most three decimals ('c' gave six: 03:18:27.941000).
VALID_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2}))?$")


class Tree(HTMLParser):
    """Each start tag with its attributes and the chain of open elements it sits in."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, html):
        super().__init__()
        self.open, self.elements, self.ids = [], [], set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs, list(self.open)))
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def find(self, tag, **attrs):
        wanted = attrs.items()
        return [(a, parents) for t, a, parents in self.elements if t == tag and all(a.get(k) == v for k, v in wanted)]


def tree(response):
    assert response.status_code == 200, response.status_code
    return Tree(response.content.decode())


def test_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO file's header


def test_help_text_with_a_list_is_not_inside_small(client_for):
    """<small> takes phrasing content only; the password rules are a <ul>."""
    page = tree(client_for(DOCTOR).get(reverse("password_change")))
    helps = [(a, parents) for t, a, parents in page.elements if a.get("id") == "id_new_password1_helptext"]
    assert helps, "the new password's help text is on the page"
    for tag, attrs, parents in page.elements:
        if tag == "ul":
            assert "small" not in parents


def test_radio_buttons_are_a_fieldset_and_no_label_points_nowhere(client_for):
    """A RadioSelect's id_for_label is empty: its label had for="" (html-validate: attribute-allowed-values)."""
    client = client_for(DOCTOR)
    record = signed_record(client.user, PatientFactory())
    page = tree(client.get(reverse("documents:record_letter", kwargs={"pk": record.pk, "kind": "sick-note"})))
    assert [a for a, _ in page.find("label") if a.get("for") == ""] == []
    radios = page.find("input", type="radio")
    assert radios and all("fieldset" in parents for _, parents in radios)


def test_formset_hidden_inputs_are_inside_a_cell(client_for):
    """An <input> may not be a child of <tr> (html-validate: element-permitted-content); the working hours."""
    doctor = DoctorFactory()
    page = tree(client_for(ADMINISTRATOR).get(reverse("staff:doctor_profile", kwargs={"pk": doctor.user_id})))
    hidden = page.find("input", type="hidden")
    assert any(a.get("name", "").startswith("hours-") for a, _ in hidden)
    assert [a["name"] for a, parents in hidden if parents and parents[-1] == "tr"] == []


def test_record_form_with_medications_is_valid_around_its_rows(client_for):
    """Hidden formset inputs in a cell, and every aria-describedby names an element on the page."""
    client = client_for(DOCTOR)
    DoctorFactory(user=client.user)
    draft = MedicalRecordFactory(author=client.user)
    MedicationFactory(record=draft)
    MedicationFactory(record=draft)
    page = tree(client.get(reverse("clinical:record_edit", kwargs={"pk": draft.pk})))
    assert [a.get("name") for a, parents in page.find("input", type="hidden") if parents and parents[-1] == "tr"] == []
    missing = [
        (tag, attrs.get("name"), ref)
        for tag, attrs, _ in page.elements
        for ref in attrs.get("aria-describedby", "").split()
        if ref not in page.ids
    ]
    assert missing == []


def test_audit_trail_times_are_valid_datetimes(client_for):
    client = client_for(MANAGER)
    audit.record(audit.Action.SEARCH, summary="patients: smith")
    page = tree(client.get(reverse("audit:search")))
    times = [a["datetime"] for a, _ in page.find("time") if "datetime" in a]
    assert times
    assert [value for value in times if not VALID_DATETIME.match(value)] == []


def test_chart_times_are_valid_datetimes(client_for):
    client = client_for(DOCTOR)
    DoctorFactory(user=client.user)
    patient = PatientFactory()
    signed_record(client.user, patient, drugs=["Amoxicillin"], diagnosis="Bronchitis")
    page = tree(client.get(reverse("clinical:chart", kwargs={"pk": patient.pk})))
    times = [a["datetime"] for a, _ in page.find("time") if "datetime" in a]
    assert times
    assert [value for value in times if not VALID_DATETIME.match(value)] == []


def test_patient_banner_has_no_form_inside_a_paragraph(client_for):
    """A <form> closes an open <p> (html-validate: no-implicit-close); the banner's "no known allergies" button."""
    client = client_for(DOCTOR)
    patient = PatientFactory(allergies_checked_at=None)
    page = tree(client.get(reverse("clinical:chart", kwargs={"pk": patient.pk})))
    forms = page.find("form", action=reverse("patients:allergies_checked", kwargs={"pk": patient.pk}))
    assert forms
    assert all("p" not in parents for _, parents in forms)


def test_finance_report_has_no_empty_table_header(client_for):
    """axe: empty-table-header, on the year's report (the corner above the row headings)."""
    page = client_for(MANAGER).get(reverse("admin:finance_monthlyreport_changelist"))
    assert page.status_code == 200
    assert re.findall(r"<th[^>]*>\s*</th>", page.content.decode()) == []


def test_admin_autocomplete_select_has_a_name_for_its_combobox(client_for):
    """select2 copies the <select>'s title onto the combobox it draws, which has no other name while empty;
    the textbox inside it is named by a script (axe: aria-input-field-name; checked in the manager's journey)."""
    page = tree(client_for(ADMINISTRATOR).get(reverse("admin:staff_doctor_add")))
    (select,) = [a for a, _ in page.find("select", name="user")]
    assert "admin-autocomplete" in select["class"]
    assert select.get("title") == "User"
    # and the script that names the read-only textbox select2 draws inside it
    assert [a for a, _ in page.find("script") if a.get("src", "").endswith("js/admin-autocomplete-names.js")]


def test_the_time_format_check_knows_a_bad_one():
    assert not VALID_DATETIME.match(f"{timezone.now():%Y-%m-%dT%H:%M:%S.%f}+00:00")
    assert VALID_DATETIME.match("2026-12-06T03:19:56+0000")


def test_tables_that_scroll_on_a_narrow_screen_can_be_reached_by_keyboard(client_for):
    """Below 700 px a plain table scrolls sideways by itself; with no link in it (no documents yet) a keyboard
    could not scroll it (axe: scrollable-region-focusable, the documents page at 390 px)."""
    client = client_for(DOCTOR)
    patient = PatientFactory()
    page = tree(client.get(reverse("documents:patient", kwargs={"patient_pk": patient.pk})))
    tables = page.find("table")
    assert tables
    assert [a for a, _ in tables if a.get("tabindex") != "0"] == []
