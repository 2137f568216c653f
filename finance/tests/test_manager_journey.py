"""A manager's books in a real browser: record an expense with a receipt in the admin, filter the month
and see its total change, read the monthly report and its chart, export CSV; then a receptionist, who
reaches no finance page but Payments due, where she takes a payment and prints the receipt."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from clinic.tests.browser import assert_no_serious_axe_violations, sign_in, today_with_time_to_spare
from finance.models import Expense, ExpenseCategory, Payment
from finance.money import format_money
from finance.tests.factories import CompletedVisitFactory, ExpenseFactory
from patients.tests.factories import PatientFactory
from staff.roles import MANAGER, RECEPTIONIST
from staff.tests.factories import DoctorFactory, UserFactory

MANAGER_PASSWORD = "manager-journey-Pw-7"
RECEPTION_PASSWORD = "reception-journey-Pw-7"
EARLIER = Decimal("120.00")  # already recorded this month
AMOUNT = Decimal("87.45")  # the expense the manager records
LAST_MONTH = Decimal("999.00")  # recorded last month: outside this month's filter
REASON = "Sharps bins, 12 units"
PAID_TO = "Northgate Medical Supplies"


@pytest.fixture
def private_media(settings, tmp_path):
    """The receipt the manager uploads is stored in a temporary folder, not the project's media."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


def receipt_scan(folder):
    path = folder / "receipt-scan.png"
    Image.new("RGB", (40, 24), (240, 240, 230)).save(path, "PNG")
    return path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the live server's thread must see the factories' rows
