"""The monthly report's figures against hand-computed sums on a known data set.

Two past years (three and two years ago, so nothing depends on today's date) with payments for
visits and procedures, other incomes of every source, expenses in several categories (one of them
retired), entries on the first and last day of months, reversals recorded in a later month (one
across the new year), and closed months. Every expected figure below is written out by hand.
"""

import calendar
import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from finance import services
from finance.models import ExpenseCategory
from finance.money import format_money
from finance.reports import monthly_report
from finance.tests.factories import (
    CategoryFactory,
    ClosedMonthFactory,
    CompletedVisitFactory,
    DoneProcedureFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from scheduling.tests.factories import local
from staff.roles import MANAGER
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Y1 = timezone.localdate().year - 3
Y2 = Y1 + 1
REPORT = reverse("admin:finance_monthlyreport_changelist")
INCOME_COLUMNS = ["payments", "lab", "donation", "service", "other"]


def d(year, month, day):
    return datetime.date(year, month, day)


def last_day(year, month):
    return d(year, month, calendar.monthrange(year, month)[1])


def text(response):
    return unescape(response.content.decode())


# --- the data set ---------------------------------------------------------------------------------


def visit_payment(day, amount="60.00", fee="60.00"):
    visit = CompletedVisitFactory(start=local(day, 10), doctor__consultation_fee=Decimal(fee))
    return PaymentFactory(appointment=visit, date=day, amount=Decimal(amount), fee=Decimal(fee))


def procedure_payment(day, amount="35.00"):
    procedure = DoneProcedureFactory(performed_date=day, fee=Decimal(amount))
    return PaymentFactory(
        appointment=None,
        procedure=procedure,
        patient=procedure.patient,
        fee=procedure.fee,
        date=day,
        amount=procedure.fee,
    )


def expense(day, category, amount):
    return ExpenseFactory(date=day, category=ExpenseCategory.objects.get(name=category), amount=Decimal(amount))


def income(day, source, amount):
    return OtherIncomeFactory(date=day, source=source, amount=Decimal(amount))


def reversed_on(entry, day, reason="Entered in error"):
    """A reversal through the service, then dated on `day` (a later month of a past year)."""
    reversal = services.reverse_entry(entry=entry, reason=reason, by=UserFactory())
    type(entry).objects.filter(pk=reversal.pk).update(date=day)
    reversal.refresh_from_db()
    return reversal


@pytest.fixture
def books():
    CategoryFactory(name="Laundry", is_active=False)  # retired, with entries in Y1 only
    CategoryFactory(name="Printing", is_active=False)  # retired, never used
    e = {}
    # January Y1
    e["jan_visit"] = visit_payment(d(Y1, 1, 1))
    e["jan_procedure"] = procedure_payment(last_day(Y1, 1))
    e["jan_lab"] = income(d(Y1, 1, 15), "lab", "45.00")
    e["jan_rent"] = expense(d(Y1, 1, 1), "Rent", "1200.00")
    e["jan_supplies"] = expense(last_day(Y1, 1), "Supplies", "84.20")
    # February Y1
    e["feb_visit"] = visit_payment(d(Y1, 2, 10), amount="80.00", fee="80.00")
    e["feb_donation"] = income(last_day(Y1, 2), "donation", "500.00")
    e["feb_salaries"] = expense(last_day(Y1, 2), "Salaries", "2500.00")
    e["feb_laundry"] = expense(d(Y1, 2, 14), "Laundry", "40.00")
    # March Y1: the February visit is refunded
    e["mar_refund"] = reversed_on(e["feb_visit"], d(Y1, 3, 3), "Paid twice")
    e["mar_utilities"] = expense(d(Y1, 3, 1), "Utilities", "310.45")
    e["mar_supplies"] = expense(last_day(Y1, 3), "Supplies", "56.10")
    e["mar_laundry"] = expense(d(Y1, 3, 14), "Laundry", "40.00")
    e["mar_service"] = income(last_day(Y1, 3), "service", "120.00")
    # April Y1: the March supplies are reversed
    e["apr_supplies_back"] = reversed_on(e["mar_supplies"], d(Y1, 4, 2), "Returned")
    e["apr_procedure"] = procedure_payment(last_day(Y1, 4))
    e["apr_other"] = income(d(Y1, 4, 1), "other", "15.50")
    # December Y1: the lab income is reversed in January Y2
    e["dec_visit"] = visit_payment(last_day(Y1, 12))
    e["dec_lab"] = income(d(Y1, 12, 1), "lab", "30.00")
    e["dec_equipment"] = expense(last_day(Y1, 12), "Equipment", "999.99")
    # Y2
    e["jan2_lab_back"] = reversed_on(e["dec_lab"], d(Y2, 1, 5), "Invoice cancelled")
    e["jan2_visit"] = visit_payment(d(Y2, 1, 1))
    e["jan2_rent"] = expense(d(Y2, 1, 1), "Rent", "1250.00")
    e["jun2_procedure"] = procedure_payment(last_day(Y2, 6))
    e["jun2_donation"] = income(d(Y2, 6, 1), "donation", "250.00")
    e["jun2_maintenance"] = expense(d(Y2, 6, 15), "Maintenance", "120.00")
    e["jun2_other"] = expense(last_day(Y2, 6), "Other", "12.34")
    for month in (1, 2, 3):
        ClosedMonthFactory(month=d(Y1, month, 1))
    return e


# --- the expected figures, by hand ----------------------------------------------------------------

# month -> (patient payments, laboratory, donation, service, other); months not listed are all zero.
INCOME = {
    Y1: {
        1: ("95.00", "45.00", "0", "0", "0"),  # 60.00 visit + 35.00 procedure
        2: ("80.00", "0", "500.00", "0", "0"),
        3: ("-80.00", "0", "0", "120.00", "0"),  # the February visit refunded
        4: ("35.00", "0", "0", "0", "15.50"),
        12: ("60.00", "30.00", "0", "0", "0"),
    },
    Y2: {
        1: ("60.00", "-30.00", "0", "0", "0"),  # December's lab income reversed
        6: ("35.00", "0", "250.00", "0", "0"),
    },
}
EXPENSES = {
    Y1: {
        1: {"Rent": "1200.00", "Supplies": "84.20"},
        2: {"Salaries": "2500.00", "Laundry": "40.00"},
        3: {"Utilities": "310.45", "Supplies": "56.10", "Laundry": "40.00"},
        4: {"Supplies": "-56.10"},
        12: {"Equipment": "999.99"},
    },
    Y2: {
        1: {"Rent": "1250.00"},
        6: {"Maintenance": "120.00", "Other": "12.34"},
    },
}
# month -> (total income, total expenses, net)
MONTH_TOTALS = {
    Y1: {
        1: ("140.00", "1284.20", "-1144.20"),
        2: ("580.00", "2540.00", "-1960.00"),
        3: ("40.00", "406.55", "-366.55"),
        4: ("50.50", "-56.10", "106.60"),
        12: ("90.00", "999.99", "-909.99"),
    },
    Y2: {
        1: ("30.00", "1250.00", "-1220.00"),
        6: ("285.00", "132.34", "152.66"),
    },
}
YEAR_INCOME = {
    Y1: ("190.00", "75.00", "500.00", "120.00", "15.50"),
    Y2: ("95.00", "-30.00", "250.00", "0", "0"),
}
YEAR_EXPENSES = {
    Y1: {
        "Equipment": "999.99",
        "Laundry": "80.00",
        "Maintenance": "0",
        "Other": "0",
        "Rent": "1200.00",
        "Salaries": "2500.00",
        "Supplies": "84.20",
        "Utilities": "310.45",
    },
    Y2: {
        "Equipment": "0",
        "Maintenance": "120.00",
        "Other": "12.34",
        "Rent": "1250.00",
        "Salaries": "0",
        "Supplies": "0",
        "Utilities": "0",
    },
}
YEAR_TOTALS = {Y1: ("900.50", "5174.64", "-4274.14"), Y2: ("315.00", "1382.34", "-1067.34")}
ZERO_INCOME = ("0", "0", "0", "0", "0")


def money(value):
    return Decimal(value)


# --- monthly_report() -----------------------------------------------------------------------------


@pytest.mark.parametrize("year", [Y1, Y2])
def test_income_by_source_each_month(books, year):
    report = monthly_report(year, d(Y2, 7, 15))

    assert [key for key, _ in report.income_columns] == INCOME_COLUMNS
    for row in report.months:
        expected = INCOME[year].get(row.month.month, ZERO_INCOME)
        assert [c.amount for c in row.incomes] == [money(v) for v in expected], row.month


@pytest.mark.parametrize("year", [Y1, Y2])
def test_expenses_by_category_each_month(books, year):
    report = monthly_report(year, d(Y2, 7, 15))

    names = [c.name for c in report.categories]
    assert names == list(YEAR_EXPENSES[year])
    for row in report.months:
        expected = EXPENSES[year].get(row.month.month, {})
        got = {name: cell.amount for name, cell in zip(names, row.expenses, strict=True) if cell.amount}
        assert got == {name: money(v) for name, v in expected.items()}, row.month


@pytest.mark.parametrize("year", [Y1, Y2])
def test_totals_and_net_each_month(books, year):
    report = monthly_report(year, d(Y2, 7, 15))

    for row in report.months:
        income_total, expense_total, net = MONTH_TOTALS[year].get(row.month.month, ("0", "0", "0"))
        assert (row.income_total, row.expense_total, row.net) == (money(income_total), money(expense_total), money(net))


@pytest.mark.parametrize("year", [Y1, Y2])
def test_year_totals(books, year):
    report = monthly_report(year, d(Y2, 7, 15))

    assert [c.amount for c in report.totals.incomes] == [money(v) for v in YEAR_INCOME[year]]
    assert [line.total for line in report.income_lines] == [money(v) for v in YEAR_INCOME[year]]
    assert {line.label: line.total for line in report.expense_lines} == {
        name: money(v) for name, v in YEAR_EXPENSES[year].items()
    }
    income_total, expense_total, net = YEAR_TOTALS[year]
    assert report.totals.income_total == money(income_total)
    assert report.totals.expense_total == money(expense_total)
    assert report.totals.net == money(net)


def test_a_retired_category_shows_only_in_a_year_it_was_used(books):
    y1 = [c.name for c in monthly_report(Y1, d(Y2, 7, 15)).categories]
    y2 = [c.name for c in monthly_report(Y2, d(Y2, 7, 15)).categories]

    assert "Laundry" in y1
    assert "Laundry" not in y2
    assert "Printing" not in y1 + y2


def test_closed_and_ended_months(books):
    report = monthly_report(Y1, d(Y2, 7, 15))
    assert [m.closed for m in report.months] == [True, True, True] + [False] * 9
    assert all(m.ended for m in report.months)

    report = monthly_report(Y2, d(Y2, 7, 15))
    assert not any(m.closed for m in report.months)
    assert [m.ended for m in report.months] == [True] * 6 + [False] * 6  # July is not over on 15 July


def test_the_years_offered_run_from_today_back_to_the_first_entry(books):
    assert monthly_report(Y2, d(Y2, 7, 15)).years == [Y2, Y1]
    assert monthly_report(Y1, d(Y2 + 1, 1, 2)).years == [Y2 + 1, Y2, Y1]


def test_a_year_with_no_entries_is_all_zeros(books):
    report = monthly_report(Y1 - 4, d(Y2, 7, 15))

    assert report.totals.income_total == report.totals.expense_total == report.totals.net == 0
    assert all(c.amount == 0 for m in report.months for c in m.incomes + m.expenses)
    assert "Laundry" not in [c.name for c in report.categories]


def test_the_chart_has_two_bars_a_month_and_a_net_line(books):
    chart = monthly_report(Y1, d(Y2, 7, 15)).chart

    assert len(chart["bars"]) == 24
    assert [b["kind"] for b in chart["bars"][:4]] == ["income", "expense", "income", "expense"]
    assert all(b["height"] >= 0 for b in chart["bars"])  # April's negative expenses drawn below the axis
    april_expenses = chart["bars"][7]
    assert april_expenses["y"] == chart["zero"] and april_expenses["height"] > 0
    assert len(chart["net_points"].split()) == 12
    assert chart["currency"] == "GBP"


def test_the_month_cells_drill_down_to_their_filters(books):
    report = monthly_report(Y1, d(Y2, 7, 15))
    march = report.months[2]

    assert march.incomes[0].query == f"date__year={Y1}&date__month=3"
    assert march.incomes[3].query == f"date__year={Y1}&date__month=3&source__exact=service"
    supplies = [c.name for c in report.categories].index("Supplies")
    supplies_pk = ExpenseCategory.objects.get(name="Supplies").pk
    assert march.expenses[supplies].query == f"date__year={Y1}&date__month=3&category__id__exact={supplies_pk}"


# --- the admin page -------------------------------------------------------------------------------


def cells(page, kind):
    """{"2023-01": "£140.00", ..., "year": "£900.50"} for data-income / data-expenses / data-net."""
    return {
        key: strip_tags(value).strip() for key, value in re.findall(rf'data-{kind}="([^"]+)">(.*?)</td>', page, re.S)
    }


def expected_cells(year, column):
    index = {"income": 0, "expenses": 1, "net": 2}[column]
    values = {f"{year}-{m:02d}": MONTH_TOTALS[year].get(m, ("0", "0", "0"))[index] for m in range(1, 13)}
    values["year"] = YEAR_TOTALS[year][index]
    return {key: format_money(money(value)) for key, value in values.items()}


@pytest.mark.parametrize("year", [Y1, Y2])
@pytest.mark.parametrize("column", ["income", "expenses", "net"])
def test_the_page_shows_the_hand_computed_totals(manager, books, year, column):
    response = manager.get(REPORT, {"year": year})

    assert response.status_code == 200
    assert cells(text(response), column) == expected_cells(year, column)


def test_the_page_shows_income_and_expense_lines(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))

    incomes, expenses = page.split('<th scope="row">Total income</th>')
    income_rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', incomes, re.S))
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', expenses, re.S))
    labels = ["Patient payments", "Laboratory", "Donation", "Service", "Other"]
    for label, total in zip(labels, YEAR_INCOME[Y1], strict=True):
        total_cell = f'<td class="money total">{format_money(money(total))}</td>'
        assert total_cell in income_rows[label], label
    laundry = [strip_tags(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", rows["Laundry"], re.S)]
    assert laundry == ["–", "£40.00", "£40.00"] + ["–"] * 9 + ["£80.00"]
    assert "Printing" not in rows


def test_a_month_with_a_net_loss_is_marked_negative(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))

    assert f'<td class="money negative" data-net="{Y1}-01">−£1,144.20</td>' in page
    assert f'<td class="money" data-net="{Y1}-04">£106.60</td>' in page
    assert f'<td class="money" data-net="{Y1}-05">£0.00</td>' in page
    assert '<td class="money total negative" data-net="year">−£4,274.14</td>' in page


def test_closed_months_show_closed(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))

    states = re.search(r'<tr class="month-state">(.*?)</tr>', page, re.S)[1]
    months = [strip_tags(c).strip() for c in re.findall(r"<td>(.*?)</td>", states, re.S)]
    assert months == ["Closed"] * 3 + ["Close…"] * 9 + [""]


