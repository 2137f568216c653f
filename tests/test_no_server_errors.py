"""No input a person or a script can send gives a 500: every form and list, the app's and the admin's.

Every app URL and every admin page is found by the same walks the access tests use (a new page is
swept without anyone listing it). Each is opened as a role that may use it; what its forms would
post is read from the page, then posted again with hostile values: non-numeric and SQL-shaped ids,
numbers beyond any database integer, negative numbers, 10,000-character text, NUL bytes (which
PostgreSQL refuses in text), impossible dates, lone surrogates and bytes that are not UTF-8, and a
list where one value is expected (a repeated key). Every value goes into every field at once, and
the values that could get through a form's own checks go into one field at a time with the rest
plausible, so they reach the services and the database. List pages get junk query parameters:
page numbers, filters, the admin's ordering and date filters, searches. Nothing may answer 5xx.

Kept fast by sampling: per field, the values that fit its kind; every value once for all fields.
"""

import datetime
from urllib.parse import urlencode

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.forms.formsets import BaseFormSet, ManagementForm
from django.urls import reverse
from django.utils import timezone

from tests.test_access import (
    ACCESS,
    ADMINISTRATOR,
    ANONYMOUS,
    DOCTOR,
    MANAGER,
    NURSE,
    RECEPTIONIST,
    URL_NAMES,
    URLS,
    client_as,
    page_text,
    url_kwargs,
)
from tests.test_admin_access import ADD, CASES, CHANGE, VIEW, build, has_rule, rights

pytestmark = pytest.mark.django_db

SQL = "' OR 1=1 --"
HUGE = "99999999999999999999999"
BEYOND_INT32 = "2147483648"
LONG = "x" * 10_000
NUL = "a\x00b"
IMPOSSIBLE_DATE = "2026-02-30"
SURROGATE = "\ud800"  # sent as the bytes ED A0 80: not UTF-8
NOT_UTF8 = b"\xff\xfe"

# Every value, into every field at once ("\ud800" and bytes that are not UTF-8 both arrive as U+FFFD).
HOSTILE = [SQL, HUGE, "-1", LONG, NUL, IMPOSSIBLE_DATE, SURROGATE, "9999-12-31"]
# The values that could pass a field's own checks and reach a service or the database, one field at a time.
BY_KIND = {
    "text": [LONG, NUL],
    "number": [HUGE, BEYOND_INT32, "NaN"],
    "date": ["9999-12-31", "0001-01-01"],
    "time": ["25:61"],
    "choice": [SQL, HUGE],
    "other": [SQL],
    # Ids and a formset's counts. A count in the thousands makes Django build up to its limit of
    # 1,000 forms past max_num (seconds each); that is no 500, and too slow to post here.
    "hidden": [SQL, "-1"],
}
QUERY_PARAMETERS = [
    "page", "p", "q", "o", "e", "all", "date", "type", "site", "visit", "doctor", "patient", "specialty", "status",
    "show", "year", "month", "minutes", "next", "sort", "term", "download",
]  # fmt: skip
QUERY_VALUES = [SQL, "-1", HUGE, NUL, IMPOSSIBLE_DATE, NOT_UTF8]

# Who sweeps a page: the first role in this order that may use it.
PREFERRED = [DOCTOR, NURSE, RECEPTIONIST, ADMINISTRATOR, MANAGER]


@pytest.fixture(autouse=True)
def _no_lockout(settings):
    # Sign-in pages are swept with many failed attempts: every one must reach authenticate().
    settings.AXES_FAILURE_LIMIT = 10_000


# --- sending ----------------------------------------------------------------------------------------


def encoded(pairs):
    """A urlencoded body or query; a lone surrogate goes as its (invalid) UTF-8 bytes."""
    return urlencode(pairs, doseq=True, encoding="utf-8", errors="surrogatepass")


def post(client, url, pairs):
    return client.post(url, encoded(pairs), content_type="application/x-www-form-urlencoded")


def get(client, url, pairs):
    return client.get(f"{url}?{encoded(pairs)}")


def answer(response):
    if response.streaming:
        page_text(response)  # read to the end: closes the file
    return response.status_code


