"""What the finance admin tests share: the forms as the admin posts them and the builders."""

import io
import re
from datetime import timedelta
from html import unescape

from django.urls import reverse
from django.utils import timezone
from PIL import Image

from finance.models import Expense, ExpenseCategory, OtherIncome, PaymentMethod
from finance.tests.factories import (
    ExpenseFactory,
    OtherIncomeFactory,
)

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


def stored_files(folder):
    return [p for p in folder.rglob("*") if p.is_file()]