def test_someone_who_may_not_close_months_sees_open_not_close(client_for, books):
    viewer = client_for(MANAGER)
    viewer.user.groups.clear()
    viewer.user.user_permissions.add(Permission.objects.get(codename="view_monthlyreport"))
    page = text(viewer.get(REPORT, {"year": Y1}))
    states = re.search(r'<tr class="month-state">(.*?)</tr>', page, re.S)[1]
    months = [strip_tags(c).strip() for c in re.findall(r"<td>(.*?)</td>", states, re.S)]
    assert months == ["Closed"] * 3 + ["Open"] * 9 + [""]


MONEY_LINK = re.compile(r'<a href="(/admin/finance/(\w+)/\?[^"]*)"[^>]*>([−£0-9.,]+)</a>')


@pytest.mark.parametrize("year", [Y1, Y2])
def test_every_amount_link_lists_entries_adding_up_to_it(manager, books, year):
    page = text(manager.get(REPORT, {"year": year}))
    links = MONEY_LINK.findall(page)
    # Non-zero income and expense cells, plus the twelve monthly expense totals (counted by hand).
    assert len(links) == {Y1: 10 + 9 + 12, Y2: 4 + 3 + 12}[year]

    for href, _model, amount in links:
        listing = manager.get(href)
        assert listing.status_code == 200, href
        assert "?e=1" not in listing.get("Location", ""), href
        total = re.search(r"<strong data-total>([^<]*)</strong>", text(listing))[1]
        assert total == amount, href