class Sweep:
    """Sends requests and collects every 5xx (with what was sent), to report them all at once."""

    def __init__(self, client):
        self.client = client
        self.client.raise_request_exception = False
        self.failures = []

    def send(self, method, url, pairs):
        self.last = (post if method == "post" else get)(self.client, url, pairs)
        status = answer(self.last)
        if status >= 500:
            shown = [(k, v if len(v) < 40 else f"{v[:20]!r}…({len(v)})") for k, v in pairs if isinstance(v, str)]
            self.failures.append(f"{method.upper()} {url} {status}: {shown[:8]}")
        return status


# --- what a page's forms post -----------------------------------------------------------------------


def forms_on(response):
    """The forms and formsets the page rendered (the admin's main form and inlines included)."""
    found, seen = [], set()
    for context in response.context or []:
        values = context.flatten() if hasattr(context, "flatten") else context
        for value in dict(values).values():
            if hasattr(value, "form") and hasattr(value, "fieldsets"):  # the admin's AdminForm
                value = value.form
            if hasattr(value, "formset") and hasattr(value, "opts"):  # an InlineAdminFormSet
                value = value.formset
            if isinstance(value, forms.BaseForm | BaseFormSet) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
    # Included templates see a formset's own forms and its management form as "form": those are
    # posted with their formset, once.
    members = {id(f) for fs in found if isinstance(fs, BaseFormSet) for f in [*fs.forms, fs.management_form]}
    return [f for f in found if id(f) not in members and not isinstance(f, ManagementForm)]


def kind(field):
    if field.widget.is_hidden:
        return "hidden"
    if isinstance(field, forms.ModelChoiceField | forms.ChoiceField | forms.MultipleChoiceField):
        return "choice"
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return "number"
    if isinstance(field, forms.DateTimeField | forms.SplitDateTimeField | forms.DateField):
        return "date"
    if isinstance(field, forms.TimeField):
        return "time"
    if isinstance(field, forms.CharField):
        return "text"
    return "other"


def plausible(field):
    """A value the field would likely accept, so a hostile value next to it reaches further."""
    today = timezone.localdate()
    if isinstance(field, forms.ModelChoiceField):
        first = field.queryset.values_list("pk", flat=True).first()
        return "" if first is None else str(first)
    if isinstance(field, forms.ChoiceField):
        values = [str(v) for v, label in _flat(field.choices) if str(v)]
        return values[0] if values else ""
    if isinstance(field, forms.BooleanField):
        return "on"
    if isinstance(field, forms.SplitDateTimeField):
        return [today.isoformat(), "10:00"]
    if isinstance(field, forms.DateTimeField):
        return f"{today.isoformat()} 10:00"
    if isinstance(field, forms.DateField):
        return today.isoformat()
    if isinstance(field, forms.TimeField):
        return "10:00"
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        low = field.min_value if field.min_value is not None else 1
        return str(max(low, 1) if field.max_value is None else min(max(low, 1), field.max_value))
    if isinstance(field, forms.EmailField):
        return "someone@example.com"
    return "Test"


def _flat(choices):
    for value, label in choices:
        if isinstance(label, list | tuple):
            yield from label
        else:
            yield value, label


def names_and_values(form):
    """[(name, sub-names, baseline value, field)] for the form's own fields; files and disabled ones left out."""
    rows = []
    for name, field in form.fields.items():
        if field.disabled or isinstance(field, forms.FileField):
            continue
        key = form.add_prefix(name)
        widget = field.widget
        multi = isinstance(widget, forms.MultiWidget)
        subnames = [f"{key}{suffix}" for suffix in widget.widgets_names] if multi else [key]
        value = form[name].value()
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list) else widget.decompress(value)
            value = [sub.format_value(part) or "" for sub, part in zip(widget.widgets, parts, strict=True)]
            if not any(value):
                value = plausible(field)
        elif isinstance(widget, forms.CheckboxInput):
            value = "on" if value else ""
        elif isinstance(value, list | tuple):
            value = [str(v) for v in value]
        elif value in (None, ""):
            value = plausible(field)
        elif isinstance(value, datetime.date | datetime.time):
            value = widget.format_value(value) or plausible(field)
        else:
            value = str(value)
        rows.append((subnames, value, field))
    return rows


