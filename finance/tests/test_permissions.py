"""Who sees finance: every finance page of the admin against every role, from one table.

The URLs come from the resolver (every `admin:finance_*` name, and the Finance app index), so a new
admin page cannot slip in unclassified: `test_every_finance_admin_url_is_classified` fails until
MANAGERS_GET names it. Managers and administrators keep the books; nobody else gets a finance page
out of the admin, not even a receptionist or doctor who was made staff by mistake.
"""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.tests.urlwalk import walk_urls
from finance.models import ClosedMonth, Expense, OtherIncome, Payment
from finance.tests.factories import (
    CategoryFactory,
    ClosedMonthFactory,
    ExpenseFactory,
    OtherIncomeFactory,
    PaymentFactory,
    expense_with_receipt,
)
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR]
NO_ROLE = "signed in, no role"
ANONYMOUS = "anonymous"
PRINCIPALS = [*ROLES, NO_ROLE, ANONYMOUS]
KEEPS_THE_BOOKS = frozenset({MANAGER, ADMINISTRATOR})
FRIENDLY_403 = "This page is not available to you"

OK, REFUSED = 200, 403
APP_INDEX = "admin:app_list"

# What a manager (and an administrator) gets from a GET on each finance page of the admin.
# Refused: what nobody may do (payments are taken at the front desk, and nothing is ever deleted).
MANAGERS_GET = {
    APP_INDEX: OK,
    "admin:finance_monthlyreport_changelist": OK,
    "admin:finance_monthlyreport_month": OK,
    # expenses
    "admin:finance_expense_changelist": OK,
    "admin:finance_expense_add": OK,
    "admin:finance_expense_change": OK,
    "admin:finance_expense_history": OK,
    "admin:finance_expense_delete": REFUSED,
    "admin:finance_expense_csv": OK,
    "admin:finance_expense_xlsx": OK,
    "admin:finance_expense_reverse": OK,
    "admin:finance_expense_receipt": OK,
    # other incomes
    "admin:finance_otherincome_changelist": OK,
    "admin:finance_otherincome_add": OK,
    "admin:finance_otherincome_change": OK,
    "admin:finance_otherincome_history": OK,
    "admin:finance_otherincome_delete": REFUSED,
    "admin:finance_otherincome_csv": OK,
    "admin:finance_otherincome_xlsx": OK,
    "admin:finance_otherincome_reverse": OK,
    # payments: found, exported and refunded here; taken at the front desk
    "admin:finance_payment_changelist": OK,
    "admin:finance_payment_add": REFUSED,
    "admin:finance_payment_change": OK,  # read-only
    "admin:finance_payment_history": OK,
    "admin:finance_payment_delete": REFUSED,
    "admin:finance_payment_csv": OK,
    "admin:finance_payment_xlsx": OK,
    "admin:finance_payment_reverse": OK,
    # categories: extended and retired, never deleted
    "admin:finance_expensecategory_changelist": OK,
    "admin:finance_expensecategory_add": OK,
    "admin:finance_expensecategory_change": OK,
    "admin:finance_expensecategory_history": OK,
    "admin:finance_expensecategory_delete": REFUSED,
    # closed months: closed once, never reopened
    "admin:finance_closedmonth_changelist": OK,
    "admin:finance_closedmonth_add": OK,
    "admin:finance_closedmonth_change": OK,  # read-only
    "admin:finance_closedmonth_history": OK,
    "admin:finance_closedmonth_delete": REFUSED,
}

FINANCE_CHANGELISTS = [
    "admin:finance_expense_changelist",
    "admin:finance_otherincome_changelist",
    "admin:finance_payment_changelist",
    "admin:finance_expensecategory_changelist",
    "admin:finance_closedmonth_changelist",
    "admin:finance_monthlyreport_changelist",
]


def finance_admin_urls():
    return {
        name: pattern
        for name, pattern in walk_urls(all_admin=True)
        if name and (name.startswith("admin:finance_") or name == APP_INDEX)
    }


URLS = finance_admin_urls()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Receipts written by these tests go to a temporary folder, not the project's media."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def last_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def closed_month():
    return ClosedMonth.objects.filter(month=last_month()).first() or ClosedMonthFactory()


def _object(factory):
    return lambda: {"object_id": str(factory().pk)}


def _pk(factory):
    return lambda: {"pk": factory().pk}