def follow(manager, page, model, amount_text, month):
    """The changelist behind the cell of `model` for `month` whose text is `amount_text`."""
    for href, link_model, text_ in MONEY_LINK.findall(page):
        if link_model == model and text_ == amount_text and f"date__month={month}&" in href + "&":
            return manager.get(href)
    raise AssertionError(f"no {model} link {amount_text} for month {month}")


def test_a_cell_lists_exactly_its_entries(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))

    supplies_march = follow(manager, page, "expense", "£56.10", 3)
    assert [e.pk for e in supplies_march.context["cl"].result_list] == [books["mar_supplies"].pk]
    supplies_april = follow(manager, page, "expense", "−£56.10", 4)
    assert [e.pk for e in supplies_april.context["cl"].result_list] == [books["apr_supplies_back"].pk]
    payments_march = follow(manager, page, "payment", "−£80.00", 3)
    assert [p.pk for p in payments_march.context["cl"].result_list] == [books["mar_refund"].pk]
    payments_january = follow(manager, page, "payment", "£95.00", 1)
    assert {p.pk for p in payments_january.context["cl"].result_list} == {
        books["jan_visit"].pk,
        books["jan_procedure"].pk,
    }
    laundry = follow(manager, page, "expense", "£40.00", 2)
    assert [e.pk for e in laundry.context["cl"].result_list] == [books["feb_laundry"].pk]
    lab_december = follow(manager, page, "otherincome", "£30.00", 12)
    assert [i.pk for i in lab_december.context["cl"].result_list] == [books["dec_lab"].pk]


