"""Expenses in the admin: adding one, what can and cannot be changed, and no delete anywhere."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from finance import services
from finance.models import Expense, OtherIncome, PaymentMethod
from finance.tests.admin_pages import (
    ENTRY_MODELS,
    HIDDEN_MARKUP,
    LOCK_MESSAGE,
    LOCK_REASONS,
    MINIMAL_PDF,
    REFUSED_TYPE,
    expense_form,
    field_errors,
    field_row,
    has_save_button,
    income_form,
    last_month_end,
    last_month_start,
    png_bytes,
    select_options,
    stored_files,
    text,
    today,
    url,
)
from finance.tests.factories import (
    CategoryFactory,
    ClosedMonthFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
)
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


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