def baseline(found):
    """(what the page's forms would post, filled in plausibly; every field name; the fields swept one
    at a time: the management form and first form of a formset stand for its other forms)."""
    pairs, every, alone = [], [], []
    for item in found:
        if isinstance(item, BaseFormSet):
            management = item.management_form
            for name in management.fields:
                key = management.add_prefix(name)
                pairs.append((key, str(management[name].value() or 0)))
                # Alone only (see "hidden"), not with every field.
                alone.append(([key], management.fields[name]))
            forms_ = list(item.forms)
        else:
            forms_ = [item]
        for position, form in enumerate(forms_):
            for subnames, value, field in names_and_values(form):
                values = value if isinstance(value, list) and len(subnames) > 1 else [value] * len(subnames)
                for subname, part in zip(subnames, values, strict=True):
                    if isinstance(part, list):
                        pairs += [(subname, v) for v in part]
                    elif part != "":
                        pairs.append((subname, part))
                every += subnames
                if position == 0:
                    alone.append((subnames, field))
    return pairs, every, alone


def replaced(pairs, subnames, value):
    kept = [(k, v) for k, v in pairs if k not in subnames]
    return kept + [(name, value) for name in subnames]


def sweep_forms(sweep, url, response, extra=()):
    """Post every hostile value into every field, and the fitting ones into each field alone."""
    pairs, every, alone = baseline(forms_on(response))
    pairs += list(extra)
    for value in HOSTILE:
        sweep.send("post", url, replaced(pairs, every, value))
    # Repeated keys: a list where one value is expected.
    sweep.send("post", url, pairs + [(name, value) for name in every for value in ("abc", "1")])
    for subnames, field in alone:
        for value in BY_KIND[kind(field)]:
            sweep.send("post", url, replaced(pairs, subnames, value))


def bound_to_query(response):
    """The field names of the page's forms that were given the address's parameters."""
    if response.status_code != 200 or response.streaming:
        return []
    query = response.wsgi_request.GET
    return [f.add_prefix(n) for f in forms_on(response) if getattr(f, "data", None) is query for n in f.fields]


def sweep_queries(sweep, url, response=None, names=()):
    """Junk in every parameter at once, then in each parameter the page reads alone (one bad
    parameter can turn the page away before another one reaches the database)."""
    fields, read = [], list(names)
    if response is not None and response.status_code == 200:
        fields = [
            item.add_prefix(n) for item in forms_on(response) if isinstance(item, forms.BaseForm) for n in item.fields
        ]
        read += bound_to_query(response)
    if fields:
        # A search or filter form that is bound only once something is asked.
        sweep.send("get", url, [(name, "1") for name in fields])
        read += bound_to_query(sweep.last)
    everything = list(dict.fromkeys([*QUERY_PARAMETERS, *names, *fields]))
    for value in QUERY_VALUES:
        sweep.send("get", url, [(name, value) for name in everything])
    sweep.send("get", url, [(name, value) for name in everything for value in ("1", "abc")])
    for name in dict.fromkeys(["q", "page", "p", "o", *read]):
        for value in (SQL, NUL):
            sweep.send("get", url, [(name, value)])


# --- the app's pages --------------------------------------------------------------------------------


def role_for(name):
    allowed = ACCESS[name]
    if ANONYMOUS in allowed and name == "login":
        return ANONYMOUS
    return next(role for role in PREFERRED if role in allowed)


def accepts(pattern, method):
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return True
    return method in view_class.http_method_names and hasattr(view_class, method)


# Pages that end the client's session are swept, but with their own client (it is fresh per test).
APP_PAGES = [name for name in URL_NAMES if name in ACCESS]


@pytest.mark.parametrize("name", APP_PAGES)
def test_no_input_gives_a_server_error_on_an_app_page(name, client_for):
    role = role_for(name)
    client = client_as(role, client_for)
    sweep = Sweep(client)
    url = reverse(name, kwargs=url_kwargs(name, getattr(client, "user", None)))
    pattern = URLS[name]
    response = None
    if accepts(pattern, "get"):
        response = client.get(url)
        answer(response)
        assert response.status_code < 500, url
        sweep_queries(sweep, url, response)
    if accepts(pattern, "post") and name != "logout":
        if response is None or response.status_code != 200:
            response = None
        sweep_forms(sweep, url, response) if response is not None else _blind_posts(sweep, url)
    assert not sweep.failures, "\n".join(sweep.failures)


def _blind_posts(sweep, url):
    """An action page with no form of its own (check in, sign out others): hostile bodies anyway."""
    for value in HOSTILE:
        sweep.send("post", url, [(name, value) for name in ("reason", "note", "next", "pk", "id", "token")])