def test_the_expense_total_of_a_month_lists_all_its_expenses(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))
    href = re.search(rf'data-expenses="{Y1}-03"><a href="([^"]+)"', page)[1]

    listing = manager.get(href)
    assert {e.pk for e in listing.context["cl"].result_list} == {
        books["mar_utilities"].pk,
        books["mar_supplies"].pk,
        books["mar_laundry"].pk,
    }
    assert re.search(r"<strong data-total>([^<]*)</strong>", text(listing))[1] == "£406.55"


@pytest.mark.parametrize("year, month", [(Y1, 3), (Y1, 4), (Y2, 1), (Y1, 5)])
def test_a_month_heading_opens_the_months_own_page(manager, books, year, month):
    page = text(manager.get(REPORT, {"year": year}))
    link = reverse("admin:finance_monthlyreport_month", args=[year, month])
    assert f'<a href="{link}"' in page

    detail = text(manager.get(link))
    income_total, expense_total, net = MONTH_TOTALS[year].get(month, ("0", "0", "0"))
    figures = dict(re.findall(r"<strong data-(income|expenses|net)[^>]*>([^<]*)</strong>", detail))
    assert figures == {
        "income": format_money(money(income_total)),
        "expenses": format_money(money(expense_total)),
        "net": format_money(money(net)),
    }


