"""CSV and spreadsheet exports of the finance changelists: the same rows as the filtered list, in
its order, with exact amounts, the currency and the reversal columns, and no cell a spreadsheet
would run as a formula.
"""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from finance import services
from finance.models import ExpenseCategory, OtherIncome, PaymentMethod
from finance.tests.factories import (
    CompletedVisitFactory,
    DoneProcedureFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from patients.tests.factories import PatientFactory
from staff.roles import MANAGER
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TAIL = ["Currency", "Reversal of entry", "Reversal reason", "Recorded by", "Recorded at", "Notes"]
HEADERS = {
    "expense": ["Date", "Category", "Reason", "Paid to", "Method", "Amount", "Receipt", *TAIL],
    "otherincome": ["Date", "Source", "Description", "Payer", "Patient MRN", "Patient", "Amount", *TAIL],
    "payment": [
        "Date",
        "Receipt",
        "Patient MRN",
        "Patient",
        "For",
        "Standard fee",
        "Amount",
        "Reason for a different amount",
        "Method",
        *TAIL,
    ],
}
EXPORT_NAMES = {"expense": "expenses", "otherincome": "other-incomes", "payment": "payments"}


def today():
    return timezone.localdate()


def last_month_end():
    return today().replace(day=1) - timedelta(days=1)


def url(name, *args):
    return reverse(f"admin:finance_{name}", args=args)


def csv_rows(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


def csv_dicts(response):
    header, *rows = csv_rows(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_rows(response):
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    return list(sheet.iter_rows())


def export(client, model, fmt="csv", params=None):
    return client.get(url(f"{model}_{fmt}"), params or {})


def column(rows, name):
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


def result_list(client, model, params=None):
    return list(client.get(url(f"{model}_changelist"), params or {}).context["cl"].result_list)


# --- the data -------------------------------------------------------------------------------------


@pytest.fixture
def alice():
    return UserFactory(username="alice", first_name="Alice", last_name="Moss", roles=[MANAGER], is_staff=True)


@pytest.fixture
def expenses(alice):
    """Five expenses (one reversed) over this month and last, with text that looks like formulas."""
    supplies, rent = ExpenseCategory.objects.get(name="Supplies"), ExpenseCategory.objects.get(name="Rent")
    rows = {
        "rent": ExpenseFactory(
            date=last_month_end(),
            amount=Decimal("1200.00"),
            category=rent,
            reason="Rent for the month",
            paid_to="Harbour Estates",
            method=PaymentMethod.BANK_TRANSFER,
            recorded_by=alice,
        ),
        "formula": ExpenseFactory(
            date=today(),
            amount=Decimal("19.99"),
            category=supplies,
            reason='=HYPERLINK("http://evil.example","click")',
            paid_to="@SUM(1+1)*cmd|' /C calc'!A0",
            notes="+44 20 7946 0000",
            method=PaymentMethod.CARD,
            recorded_by=alice,
        ),
        "minus": ExpenseFactory(
            date=today(),
            amount=Decimal("7.05"),
            category=supplies,
            reason="-2+3 tape rolls",
            paid_to="Café Crème £",
            method=PaymentMethod.CASH,
        ),
        "swabs": ExpenseFactory(
            date=today(),
            amount=Decimal("80.50"),
            category=supplies,
            reason="Swabs",
            paid_to="MedSupply Ltd",
            method=PaymentMethod.CASH,
        ),
    }
    rows["swabs_back"] = services.reverse_entry(entry=rows["swabs"], reason="=1+1 returned unopened", by=alice)
    return rows


@pytest.fixture
def incomes(alice):
    patient = PatientFactory(first_name="Imogen", last_name="Thackeray")
    rows = {
        "lab": OtherIncomeFactory(
            date=today(),
            amount=Decimal("45.00"),
            source=OtherIncome.Source.LAB,
            description="Blood panel",
            patient=patient,
        ),
        "donation": OtherIncomeFactory(
            date=last_month_end(),
            amount=Decimal("500.00"),
            source=OtherIncome.Source.DONATION,
            description="@Friends of the clinic",
        ),
    }
    rows["lab_back"] = services.reverse_entry(entry=rows["lab"], reason="+ sample lost", by=alice)
    rows["patient"] = patient
    return rows


@pytest.fixture
def payments(alice):
    visit = PaymentFactory(appointment=CompletedVisitFactory(), date=today())
    procedure = DoneProcedureFactory(name="Dressing", fee=Decimal("35.00"))
    discounted = PaymentFactory(
        appointment=None,
        procedure=procedure,
        patient=procedure.patient,
        fee=Decimal("35.00"),
        amount=Decimal("30.00"),
        fee_override_reason="=Staff discount",
        method=PaymentMethod.CASH,
        date=today(),
    )
    refund = services.reverse_entry(entry=visit, reason="@refund: charged twice", by=alice)
    return {"visit": visit, "discounted": discounted, "refund": refund}


@pytest.fixture
def everything(expenses, incomes, payments):
    return {"expense": expenses, "otherincome": incomes, "payment": payments}


# --- the files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["expense", "otherincome", "payment"])
def test_the_csv_is_an_attachment_named_for_the_list(manager, everything, model):
    response = export(manager, model)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (f'attachment; filename="{EXPORT_NAMES[model]}-{today():%Y-%m-%d}.csv"')


@pytest.mark.parametrize("model", ["expense", "otherincome", "payment"])
def test_the_spreadsheet_is_an_attachment_named_for_the_list(manager, everything, model):
    response = export(manager, model, "xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"] == (f'attachment; filename="{EXPORT_NAMES[model]}-{today():%Y-%m-%d}.xlsx"')
    assert response.content.startswith(b"PK")  # a zip container


@pytest.mark.parametrize("model", ["expense", "otherincome", "payment"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_header_row(manager, everything, model, fmt):
    response = export(manager, model, fmt)
    header = csv_rows(response)[0] if fmt == "csv" else [c.value for c in xlsx_rows(response)[0]]
    assert header == HEADERS[model]


@pytest.mark.parametrize("model", ["expense", "otherincome", "payment"])
def test_one_row_per_entry_in_the_lists_order(manager, everything, model):
    rows = csv_rows(export(manager, model))
    shown = result_list(manager, model)

    assert len(rows) == 1 + len(shown)
    assert column(rows, "Amount") == [str(entry.amount) for entry in shown]
    assert column(rows, "Date") == [entry.date.isoformat() for entry in shown]
    assert column(rows, "Reversal of entry") == [str(entry.reverses_id or "") for entry in shown]


@pytest.mark.parametrize("ordering", ["4", "-4", "1.-4", "2", "-5.4"])
def test_the_rows_follow_the_lists_sort_order(manager, expenses, ordering):
    rows = csv_rows(export(manager, "expense", params={"o": ordering}))
    shown = result_list(manager, "expense", {"o": ordering})

    assert column(rows, "Amount") == [str(entry.amount) for entry in shown]


def test_expense_rows_in_full(manager, expenses, alice):
    rows = {row["Amount"]: row for row in csv_dicts(export(manager, "expense"))}

    assert set(rows) == {"1200.00", "19.99", "7.05", "80.50", "-80.50"}
    rent = rows["1200.00"]
    assert rent == {
        "Date": last_month_end().isoformat(),
        "Category": "Rent",
        "Reason": "Rent for the month",
        "Paid to": "Harbour Estates",
        "Method": "Bank transfer",
        "Amount": "1200.00",
        "Receipt": "",
        "Currency": "GBP",
        "Reversal of entry": "",
        "Reversal reason": "",
        "Recorded by": "Alice Moss",
        "Recorded at": timezone.localtime(expenses["rent"].recorded_at).strftime("%Y-%m-%d %H:%M"),
        "Notes": "",
    }
    back = rows["-80.50"]
    assert back["Reversal of entry"] == str(expenses["swabs"].pk)
    assert back["Reversal reason"] == "'=1+1 returned unopened"
    assert back["Recorded by"] == "Alice Moss"
    assert back["Paid to"] == "MedSupply Ltd"
    assert rows["7.05"]["Paid to"] == "Café Crème £"


def test_other_income_rows_in_full(manager, incomes):
    rows = {row["Amount"]: row for row in csv_dicts(export(manager, "otherincome"))}
    patient = incomes["patient"]

    assert set(rows) == {"45.00", "-45.00", "500.00"}
    assert rows["45.00"]["Source"] == "Laboratory"
    assert rows["45.00"]["Patient MRN"] == patient.mrn
    assert rows["45.00"]["Patient"] == patient.full_name
    assert rows["500.00"]["Patient MRN"] == rows["500.00"]["Patient"] == ""
    assert rows["500.00"]["Description"] == "'@Friends of the clinic"
    assert rows["-45.00"]["Reversal of entry"] == str(incomes["lab"].pk)
    assert rows["-45.00"]["Reversal reason"] == "'+ sample lost"


def test_payment_rows_in_full(manager, payments):
    rows = {row["Receipt"]: row for row in csv_dicts(export(manager, "payment"))}
    visit, discounted, refund = payments["visit"], payments["discounted"], payments["refund"]

    assert set(rows) == {visit.receipt_number, discounted.receipt_number, refund.receipt_number}
    assert rows[visit.receipt_number]["Amount"] == "60.00"
    assert rows[visit.receipt_number]["Standard fee"] == "60.00"
    assert rows[visit.receipt_number]["For"].startswith("Visit ")
    assert rows[discounted.receipt_number]["For"] == "Procedure: Dressing"
    assert rows[discounted.receipt_number]["Amount"] == "30.00"
    assert rows[discounted.receipt_number]["Standard fee"] == "35.00"
    assert rows[discounted.receipt_number]["Reason for a different amount"] == "'=Staff discount"
    assert rows[discounted.receipt_number]["Method"] == "Cash"
    assert rows[refund.receipt_number]["Amount"] == "-60.00"
    assert rows[refund.receipt_number]["Reversal of entry"] == str(visit.pk)
    assert rows[refund.receipt_number]["Reversal reason"] == "'@refund: charged twice"


# --- amounts, currency, formulas ------------------------------------------------------------------


def test_csv_amounts_are_exact_decimal_text(manager, expenses):
    amounts = column(csv_rows(export(manager, "expense")), "Amount")

    assert sorted(amounts) == sorted(["1200.00", "19.99", "7.05", "80.50", "-80.50"])
    assert not any(a.startswith("'") for a in amounts)  # a negative amount is a number, not a formula


@pytest.mark.parametrize("model", ["expense", "otherincome", "payment"])
def test_xlsx_amounts_are_numeric_cells(manager, everything, model):
    rows = xlsx_rows(export(manager, model, "xlsx"))
    index = [c.value for c in rows[0]].index("Amount")
    shown = result_list(manager, model)

    cells = [row[index] for row in rows[1:]]
    assert all(cell.data_type == "n" for cell in cells)
    assert [Decimal(str(cell.value)) for cell in cells] == [entry.amount for entry in shown]


def test_xlsx_matches_the_csv_cell_for_cell(manager, expenses):
    from_csv = csv_rows(export(manager, "expense"))
    from_xlsx = xlsx_rows(export(manager, "expense", "xlsx"))

    assert len(from_xlsx) == len(from_csv)
    amount = from_csv[0].index("Amount")
    for csv_row, xlsx_row in zip(from_csv[1:], from_xlsx[1:], strict=True):
        values = ["" if c.value is None else c.value for c in xlsx_row]
        assert Decimal(str(values[amount])) == Decimal(csv_row[amount])
        assert [str(v) for i, v in enumerate(values) if i != amount] == [
            v for i, v in enumerate(csv_row) if i != amount
        ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_currency_column_follows_the_setting(manager, expenses, settings, fmt):
    settings.CLINIC_CURRENCY = "EUR"
    response = export(manager, "expense", fmt)
    rows = csv_rows(response) if fmt == "csv" else [[c.value for c in r] for r in xlsx_rows(response)]

    assert set(column(rows, "Currency")) == {"EUR"}


# Cells of the fixture that a spreadsheet would run as a formula (or as one, for "-").
FORMULAS = [
    "=1+1 returned unopened",  # a reversal reason
    "+44 20 7946 0000",  # notes
    "@SUM(1+1)*cmd|' /C calc'!A0",  # paid to
    "-2+3 tape rolls",  # reason
    '=HYPERLINK("http://evil.example","click")',  # reason
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_text_that_a_spreadsheet_would_run_is_defused(manager, expenses, fmt):
    response = export(manager, "expense", fmt)
    if fmt == "csv":
        rows = csv_rows(response)
    else:
        rows = [["" if c.value is None else c.value for c in r] for r in xlsx_rows(response)]
    cells = [cell for row in rows[1:] for cell in row if isinstance(cell, str)]

    for dangerous in FORMULAS:
        assert "'" + dangerous in cells
        assert dangerous not in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_no_xlsx_cell_is_stored_as_a_formula(manager, expenses):
    rows = xlsx_rows(export(manager, "expense", "xlsx"))
    assert not any(cell.data_type == "f" for row in rows for cell in row)


# --- filters --------------------------------------------------------------------------------------


def filters(expenses, alice):
    month = last_month_end()
    supplies = ExpenseCategory.objects.get(name="Supplies").pk
    return {
        "month": {"date__year": str(month.year), "date__month": str(month.month)},
        "category": {"category__id__exact": str(supplies)},
        "method": {"method__exact": "cash"},
        "recorded by": {"recorded_by__id__exact": str(alice.pk)},
        "search": {"q": "swabs"},
        "reversals": {"reversal": "reversals"},
        "originals": {"reversal": "originals"},
        "combined": {"category__id__exact": str(supplies), "method__exact": "cash", "q": "s", "o": "-4"},
    }


FILTER_NAMES = ["month", "category", "method", "recorded by", "search", "reversals", "originals", "combined"]


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_the_export_has_exactly_the_filtered_rows(manager, expenses, alice, name):
    params = filters(expenses, alice)[name]
    shown = result_list(manager, "expense", params)
    assert 0 < len(shown) < len(expenses)  # the filter really filters

    rows = csv_rows(export(manager, "expense", params=params))
    assert column(rows, "Amount") == [str(entry.amount) for entry in shown]
    xrows = xlsx_rows(export(manager, "expense", "xlsx", params))
    assert len(xrows) == len(rows)


def test_the_expected_rows_for_the_cash_filter(manager, expenses):
    rows = csv_dicts(export(manager, "expense", params={"method__exact": "cash"}))
    # By hand: tape rolls 7.05, swabs 80.50 and its reversal, newest first (the reversal has the higher id).
    assert [row["Amount"] for row in rows] == ["-80.50", "80.50", "7.05"]


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_the_export_links_carry_the_lists_query_string(manager, expenses, alice, name):
    params = filters(expenses, alice)[name]
    response = manager.get(url("expense_changelist"), params)
    query = response.wsgi_request.GET.urlencode()
    links = re.findall(r'<a href="([^"]+)" class="export-link">', unescape(response.content.decode()))

    assert [urlsplit(link).path for link in links] == [url("expense_csv"), url("expense_xlsx")]
    assert [urlsplit(link).query for link in links] == [query, query]


def test_without_filters_the_export_links_have_no_query_string(manager, expenses):
    page = unescape(manager.get(url("expense_changelist")).content.decode())
    links = re.findall(r'<a href="([^"]+)" class="export-link">', page)

    assert links == [url("expense_csv"), url("expense_xlsx")]


def test_following_the_export_link_gives_the_rows_on_the_page(manager, expenses):
    params = {"method__exact": "card", "q": "HYPERLINK"}
    page = unescape(manager.get(url("expense_changelist"), params).content.decode())
    csv_link = re.search(r'<a href="([^"]+)" class="export-link">Export CSV', page)[1]

    rows = csv_dicts(manager.get(csv_link))
    assert [row["Amount"] for row in rows] == ["19.99"]


def test_an_empty_filter_exports_the_header_only(manager, expenses):
    rows = csv_rows(export(manager, "expense", params={"q": "no such thing anywhere"}))
    assert rows == [HEADERS["expense"]]
    assert len(xlsx_rows(export(manager, "expense", "xlsx", {"q": "no such thing anywhere"}))) == 1


def test_the_export_ignores_pagination(manager, expenses, monkeypatch):
    from finance.admin import ExpenseAdmin

    monkeypatch.setattr(ExpenseAdmin, "list_per_page", 2)
    rows = csv_rows(export(manager, "expense", params={"p": "2"}))
    assert len(rows) == 1 + 5


# What each bad parameter gets: back to the list with Django's "incorrect lookup" note (302), the
# parameter ignored (200, every row), or refused as suspicious (400). Never a 500.
BAD = {
    "unknown field": ({"nonsense": "1"}, 302),
    "category not a number": ({"category__id__exact": "abc"}, 302),
    "recorder not a number": ({"recorded_by__id__exact": "x"}, 302),
    "year not a number": ({"date__year": "abc"}, 302),
    "month out of range": ({"date__year": "2024", "date__month": "13"}, 302),
    "bad date bound": ({"date__gte": "not-a-date"}, 302),
    "unknown reversal choice": ({"reversal": "bogus"}, 200),
    "unknown ordering": ({"o": "abc.99"}, 200),
    "page past the end": ({"p": "999"}, 200),
}


@pytest.mark.parametrize("params, status", BAD.values(), ids=BAD.keys())
def test_a_bad_filter_parameter_does_not_fail(manager, expenses, params, status):
    response = export(manager, "expense", "csv", params)

    assert response.status_code == status
    if status == 302:
        assert response["Location"] == url("expense_changelist") + "?e=1"
    else:
        assert len(csv_rows(response)) == 1 + 5


def test_a_bad_filter_on_the_spreadsheet_goes_back_to_the_list(manager, expenses):
    response = export(manager, "expense", "xlsx", {"category__id__exact": "abc"})
    assert (response.status_code, response["Location"]) == (302, url("expense_changelist") + "?e=1")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_lookup_on_a_secret_field_is_refused(manager, expenses, fmt):
    """A filter on the recorder's password hash would leak it one character at a time."""
    response = export(manager, "expense", fmt, {"recorded_by__password__startswith": "m"})
    assert response.status_code == 400