@pytest.mark.parametrize("width", [1280, 390])
def test_manager_records_an_expense_sees_the_totals_and_exports_and_reception_takes_a_payment(
    page, new_context, tmp_path, private_media, width
):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(10_000)
    today = today_with_time_to_spare()
    month, year = f"{today:%Y-%m}", today.year
    manager = UserFactory(
        username="maya", first_name="Maya", last_name=MANAGER, password=MANAGER_PASSWORD, roles=[MANAGER]
    )
    manager.is_staff = True
    manager.save()
    UserFactory(
        username="rita", first_name="Rita", last_name="Reception", password=RECEPTION_PASSWORD, roles=[RECEPTIONIST]
    )
    # Seeded by a migration, but an earlier transactional test's flush may have removed it.
    supplies, _ = ExpenseCategory.objects.get_or_create(name="Supplies")
    ExpenseFactory(date=today, amount=EARLIER, category=supplies, reason="Gloves, 20 boxes", recorded_by=manager)
    last_month = today.replace(day=1) - timedelta(days=1)
    ExpenseFactory(date=last_month, amount=LAST_MONTH, reason="Last month's rent", recorded_by=manager)
    amara = PatientFactory(first_name="Amara", last_name="Nwosu")
    visit = CompletedVisitFactory(
        patient=amara,
        doctor=DoctorFactory(
            user__first_name="Hana", user__last_name="Okafor", consultation_fee=Decimal("60.00"), hours=[]
        ),
    )

    # The manager signs in and goes to the admin, then to Expenses.
    # A manager lands in the admin, where the finances are kept (no click).
    sign_in(page, "maya", MANAGER_PASSWORD)
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_role("link", name="Expenses", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/finance/expense/$"))

    # Filter to this month: only this month's expense counts.
    page.locator("#changelist-filter").get_by_role("link", name="This month").click()
    expect(page).to_have_url(re.compile(r"date__gte="))
    total = page.locator("#filtered-total [data-total]")
    expect(total).to_have_text(format_money(EARLIER))
    expect(page.locator("#filtered-total")).to_contain_text("Total of the 1 entry")
    assert_no_serious_axe_violations(page)

    # Add an expense with a receipt.
    page.get_by_role("link", name="Add expense").click()
    expect(page.get_by_role("heading", name="Add expense")).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.get_by_label("Date").fill(today.isoformat())
    page.get_by_label("Amount").fill(str(AMOUNT))
    page.get_by_label("Category").select_option(label="Supplies")
    page.get_by_label("Reason").fill(REASON)
    page.get_by_label("Paid to").fill(PAID_TO)
    page.get_by_label("Payment method").select_option(label="Card")
    page.get_by_label("Receipt").set_input_files(receipt_scan(tmp_path))
    page.get_by_role("button", name="Save", exact=True).click()

    # Back on the month's list (the filter is kept): the new row, and the total up by exactly the amount.
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page).to_have_url(re.compile(r"/admin/finance/expense/\?.*date__gte="))
    expect(total).to_have_text(format_money(EARLIER + AMOUNT))
    expect(page.locator("#filtered-total")).to_contain_text("Total of the 2 entries")
    row = page.locator("#result_list tbody tr").filter(has_text=REASON)
    expect(row).to_contain_text(PAID_TO)
    expect(row).to_contain_text(format_money(AMOUNT))
    expense = Expense.objects.get(reason=REASON)
    assert (expense.amount, expense.date, expense.category, expense.recorded_by) == (AMOUNT, today, supplies, manager)
    assert (expense.receipt_name, expense.receipt_type) == ("receipt-scan.png", "image/png")

    # The receipt opens through its permission-checked link.
    receipt_link = row.get_by_role("link", name="Receipt")
    expect(receipt_link).to_have_attribute("href", reverse("admin:finance_expense_receipt", args=[expense.pk]))
    receipt = page.request.get(receipt_link.get_attribute("href"))
    assert receipt.status == 200
    assert receipt.headers["content-type"] == "image/png"
    assert receipt.headers["x-content-type-options"] == "nosniff"
    assert receipt.body().startswith(b"\x89PNG")

    # Export CSV of the filtered rows: this month's two expenses, the new one among them.
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export CSV").click()
    download = waiting.value
    assert download.suggested_filename == f"expenses-{today:%Y-%m-%d}.csv"
    with open(download.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert sorted(r["Reason"] for r in rows) == sorted(["Gloves, 20 boxes", REASON])
    new_row = next(r for r in rows if r["Reason"] == REASON)
    assert new_row["Date"] == today.isoformat()
    assert new_row["Amount"] == str(AMOUNT)
    assert (new_row["Category"], new_row["Paid to"], new_row["Method"]) == ("Supplies", PAID_TO, "Card")
    assert new_row["Receipt"] == "receipt-scan.png"
    assert new_row["Recorded by"] == "Maya Manager"

    # The monthly report: Finance → Monthly reports; this month's expenses include the amount.
    page.get_by_role("link", name="Home").click()
    page.get_by_role("table", name="Finance").get_by_role("link", name="Monthly reports").click()
    expect(page.get_by_role("heading", name=f"Monthly report {year}")).to_be_visible()
    expect(page.locator(f'[data-expenses="{month}"]')).to_have_text(format_money(EARLIER + AMOUNT))
    year_total = EARLIER + AMOUNT + (LAST_MONTH if last_month.year == year else 0)  # not in January
    expect(page.locator('[data-expenses="year"]')).to_have_text(format_money(year_total))
    chart = page.get_by_role("img", name=f"Income, expenses and net result per month of {year}")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar.expense")).to_have_count(12)
    expense_bar = chart.locator("rect.bar.expense").nth(today.month - 1)
    expect(expense_bar.locator("title")).to_have_text(f"{today:%B}: expense {EARLIER + AMOUNT:,.2f}")
    assert_no_serious_axe_violations(page)

    # Other income is recorded against a patient found as one types (select2): its combobox has a name.
    page.goto(reverse("admin:finance_otherincome_add"))
    expect(page.get_by_role("combobox", name="Patient")).to_be_visible()
    assert_no_serious_axe_violations(page)

    # A receptionist, in a browser of her own: no Finance link, no admin, no finance pages.
    reception = new_context().new_page()
    reception.set_viewport_size({"width": width, "height": 900})
    reception.set_default_timeout(10_000)
    sign_in(reception, "rita", RECEPTION_PASSWORD)
    expect(reception.get_by_role("heading", name="Today")).to_be_visible()
    menu = reception.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Finance")).to_have_count(0)
    expect(menu.get_by_role("link", name="Admin")).to_have_count(0)
    for path in ("/admin/", "/admin/finance/expense/", reverse("admin:finance_monthlyreport_changelist")):
        reception.goto(path)
        expect(reception).to_have_url(re.compile(r"/admin/login/\?next="))
        expect(reception.get_by_text("not authorized to access this page")).to_be_visible()
        expect(reception.get_by_text(REASON)).to_have_count(0)
    download_url = reverse("admin:finance_expense_csv")
    refused = reception.request.get(download_url, max_redirects=0)
    assert refused.status == 302
    assert refused.headers["location"].startswith(reverse("admin:login"))

    # But Payments due works: she takes the payment for Amara's completed visit and sees the receipt.
    reception.goto("/")
    reception.get_by_role("navigation", name="Main").get_by_role("link", name="Payments due").click()
    expect(reception.get_by_role("heading", name="Payments due")).to_be_visible()
    assert_no_serious_axe_violations(reception)
    due = reception.get_by_role("row").filter(has_text="Amara Nwosu")
    expect(due).to_contain_text("Dr Hana Okafor")
    expect(due).to_contain_text("£60.00")
    due.get_by_role("link", name="Record payment").click()
    expect(reception.get_by_role("heading", name="Record payment")).to_be_visible()
    expect(reception.get_by_role("spinbutton", name="Amount", exact=True)).to_have_value("60.00")
    expect(reception.get_by_label("Date")).to_have_value(today.isoformat())
    assert_no_serious_axe_violations(reception)
    reception.get_by_label("Method").select_option(label="Cash")
    reception.get_by_role("button", name="Record payment and print receipt").click()

    payment = Payment.objects.get(appointment=visit)
    expect(reception).to_have_url(re.compile(rf"/finance/receipts/{payment.pk}/$"))
    receipt_page = reception.locator("article.receipt")
    expect(receipt_page).to_contain_text(f"Receipt {payment.receipt_number}")
    expect(receipt_page).to_contain_text("Amara Nwosu")
    expect(receipt_page).to_contain_text("£60.00 by cash")
    expect(receipt_page).to_contain_text("Rita Reception")
    assert (payment.amount, payment.method, payment.recorded_by.username) == (Decimal("60.00"), "cash", "rita")
    assert_no_serious_axe_violations(reception)

    # Paid: the visit has left Payments due.
    reception.get_by_role("link", name="← Payments due").click()
    expect(reception.get_by_text("No completed visit is waiting for payment.")).to_be_visible()