def test_the_month_page_lists_that_months_entries(manager, books):
    detail = manager.get(reverse("admin:finance_monthlyreport_month", args=[Y1, 3])).context["detail"]

    assert [e.pk for e in detail.expenses] == [
        books["mar_utilities"].pk,
        books["mar_laundry"].pk,
        books["mar_supplies"].pk,
    ]
    assert [i.pk for i in detail.incomes] == [books["mar_service"].pk]
    assert (detail.payment_count, detail.payment_total) == (1, money("-80.00"))
    assert detail.closed


# --- navigation -----------------------------------------------------------------------------------


def test_the_year_is_chosen_with_the_query_string(manager, books):
    response = manager.get(REPORT, {"year": Y1})
    page = text(response)

    assert response.context["report"].year == Y1
    assert f"Monthly report {Y1}" in page
    assert f'href="?year={Y1 - 1}"' in page
    assert f'href="?year={Y2}"' in page
    assert f'<option value="{Y1}" selected>' in page
    assert f'<option value="{timezone.localdate().year}"' in page


def test_no_year_means_this_year_without_a_next_link(manager):
    this_year = timezone.localdate().year
    response = manager.get(REPORT)

    assert response.context["report"].year == this_year
    assert f'href="?year={this_year + 1}"' not in text(response)