# URL arguments for each page that needs them, built fresh for each request.
KWARGS = {
    APP_INDEX: lambda: {"app_label": "finance"},
    "admin:finance_monthlyreport_month": lambda: {
        "year": timezone.localdate().year,
        "month": timezone.localdate().month,
    },
    "admin:finance_expense_change": _object(ExpenseFactory),
    "admin:finance_expense_history": _object(ExpenseFactory),
    "admin:finance_expense_delete": _object(ExpenseFactory),
    "admin:finance_expense_reverse": _pk(ExpenseFactory),
    "admin:finance_expense_receipt": _pk(expense_with_receipt),
    "admin:finance_otherincome_change": _object(OtherIncomeFactory),
    "admin:finance_otherincome_history": _object(OtherIncomeFactory),
    "admin:finance_otherincome_delete": _object(OtherIncomeFactory),
    "admin:finance_otherincome_reverse": _pk(OtherIncomeFactory),
    "admin:finance_payment_change": _object(PaymentFactory),
    "admin:finance_payment_history": _object(PaymentFactory),
    "admin:finance_payment_delete": _object(PaymentFactory),
    "admin:finance_payment_reverse": _pk(PaymentFactory),
    "admin:finance_expensecategory_change": _object(CategoryFactory),
    "admin:finance_expensecategory_history": _object(CategoryFactory),
    "admin:finance_expensecategory_delete": _object(CategoryFactory),
    "admin:finance_closedmonth_change": _object(closed_month),
    "admin:finance_closedmonth_history": _object(closed_month),
    "admin:finance_closedmonth_delete": _object(closed_month),
}


def url_for(name):
    return reverse(name, kwargs=KWARGS[name]() if name in KWARGS else None)


def client_as(principal, client_for):
    if principal == ANONYMOUS:
        return Client()
    return client_for(None if principal == NO_ROLE else principal)


def staff_without_finance(role):
    """A receptionist or doctor who was made staff by mistake: the admin lets them in, finance must not."""
    user = UserFactory(roles=[role], is_staff=True)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def get(client, url):
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)  # read to the end so the file or the query is closed
    response.close()
    return response


def admin_login(url):
    return f"{reverse('admin:login')}?next={quote(url)}"


def sign_in_redirect(name, url):
    """Where LoginRequiredMiddleware sends an anonymous visitor: the admin's sign-in for the admin
    site's own views (Django marks them with their login_url), the clinic's sign-in for a model's pages."""
    login_url = getattr(URLS[name].callback, "login_url", None) or reverse("login")
    return f"{login_url}?next={quote(url)}"


def nav(response):
    """The main navigation's HTML."""
    found = re.search(r'<nav class="nav" aria-label="Main">.*?</nav>', response.content.decode(), re.S)
    assert found, "no main navigation on the page"
    return found.group(0)


# --- the matrix ----------------------------------------------------------------------------------


def test_every_finance_admin_url_is_classified():
    assert set(URLS) - set(MANAGERS_GET) == set(), "New finance admin pages need a rule in MANAGERS_GET"
    assert set(MANAGERS_GET) - set(URLS) == set(), "MANAGERS_GET names pages that no longer exist"


def test_every_finance_admin_url_with_arguments_has_a_builder():
    needing = {name for name, pattern in URLS.items() if pattern.pattern.converters or pattern.pattern.regex.groups}
    assert needing == set(KWARGS)


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("name", sorted(MANAGERS_GET))
def test_finance_admin_access(name, principal, client_for):
    client = client_as(principal, client_for)
    url = url_for(name)
    response = get(client, url)

    if principal in KEEPS_THE_BOOKS:
        assert response.status_code == MANAGERS_GET[name], response.status_code
        if response.status_code == REFUSED:
            assert FRIENDLY_403 in response.content.decode()
    elif principal == ANONYMOUS:
        assert response.status_code == 302, response.status_code
        assert response["Location"] == sign_in_redirect(name, url)
    else:
        # Signed in but not staff (every other role): the admin's own sign-in page, never a finance page.
        assert response.status_code == 302, response.status_code
        assert response["Location"] == admin_login(url)


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR])
@pytest.mark.parametrize("name", sorted(MANAGERS_GET))
def test_staff_without_finance_roles_get_no_finance_admin_page(name, role):
    client = staff_without_finance(role)
    response = get(client, url_for(name))
    assert response.status_code in (403, 404), response.status_code


# --- a receptionist or doctor made staff by mistake ----------------------------------------------


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR])
def test_staff_without_finance_roles_see_no_finance_in_the_admin_index(role):
    ExpenseFactory()
    response = staff_without_finance(role).get(reverse("admin:index"))

    assert response.status_code == 200
    apps = {app["app_label"] for app in response.context["app_list"]}
    assert "finance" not in apps
    body = response.content.decode()
    assert "/admin/finance/" not in body
    assert "Expenses" not in body


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR])
@pytest.mark.parametrize("name", FINANCE_CHANGELISTS)
def test_staff_without_finance_roles_are_refused_the_changelists(role, name):
    ExpenseFactory(reason="Locum doctor, March")
    response = staff_without_finance(role).get(reverse(name))

    assert response.status_code == 403
    assert "Locum doctor" not in response.content.decode()


