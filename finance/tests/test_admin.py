"""The finance admin as a manager uses it: recording expenses (with receipts), what it refuses,
read-only entries once locked, reversals, payments, closing months, categories, filtered totals.

Everything goes through the Django test client signed in as the Manager persona (the Administrator
where the two roles might differ), and each test then looks at the database and the page.
"""

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from finance import services
from finance.models import ClosedMonth, Expense, ExpenseCategory, OtherIncome, Payment, PaymentMethod
from finance.money import format_money
from finance.tests.factories import (
    CategoryFactory,
    ClosedMonthFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from patients.tests.factories import PatientFactory
from staff.roles import MANAGER
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENTRY_MODELS = {"expense": (Expense, ExpenseFactory), "otherincome": (OtherIncome, OtherIncomeFactory)}
LOCK_MESSAGE = "To correct it, reverse it and record the right entry."
LOCK_REASONS = {
    "closed month": "{month} is closed: this entry is final.",
    "reversed": "This entry has been reversed; it cannot be changed.",
    "reversal": "This entry is a reversal; it cannot be changed.",
}
HIDDEN_MARKUP = "This file has a web page or a script hidden inside it, so it is not accepted."
REFUSED_TYPE = "Only a PDF, JPEG, PNG or WebP file is accepted; this file is not one of them."
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


# --- helpers ------------------------------------------------------------------------------------


def text(response):
    return unescape(response.content.decode())


def today():
    return timezone.localdate()


def last_month_start():
    return (today().replace(day=1) - timedelta(days=1)).replace(day=1)


def last_month_end():
    return today().replace(day=1) - timedelta(days=1)


def url(name, *args):
    return reverse(f"admin:finance_{name}", args=args)


def png_bytes(size=(8, 6), colour=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def category(name):
    return ExpenseCategory.objects.get(name=name)


def expense_form(**overrides):
    data = {
        "date": today().isoformat(),
        "amount": "84.20",
        "category": str(category("Supplies").pk),
        "reason": "Gloves, 20 boxes",
        "paid_to": "MedSupply Ltd",
        "method": PaymentMethod.CARD,
        "notes": "Delivered to the store room",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def income_form(**overrides):
    data = {
        "date": today().isoformat(),
        "amount": "45.00",
        "source": OtherIncome.Source.LAB,
        "description": "Blood panel for a referring practice",
        "payer": "Hillside Surgery",
        "patient": "",
        "notes": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def field_errors(response, name):
    return response.context["adminform"].form.errors.get(name, [])


def field_row(response, name):
    """The HTML of the admin form row for one field (its errors are rendered inside it)."""
    page = text(response)
    start = page.index(f"field-{name}")
    end = page.find('class="form-row', start)
    return page[start : end if end != -1 else None]


def select_options(response, name):
    page = text(response)
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no <select name={name}> on the page"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select[1])
    return {label: value for value, label in options}


def filtered_total(response):
    match = re.search(r"<strong data-total>([^<]*)</strong>", text(response))
    assert match, "no filtered total on the page"
    return match[1]


def has_save_button(response):
    return 'name="_save"' in text(response)


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a fresh folder, so a test can see what was (or was not) written."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


def stored_files(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


# --- adding an expense ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_adding_an_expense_records_it_as_the_signed_in_user(persona, request):
    client = request.getfixturevalue(persona)
    someone_else = UserFactory()
    response = client.post(url("expense_add"), expense_form(recorded_by=str(someone_else.pk)))

    assert response.status_code == 302
    expense = Expense.objects.get()
    assert expense.date == today()
    assert expense.amount == Decimal("84.20")
    assert expense.category.name == "Supplies"
    assert expense.reason == "Gloves, 20 boxes"
    assert expense.paid_to == "MedSupply Ltd"
    assert expense.method == PaymentMethod.CARD
    assert expense.notes == "Delivered to the store room"
    assert expense.recorded_by == client.user
    assert expense.reverses is None
    assert not expense.receipt


def test_the_add_form_has_no_recorded_by_field(manager):
    response = manager.get(url("expense_add"))

    assert response.status_code == 200
    assert "recorded_by" not in response.context["adminform"].form.fields
    assert 'name="recorded_by"' not in text(response)
    assert 'name="receipt_file"' in text(response)


def test_an_expense_with_a_png_receipt_is_stored_under_a_random_name(manager, media):
    upload = SimpleUploadedFile("Boots till slip.png", png_bytes(), content_type="image/png")
    response = manager.post(url("expense_add"), expense_form(receipt_file=upload))

    assert response.status_code == 302
    expense = Expense.objects.get()
    assert expense.receipt_name == "Boots till slip.png"
    assert expense.receipt_type == "image/png"
    stored = expense.receipt.name
    assert re.fullmatch(r"receipts/\d{4}/[0-9a-f]{32}\.png", stored), stored
    assert "Boots" not in stored
    [written] = stored_files(media)
    assert written.name == stored.rsplit("/", 1)[-1]
    with Image.open(written) as image:
        assert image.format == "PNG"
        assert image.size == (8, 6)


def test_the_png_receipt_downloads_inline_with_safe_headers(manager, media):
    upload = SimpleUploadedFile("Boots till slip.png", png_bytes(), content_type="image/png")
    manager.post(url("expense_add"), expense_form(receipt_file=upload))
    expense = Expense.objects.get()

    response = manager.get(url("expense_receipt", expense.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("inline")
    assert 'filename="Boots till slip.png"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"


def test_a_pdf_receipt_is_stored_and_downloads_as_a_pdf(manager, media):
    upload = SimpleUploadedFile("invoice March.pdf", MINIMAL_PDF, content_type="application/pdf")
    manager.post(url("expense_add"), expense_form(receipt_file=upload))
    expense = Expense.objects.get()

    assert expense.receipt_name == "invoice March.pdf"
    assert expense.receipt_type == "application/pdf"
    assert re.fullmatch(r"receipts/\d{4}/[0-9a-f]{32}\.pdf", expense.receipt.name)
    response = manager.get(url("expense_receipt", expense.pk))
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert 'filename="invoice March.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == MINIMAL_PDF


def test_the_expense_list_and_page_link_to_the_receipt(manager, media):
    upload = SimpleUploadedFile("slip.png", png_bytes(), content_type="image/png")
    manager.post(url("expense_add"), expense_form(receipt_file=upload))
    expense = Expense.objects.get()
    link = url("expense_receipt", expense.pk)

    assert f'href="{link}"' in text(manager.get(url("expense_changelist")))
    change = text(manager.get(url("expense_change", expense.pk)))
    assert f'<a href="{link}">slip.png</a>' in change


def test_an_expense_without_a_receipt_has_no_download(manager):
    expense = ExpenseFactory()
    assert manager.get(url("expense_receipt", expense.pk)).status_code == 404


HOSTILE = {
    "html renamed png": ("receipt.png", b"<html><script>alert(document.cookie)</script></html>", "image/png"),
    "executable renamed pdf": ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "application/pdf"),
}


@pytest.mark.parametrize("name, content, content_type", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_receipt_is_refused_and_nothing_is_written(manager, media, name, content, content_type):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    response = manager.post(url("expense_add"), expense_form(receipt_file=upload))

    assert response.status_code == 200
    [error] = field_errors(response, "receipt_file")
    assert error in (REFUSED_TYPE, HIDDEN_MARKUP)
    assert error in field_row(response, "receipt_file")
    assert not Expense.objects.exists()
    assert stored_files(media) == []


def test_a_pdf_with_javascript_is_refused(manager, media):
    scripted = MINIMAL_PDF.replace(
        b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
    )
    upload = SimpleUploadedFile("invoice.pdf", scripted, content_type="application/pdf")
    response = manager.post(url("expense_add"), expense_form(receipt_file=upload))

    assert "contains scripts" in " ".join(field_errors(response, "receipt_file"))
    assert not Expense.objects.exists()
    assert stored_files(media) == []


def test_a_good_receipt_on_an_otherwise_invalid_form_writes_no_file(manager, media):
    upload = SimpleUploadedFile("slip.png", png_bytes(), content_type="image/png")
    response = manager.post(url("expense_add"), expense_form(amount="0", receipt_file=upload))

    assert response.status_code == 200
    assert field_errors(response, "amount")
    assert not Expense.objects.exists()
    assert stored_files(media) == []


def test_the_category_select_offers_only_active_categories(manager):
    CategoryFactory(name="Laundry", is_active=False)
    CategoryFactory(name="Training")

    options = select_options(manager.get(url("expense_add")), "category")

    assert "Laundry" not in options
    assert {"Training", "Rent", "Salaries", "Supplies", "Equipment", "Utilities", "Maintenance", "Other"} <= set(
        options
    )


def test_an_inactive_category_is_refused_when_posted(manager):
    retired = CategoryFactory(name="Laundry", is_active=False)
    response = manager.post(url("expense_add"), expense_form(category=str(retired.pk)))

    assert response.status_code == 200
    assert field_errors(response, "category")
    assert not Expense.objects.exists()


def test_an_expense_dated_in_a_closed_month_is_refused_next_to_the_date(manager):
    closed = ClosedMonthFactory(month=last_month_start())
    response = manager.post(url("expense_add"), expense_form(date=last_month_end().isoformat()))

    assert response.status_code == 200
    message = f"{closed.month:%B %Y} is closed; date the entry in an open month."
    assert field_errors(response, "date") == [message]
    assert message in field_row(response, "date")
    assert not Expense.objects.exists()


def test_an_expense_dated_in_the_future_is_refused(manager):
    response = manager.post(url("expense_add"), expense_form(date=(today() + timedelta(days=1)).isoformat()))

    assert field_errors(response, "date") == ["An entry cannot be dated in the future."]
    assert not Expense.objects.exists()


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "-0.01"])
def test_a_zero_or_negative_amount_is_refused_next_to_the_amount(manager, amount):
    response = manager.post(url("expense_add"), expense_form(amount=amount))

    assert response.status_code == 200
    assert field_errors(response, "amount") == ["Enter an amount above zero."]
    assert "Enter an amount above zero." in field_row(response, "amount")
    assert not Expense.objects.exists()


def test_an_other_income_dated_in_a_closed_month_is_refused(manager):
    ClosedMonthFactory(month=last_month_start())
    response = manager.post(url("otherincome_add"), income_form(date=last_month_start().isoformat()))

    assert "is closed" in " ".join(field_errors(response, "date"))
    assert not OtherIncome.objects.exists()


# --- changing, and what cannot be changed ---------------------------------------------------------


def test_an_open_entry_can_be_changed(manager):
    expense = ExpenseFactory(amount=Decimal("10.00"))
    response = manager.get(url("expense_change", expense.pk))
    assert has_save_button(response)
    assert 'class="entry-locked"' not in text(response)

    data = expense_form(amount="12.50", category=str(expense.category_id))
    response = manager.post(url("expense_change", expense.pk), data)

    assert response.status_code == 302
    expense.refresh_from_db()
    assert expense.amount == Decimal("12.50")
    assert expense.recorded_by != manager.user  # changing does not take over who recorded it


def locked_entries(model_name):
    """Three locked entries of the model: one in a closed month, one reversed, and its reversal."""
    model, factory = ENTRY_MODELS[model_name]
    old = factory(date=last_month_start(), amount=Decimal("70.00"))
    ClosedMonthFactory(month=last_month_start())
    original = factory(amount=Decimal("30.00"))
    reversal = services.reverse_entry(entry=original, reason="Entered twice", by=UserFactory())
    return {"closed month": old, "reversed": original, "reversal": reversal}


@pytest.mark.parametrize("model_name", ["expense", "otherincome"])
@pytest.mark.parametrize("which", ["closed month", "reversed", "reversal"])
def test_a_locked_entry_opens_read_only(manager, model_name, which):
    entry = locked_entries(model_name)[which]
    response = manager.get(url(f"{model_name}_change", entry.pk))

    assert response.status_code == 200
    assert not has_save_button(response)
    page = text(response)
    assert 'class="entry-locked"' in page
    assert LOCK_REASONS[which].format(month=f"{entry.date:%B %Y}") in page
    # Only an entry that can still be reversed is told how to correct it.
    assert (LOCK_MESSAGE in page) == (which == "closed month")


@pytest.mark.parametrize("model_name", ["expense", "otherincome"])
@pytest.mark.parametrize("which", ["closed month", "reversed", "reversal"])
def test_posting_to_a_locked_entry_changes_nothing(manager, model_name, which):
    entry = locked_entries(model_name)[which]
    model = ENTRY_MODELS[model_name][0]
    before = model.objects.filter(pk=entry.pk).values().get()
    form = expense_form if model_name == "expense" else income_form
    data = form(amount="999.00", notes="Changed behind the lock", date=today().isoformat())
    if model_name == "expense":
        data["category"] = str(entry.category_id)

    response = manager.post(url(f"{model_name}_change", entry.pk), data)

    assert response.status_code == 403
    assert model.objects.filter(pk=entry.pk).values().get() == before


# --- no delete anywhere ---------------------------------------------------------------------------


def an_entry_of_each_kind():
    return {
        "expense": ExpenseFactory(),
        "otherincome": OtherIncomeFactory(),
        "payment": PaymentFactory(),
        "expensecategory": CategoryFactory(name="Courier"),
        "closedmonth": ClosedMonthFactory(),
    }


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment", "expensecategory", "closedmonth"])
def test_the_delete_page_is_refused_and_nothing_is_deleted(manager, model_name):
    obj = an_entry_of_each_kind()[model_name]
    model = type(obj)

    assert manager.get(url(f"{model_name}_delete", obj.pk)).status_code == 403
    assert manager.post(url(f"{model_name}_delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment", "expensecategory", "closedmonth"])
def test_there_is_no_delete_selected_action(manager, model_name):
    obj = an_entry_of_each_kind()[model_name]
    model = type(obj)
    response = manager.get(url(f"{model_name}_changelist"))

    assert response.status_code == 200
    assert "delete_selected" not in text(response)
    # Posting the action anyway deletes nothing.
    manager.post(
        url(f"{model_name}_changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    assert model.objects.filter(pk=obj.pk).exists()


# --- reversal -------------------------------------------------------------------------------------


def an_entry(model_name):
    if model_name == "payment":
        return PaymentFactory()
    return ENTRY_MODELS[model_name][1](amount=Decimal("64.00"))


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_the_change_page_offers_reversal(manager, model_name):
    entry = an_entry(model_name)
    page = text(manager.get(url(f"{model_name}_change", entry.pk)))
    assert f'href="{url(f"{model_name}_reverse", entry.pk)}"' in page
    assert "Reverse this entry" in page


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_the_reverse_page_shows_the_form(manager, model_name):
    entry = an_entry(model_name)
    response = manager.get(url(f"{model_name}_reverse", entry.pk))

    assert response.status_code == 200
    page = text(response)
    assert 'name="reason"' in page
    assert f"−{entry.amount_display}" in page
    assert "dated today" in page


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_reversing_without_a_reason_shows_an_error(manager, model_name, reason):
    entry = an_entry(model_name)
    response = manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": reason})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert 'class="errorlist' in text(response)
    assert type(entry).objects.count() == 1


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_reversing_with_a_reason_records_the_negative_entry(manager, model_name):
    entry = an_entry(model_name)
    model = type(entry)
    response = manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": "Charged twice"})

    reversal = model.objects.get(reverses=entry)
    assert response.status_code == 302
    assert response["Location"] == url(f"{model_name}_change", reversal.pk)
    assert reversal.amount == -entry.amount
    assert reversal.date == today()
    assert reversal.reversal_reason == "Charged twice"
    assert reversal.recorded_by == manager.user
    entry.refresh_from_db()
    assert entry.amount > 0  # the original stays as it was
    follow = manager.get(response["Location"])
    assert "This entry is a reversal; it cannot be changed." in text(follow)


def test_a_refunded_payment_gets_a_receipt_number_and_the_visit_is_due_again(manager):
    payment = an_entry("payment")
    manager.post(url("payment_reverse", payment.pk), {"reason": "Patient was not charged for this"})

    refund = Payment.objects.get(reverses=payment)
    assert refund.amount == Decimal("-60.00")
    assert refund.patient == payment.patient
    assert refund.appointment == payment.appointment
    assert re.fullmatch(rf"{today():%Y}-0*{refund.pk}", refund.receipt_number)
    assert not services.paid_payments(payment.appointment).exists()


@pytest.mark.parametrize("model_name", ["expense", "otherincome", "payment"])
def test_reversing_twice_is_refused(manager, model_name):
    entry = an_entry(model_name)
    manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": "Wrong amount"})
    reversal = type(entry).objects.get(reverses=entry)

    again = manager.post(url(f"{model_name}_reverse", entry.pk), {"reason": "Once more"})
    assert again.status_code == 302
    assert again["Location"] == url(f"{model_name}_change", entry.pk)
    assert "already been reversed" in text(manager.get(again["Location"]))
    of_reversal = manager.post(url(f"{model_name}_reverse", reversal.pk), {"reason": "Undo"})
    assert of_reversal.status_code == 302
    assert type(entry).objects.count() == 2
    page = text(manager.get(url(f"{model_name}_change", entry.pk)))
    assert "Reverse this entry" not in page


def test_an_entry_in_a_closed_month_can_still_be_reversed_today(manager):
    old = ExpenseFactory(date=last_month_start(), amount=Decimal("200.00"))
    ClosedMonthFactory(month=last_month_start())

    response = manager.post(url("expense_reverse", old.pk), {"reason": "Invoice was cancelled"})

    assert response.status_code == 302
    reversal = Expense.objects.get(reverses=old)
    assert reversal.amount == Decimal("-200.00")
    assert reversal.date == today()


def test_reversing_an_unknown_entry_is_not_found(manager):
    assert manager.get(url("expense_reverse", 987654)).status_code == 404


# --- payments in the admin ------------------------------------------------------------------------


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


# --- closing a month ------------------------------------------------------------------------------


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


# --- categories -----------------------------------------------------------------------------------


def test_a_manager_adds_a_category_and_it_is_offered_for_expenses(manager):
    response = manager.post(
        url("expensecategory_add"),
        {"name": "Training", "description": "Courses and conferences", "is_active": "on", "_save": "Save"},
    )

    assert response.status_code == 302
    training = ExpenseCategory.objects.get(name="Training")
    assert select_options(manager.get(url("expense_add")), "category")["Training"] == str(training.pk)
    manager.post(url("expense_add"), expense_form(category=str(training.pk)))
    assert Expense.objects.get().category == training


def test_a_category_name_is_unique_whatever_its_case(manager):
    response = manager.post(url("expensecategory_add"), {"name": "rent", "is_active": "on", "_save": "Save"})

    assert response.status_code == 200
    assert "This category exists." in text(response)
    assert ExpenseCategory.objects.filter(name__iexact="rent").count() == 1


def test_retiring_a_category_hides_it_from_new_expenses_but_keeps_old_ones(manager):
    utilities = category("Utilities")
    old = ExpenseFactory(category=utilities, reason="Electricity")

    response = manager.post(
        url("expensecategory_change", utilities.pk),
        {"name": "Utilities", "description": utilities.description, "_save": "Save"},  # "active" unticked
    )

    assert response.status_code == 302
    utilities.refresh_from_db()
    assert not utilities.is_active
    assert "Utilities" not in select_options(manager.get(url("expense_add")), "category")
    old.refresh_from_db()
    assert old.category == utilities
    # The old expense's own form still shows (and keeps) its category.
    assert select_options(manager.get(url("expense_change", old.pk)), "category")["Utilities"] == str(utilities.pk)
    kept = manager.post(
        url("expense_change", old.pk), expense_form(category=str(utilities.pk), reason="Electricity Q1")
    )
    assert kept.status_code == 302
    old.refresh_from_db()
    assert (old.category, old.reason) == (utilities, "Electricity Q1")


# --- the filtered total ---------------------------------------------------------------------------


@pytest.fixture
def expenses(manager):
    """Nine expenses across this month and last, categories, methods and recorders; one reversed."""
    alice = UserFactory(username="alice", first_name="Alice", last_name="Moss", roles=[MANAGER], is_staff=True)
    bob = UserFactory(username="bob", first_name="Bob", last_name="Reyes", roles=[MANAGER], is_staff=True)
    rent, supplies, utilities = category("Rent"), category("Supplies"), category("Utilities")
    first, last = last_month_start(), last_month_end()
    card, bank, cash = PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER, PaymentMethod.CASH
    rows = {
        "rent": ExpenseFactory(
            date=first,
            amount="1200.00",
            category=rent,
            method=bank,
            recorded_by=alice,
            reason="Rent",
            paid_to="Harbour Estates",
        ),
        "gloves": ExpenseFactory(
            date=first,
            amount="84.20",
            category=supplies,
            method=card,
            recorded_by=bob,
            reason="Gloves, 20 boxes",
            paid_to="MedSupply Ltd",
        ),
        "power": ExpenseFactory(
            date=last,
            amount="310.45",
            category=utilities,
            method=bank,
            recorded_by=alice,
            reason="Electricity",
            paid_to="GridPower",
        ),
        "syringes": ExpenseFactory(
            date=last,
            amount="56.10",
            category=supplies,
            method=cash,
            recorded_by=bob,
            reason="Syringes",
            paid_to="MedSupply Ltd",
            notes="urgent order",
        ),
        "rent2": ExpenseFactory(
            date=today(),
            amount="1200.00",
            category=rent,
            method=bank,
            recorded_by=alice,
            reason="Rent",
            paid_to="Harbour Estates",
        ),
        "water": ExpenseFactory(
            date=today(),
            amount="42.75",
            category=utilities,
            method=card,
            recorded_by=bob,
            reason="Water",
            paid_to="Clearwater plc",
        ),
        "masks": ExpenseFactory(
            date=today(),
            amount="19.99",
            category=supplies,
            method=card,
            recorded_by=alice,
            reason="Masks",
            paid_to="Boots",
        ),
        "swabs": ExpenseFactory(
            date=today(),
            amount="80.50",
            category=supplies,
            method=cash,
            recorded_by=bob,
            reason="Swabs",
            paid_to="MedSupply Ltd",
        ),
    }
    rows["swabs_back"] = services.reverse_entry(entry=rows["swabs"], reason="Returned unopened", by=alice)
    rows["alice"], rows["bob"] = alice, bob
    return rows


# Hand-computed from the fixture above.
TOTAL_FILTERS = {
    "no filter": ({}, "2913.49"),  # 1200 + 84.20 + 310.45 + 56.10 + 1200 + 42.75 + 19.99 + 80.50 − 80.50
    "category Supplies": ({"category": "Supplies"}, "160.29"),  # 84.20 + 56.10 + 19.99 + 80.50 − 80.50
    "category Rent": ({"category": "Rent"}, "2400.00"),
    "method card": ({"method__exact": "card"}, "146.94"),  # 84.20 + 42.75 + 19.99
    "method cash": ({"method__exact": "cash"}, "56.10"),  # 56.10 + 80.50 − 80.50
    "recorded by alice": ({"recorded_by": "alice"}, "2649.94"),  # 1200 + 310.45 + 1200 + 19.99 − 80.50
    "recorded by bob": ({"recorded_by": "bob"}, "263.55"),  # 84.20 + 56.10 + 42.75 + 80.50
    "search MedSupply": ({"q": "medsupply"}, "140.30"),  # 84.20 + 56.10 + 80.50 − 80.50
    "search notes": ({"q": "urgent"}, "56.10"),
    "search category name": ({"q": "utilities"}, "353.20"),  # 310.45 + 42.75
    "originals": ({"reversal": "originals"}, "2993.99"),
    "reversals": ({"reversal": "reversals"}, "-80.50"),
    "reversed": ({"reversal": "reversed"}, "80.50"),
    "card, searched": ({"method__exact": "card", "q": "masks"}, "19.99"),
}


def resolve(expenses, params):
    resolved = {}
    for key, value in params.items():
        if key == "category":
            resolved["category__id__exact"] = category(value).pk
        elif key == "recorded_by":
            resolved["recorded_by__id__exact"] = expenses[value].pk
        else:
            resolved[key] = value
    return resolved


@pytest.mark.parametrize("params, expected", TOTAL_FILTERS.values(), ids=TOTAL_FILTERS.keys())
def test_the_filtered_total_is_the_sum_of_the_filtered_rows(manager, expenses, params, expected):
    response = manager.get(url("expense_changelist"), resolve(expenses, params))

    assert response.status_code == 200
    assert filtered_total(response) == format_money(Decimal(expected))
    shown = response.context["cl"].result_list
    assert sum((e.amount for e in shown), Decimal(0)) == Decimal(expected)


def test_the_filtered_total_for_last_month_by_date_hierarchy(manager, expenses):
    month = last_month_start()
    response = manager.get(url("expense_changelist"), {"date__year": month.year, "date__month": month.month})

    assert filtered_total(response) == "£1,650.75"  # 1200 + 84.20 + 310.45 + 56.10
    assert {e.reason for e in response.context["cl"].result_list} == {
        "Rent",
        "Gloves, 20 boxes",
        "Electricity",
        "Syringes",
    }


def test_the_filtered_total_for_this_month_is_net_of_the_reversal(manager, expenses):
    response = manager.get(url("expense_changelist"), {"date__year": today().year, "date__month": today().month})

    assert filtered_total(response) == "£1,262.74"  # 1200 + 42.75 + 19.99 + 80.50 − 80.50
    assert "Total of the 5 entries" in text(response)


def test_the_filtered_total_counts_every_row_not_just_the_page(manager, expenses, monkeypatch):
    from finance.admin import ExpenseAdmin

    monkeypatch.setattr(ExpenseAdmin, "list_per_page", 2)
    response = manager.get(url("expense_changelist"))

    assert len(response.context["cl"].result_list) == 2
    assert filtered_total(response) == "£2,913.49"
    assert "Total of the 9 entries" in text(response)


def test_an_empty_filter_shows_a_zero_total(manager, expenses):
    response = manager.get(url("expense_changelist"), {"q": "nothing matches this"})
    assert filtered_total(response) == "£0.00"


def test_the_other_income_total_follows_the_source_filter(manager):
    OtherIncomeFactory(amount="45.00", source=OtherIncome.Source.LAB)
    OtherIncomeFactory(amount="120.00", source=OtherIncome.Source.DONATION)
    lab = OtherIncomeFactory(amount="30.25", source=OtherIncome.Source.LAB)
    services.reverse_entry(entry=lab, reason="Sample lost", by=manager.user)

    assert filtered_total(manager.get(url("otherincome_changelist"))) == "£165.00"
    assert filtered_total(manager.get(url("otherincome_changelist"), {"source__exact": "lab"})) == "£45.00"
    assert filtered_total(manager.get(url("otherincome_changelist"), {"source__exact": "donation"})) == "£120.00"


def test_the_payment_total_is_net_of_refunds(manager):
    PaymentFactory(amount="60.00")
    refunded = PaymentFactory(amount="45.00", fee_override_reason="Concession")
    services.reverse_entry(entry=refunded, reason="Refund", by=manager.user)

    response = manager.get(url("payment_changelist"))
    assert filtered_total(response) == "£60.00"
    assert filtered_total(manager.get(url("payment_changelist"), {"reversal": "reversals"})) == "−£45.00"


# --- other income and its patient -----------------------------------------------------------------


def test_the_patient_autocomplete_finds_the_patient(manager):
    patient = PatientFactory(first_name="Imogen", last_name="Thackeray")
    PatientFactory(first_name="Someone", last_name="Else")

    response = manager.get(
        reverse("admin:autocomplete"),
        {"term": "Thackeray", "app_label": "finance", "model_name": "otherincome", "field_name": "patient"},
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [str(patient.pk)]


def test_the_other_income_form_uses_the_autocomplete_and_saves_the_patient(manager):
    patient = PatientFactory()
    page = text(manager.get(url("otherincome_add")))
    assert "admin-autocomplete" in page
    assert reverse("admin:autocomplete") in page

    response = manager.post(url("otherincome_add"), income_form(patient=str(patient.pk), source="service"))

    assert response.status_code == 302
    income = OtherIncome.objects.get()
    assert (income.patient, income.source, income.recorded_by) == (patient, "service", manager.user)
