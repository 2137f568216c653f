"""Payments in the admin, and closing a month."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from finance.models import ClosedMonth, Payment
from finance.tests.admin_pages import (
    expense_form,
    field_errors,
    has_save_button,
    last_month_start,
    text,
    today,
    url,
)
from finance.tests.factories import (
    ClosedMonthFactory,
    ExpenseFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db


def test_payments_cannot_be_added_in_the_admin(manager):
    assert manager.get(url("payment_add")).status_code == 403
    assert manager.post(url("payment_add"), {"amount": "60.00"}).status_code == 403
    assert not Payment.objects.exists()
    assert url("payment_add") not in text(manager.get(url("payment_changelist")))


def test_a_payment_page_is_read_only(manager):
    payment = PaymentFactory()
    before = Payment.objects.filter(pk=payment.pk).values().get()

    response = manager.get(url("payment_change", payment.pk))
    assert response.status_code == 200
    assert not has_save_button(response)
    assert reverse("finance:receipt", args=[payment.pk]) in text(response)

    posted = manager.post(url("payment_change", payment.pk), {"amount": "1.00", "method": "cash", "_save": "Save"})
    assert posted.status_code == 403
    assert Payment.objects.filter(pk=payment.pk).values().get() == before


def test_the_payment_list_links_to_payments_due(manager):
    PaymentFactory()
    page = text(manager.get(url("payment_changelist")))
    assert f'href="{reverse("finance:due")}"' in page


def month_choices(response):
    return [value for value, _label in response.context["adminform"].form.fields["month"].choices]


def test_the_close_form_offers_ended_months_not_yet_closed(manager):
    two_months_ago = (last_month_start() - timedelta(days=1)).replace(day=1)
    ClosedMonthFactory(month=two_months_ago)

    choices = month_choices(manager.get(url("closedmonth_add")))

    assert choices[0] == last_month_start().isoformat()
    assert today().replace(day=1).isoformat() not in choices
    assert two_months_ago.isoformat() not in choices
    assert all(value < today().replace(day=1).isoformat() for value in choices)


def test_closing_a_month_through_the_admin(manager):
    month = last_month_start()
    response = manager.post(
        url("closedmonth_add"), {"month": month.isoformat(), "note": "  Books checked  ", "_save": "Save"}
    )

    assert response.status_code == 302
    closed = ClosedMonth.objects.get()
    assert closed.month == month
    assert closed.closed_by == manager.user
    assert closed.note == "Books checked"
    # Once closed, it is no longer offered, and its entries are refused.
    assert month.isoformat() not in month_choices(manager.get(url("closedmonth_add")))
    refused = manager.post(url("expense_add"), expense_form(date=month.isoformat()))
    assert "is closed" in " ".join(field_errors(refused, "date"))


def test_the_current_month_cannot_be_closed(manager):
    response = manager.post(
        url("closedmonth_add"), {"month": today().replace(day=1).isoformat(), "note": "", "_save": "Save"}
    )

    assert response.status_code == 200
    assert field_errors(response, "month")
    assert not ClosedMonth.objects.exists()


def test_a_closed_month_cannot_be_changed(manager):
    closed = ClosedMonthFactory(note="Checked by the accountant")
    response = manager.get(url("closedmonth_change", closed.pk))

    assert response.status_code == 200
    assert not has_save_button(response)
    posted = manager.post(
        url("closedmonth_change", closed.pk), {"month": closed.month.isoformat(), "note": "Reopened", "_save": "Save"}
    )
    assert posted.status_code == 403
    closed.refresh_from_db()
    assert closed.note == "Checked by the accountant"


def test_the_reports_close_link_prefills_the_month(manager):
    month = last_month_start()
    report = text(manager.get(url("monthlyreport_changelist"), {"year": month.year}))
    link = f"{url('closedmonth_add')}?month={month.isoformat()}"
    assert f'href="{link}"' in report

    form = manager.get(link)
    assert str(form.context["adminform"].form["month"].value()) == month.isoformat()
    assert re.search(rf'<option value="{month.isoformat()}" selected>', text(form))


def test_every_close_link_on_the_report_opens_a_form_offering_that_month(manager):
    """The report offers "Close…" for every ended month; the form must then offer that month, or a
    manager saving it would close a different month from the one they clicked."""
    year = today().year - 3
    close_links = rf'href="{re.escape(url("closedmonth_add"))}\?month=([0-9-]+)"'
    # Before the first entry there is nothing to close: no link, and the form does not offer the month.
    report = text(manager.get(url("monthlyreport_changelist"), {"year": year}))
    assert re.findall(close_links, report) == []

    ExpenseFactory(date=date(year, 1, 15))
    report = text(manager.get(url("monthlyreport_changelist"), {"year": year}))
    links = re.findall(close_links, report)
    assert len(links) == 12

    offered = month_choices(manager.get(url("closedmonth_add")))
    missing = [month for month in links if month not in offered]
    assert missing == []