def test_a_staff_receptionist_cannot_refund_a_payment_through_the_admin():
    # Receptionists hold finance.add_payment (to take payments at the front desk); that must not make
    # them able to refund in the admin, the managers' place.
    payment = PaymentFactory()
    client = staff_without_finance(RECEPTIONIST)
    url = reverse("admin:finance_payment_reverse", args=[payment.pk])

    assert client.get(url).status_code == 403
    client.post(url, {"reason": "Patient asked for the money back"})
    assert not Payment.objects.filter(reverses=payment).exists()


@pytest.mark.parametrize("role", [RECEPTIONIST, DOCTOR])
def test_staff_without_finance_roles_cannot_add_entries_through_the_admin(role):
    client = staff_without_finance(role)
    category = CategoryFactory(name="Supplies")
    today = timezone.localdate().isoformat()

    client.post(
        reverse("admin:finance_expense_add"),
        {"date": today, "amount": "10.00", "category": category.pk, "reason": "x", "paid_to": "y", "method": "cash"},
    )
    client.post(
        reverse("admin:finance_otherincome_add"),
        {"date": today, "amount": "10.00", "source": "lab", "description": "x"},
    )
    client.post(reverse("admin:finance_closedmonth_add"), {"month": last_month().isoformat()})

    assert not Expense.objects.exists()
    assert not OtherIncome.objects.exists()
    assert not ClosedMonth.objects.exists()


@pytest.mark.parametrize("principal", [RECEPTIONIST, DOCTOR, NURSE, NO_ROLE, ANONYMOUS])
def test_non_staff_cannot_post_to_the_finance_admin(principal, client_for):
    client = client_as(principal, client_for)
    category = CategoryFactory(name="Supplies")
    payment = PaymentFactory()

    response = client.post(
        reverse("admin:finance_expense_add"),
        {
            "date": timezone.localdate().isoformat(),
            "amount": "10.00",
            "category": category.pk,
            "reason": "x",
            "paid_to": "y",
            "method": "cash",
        },
    )
    assert response.status_code == 302
    client.post(reverse("admin:finance_payment_reverse", args=[payment.pk]), {"reason": "refund"})

    assert not Expense.objects.exists()
    assert not Payment.objects.filter(reverses=payment).exists()


# --- what managers see -------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(KEEPS_THE_BOOKS))
def test_the_admin_index_lists_finance_for_those_who_keep_the_books(role, client_for):
    response = client_for(role).get(reverse("admin:index"))

    assert response.status_code == 200
    finance = next(app for app in response.context["app_list"] if app["app_label"] == "finance")
    assert finance["name"] == "Finance"
    assert {model["name"] for model in finance["models"]} == {
        "Expenses",
        "Other incomes",
        "Payments",
        "Closed months",
        "Expense categories",
        "Monthly reports",
    }
    payments = next(model for model in finance["models"] if model["object_name"] == "Payment")
    assert payments["add_url"] is None  # taken at the front desk, not added here


@pytest.mark.parametrize("role", sorted(KEEPS_THE_BOOKS))
def test_the_admin_index_shows_no_clinical_data_to_those_who_keep_the_books(role, client_for):
    # The admin is otherwise limited to what each role may see: no charts through it.
    response = client_for(role).get(reverse("admin:index"))
    assert "clinical" not in {app["app_label"] for app in response.context["app_list"]}


# --- the navigation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "payments_due", "finance"),
    [
        (RECEPTIONIST, True, False),
        (DOCTOR, False, False),
        (NURSE, False, False),
        (MANAGER, True, True),
        (ADMINISTRATOR, True, True),
    ],
)
def test_the_navigation_offers_finance_by_role(role, payments_due, finance, client_for):
    client = client_for(role)
    menu = nav(client.get(reverse("home")))

    assert (f'href="{reverse("finance:due")}">Payments due<' in menu) is payments_due
    assert (f'href="{reverse("admin:finance_monthlyreport_changelist")}">Finance<' in menu) is finance
    assert client.user.has_perm("finance.add_payment") is payments_due
    assert client.user.has_perm("finance.view_monthlyreport") is finance


def test_the_navigation_of_a_signed_in_user_with_no_role_has_no_finance(client_for):
    response = client_for(None).get(reverse("home"))
    menu = nav(response)
    assert "Payments due" not in menu
    assert "Finance" not in menu