# --- the admin --------------------------------------------------------------------------------------


def admin_role(case):
    for role in (MANAGER, ADMINISTRATOR):
        held = rights(role, case.model) if case.model else {VIEW}
        needed = {"add": ADD, "change": CHANGE}.get(case.page, VIEW)
        if needed in held:
            return role
    return None


# Pages with a form or a list (and the custom ones: reversal, exports, reports, receipts); history,
# delete confirmations and the site's own pages take no input beyond the object in their address.
SWEPT_PAGES = ("add", "change", "changelist")
ADMIN_CASES = sorted(
    case_id
    for case_id, case in CASES.items()
    if has_rule(case)
    and admin_role(case)
    and (case.page in SWEPT_PAGES or (case.model and case.page is None))
    or case.key in ("admin:login", "admin:password_change", "admin:autocomplete")
)


def filter_parameters(response):
    """Every query parameter the changelist's filters and date hierarchy read."""
    changelist = (response.context or {}).get("cl") if response.status_code == 200 else None
    if not isinstance(changelist, ChangeList):
        return []
    names = [param for spec in changelist.filter_specs for param in spec.expected_parameters()]
    hierarchy = changelist.date_hierarchy
    if hierarchy:
        names += [f"{hierarchy}__{part}" for part in ("year", "month", "day", "gte", "lt")]
    return names + ["_to_field", "_popup", "app_label", "model_name", "field_name"]


@pytest.mark.parametrize("case_id", ADMIN_CASES)
def test_no_input_gives_a_server_error_on_an_admin_page(case_id, client_for):
    case = CASES[case_id]
    client = client_as(ANONYMOUS if case.key == "admin:login" else admin_role(case), client_for)
    sweep = Sweep(client)
    url, _obj = build(case)
    response = client.get(url)
    answer(response)
    assert response.status_code < 500, url
    base_url = url.split("?")[0]
    names = filter_parameters(response)
    if case.page is None and case.model and not names:
        # An export or a report reads the filters of its model's list.
        names = filter_parameters(client.get(reverse(f"admin:{case.model.replace('.', '_')}_changelist")))
    sweep_queries(sweep, base_url, response, names)
    has_form = case.page in ("add", "change") or (case.page is None and case.model) or case.key == "admin:login"
    if has_form and response.status_code == 200 and forms_on(response):
        sweep_forms(sweep, base_url, response, extra=[("_save", "Save")])
    if case.page == "changelist" and response.status_code == 200:
        # An action on selected rows: ids and the action's name as a script might send them.
        for value in (SQL, HUGE, NUL):
            sweep.send("post", base_url, [("action", value), ("_selected_action", value), ("index", value)])
            sweep.send("post", base_url, [("action", "delete_selected"), ("_selected_action", value), ("index", "0")])
    assert not sweep.failures, "\n".join(sweep.failures)


def test_the_reported_autocomplete_500_is_a_form_error(manager):
    # The reproduction: a patient id that is not a number in the other-income form.
    response = manager.post(
        reverse("admin:finance_otherincome_add"),
        {"date": timezone.localdate().isoformat(), "amount": "10", "source": "other", "patient": SQL},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["patient"]


def test_every_admin_form_with_an_autocomplete_field_is_swept():
    # The autocomplete widget is where the reported 500 lived: each such form is in the sweep.
    swept = {(CASES[c].model, CASES[c].page) for c in ADMIN_CASES}
    with_autocomplete = [
        f"{m._meta.app_label}.{m._meta.model_name}" for m, a in admin.site._registry.items() if a.autocomplete_fields
    ]
    assert "finance.otherincome" in with_autocomplete
    for model in with_autocomplete:
        assert (model, "add") in swept or (model, "change") in swept, model


def test_every_clinic_admin_and_inline_guards_against_hostile_input():
    # The fixes live in clinic.admin.HostileInputAdmin: a new admin built on Django's own class
    # would bring the 500s back for its pages.
    from clinic.admin import HostileInputAdmin

    clinic_apps = {"staff", "patients", "scheduling", "clinical", "finance", "documents", "clinic"}
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in clinic_apps:
            continue
        assert isinstance(model_admin, HostileInputAdmin), model
        for inline in model_admin.inlines:
            assert issubclass(inline, HostileInputAdmin), inline