@pytest.mark.parametrize("bad", ["abc", "", "2024.5", "１９９９x", "-"])
def test_a_bad_year_falls_back_to_this_year(manager, bad):
    response = manager.get(REPORT, {"year": bad})

    assert response.status_code == 200
    assert response.context["report"].year == timezone.localdate().year


@pytest.mark.parametrize("wild, expected", [("99999", 1), ("-3", "floor"), ("0", "floor")])
def test_an_out_of_range_year_is_clamped(manager, wild, expected):
    response = manager.get(REPORT, {"year": wild})

    assert response.status_code == 200
    year = response.context["report"].year
    assert year == (1900 if expected == "floor" else timezone.localdate().year + expected)


def test_a_year_with_no_data_shows_zeros(manager, books):
    page = text(manager.get(REPORT, {"year": Y1 - 4}))

    for kind in ("income", "expenses", "net"):
        values = cells(page, kind)
        assert len(values) == 13
        assert set(values.values()) == {"£0.00"}, kind
    # Only the monthly expense totals link (to empty lists); no cell has an amount to open.
    assert {amount for _href, _model, amount in MONEY_LINK.findall(page)} == {"£0.00"}


# --- the chart on the page ------------------------------------------------------------------------


def test_the_chart_is_inline_svg_with_24_bars_and_a_line(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))

    [svg] = re.findall(r'<svg[^>]*role="img"[^>]*>.*?</svg>', page, re.S)
    assert len(re.findall(r'<rect class="bar (income|expense)"', svg)) == 24
    points = re.search(r'<polyline class="net" points="([^"]+)"', svg)[1]
    assert len(points.split()) == 12
    assert all(re.fullmatch(r"-?[\d.]+,-?[\d.]+", p) for p in points.split())
    assert len(re.findall(r'<text class="month"', svg)) == 12


def test_the_page_loads_nothing_from_elsewhere(manager, books):
    page = text(manager.get(REPORT, {"year": Y1}))

    for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', page):
        assert src.startswith("/"), src
        assert not src.startswith("//"), src
    for href in re.findall(r'<link[^>]*\shref="([^"]+)"', page):
        assert href.startswith("/") and not href.startswith("//"), href
    assert "cdn" not in page.lower()
    assert "https://" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
