"""The page each finance API operation stands for (tests/test_api_access.py checks them against ACCESS).

The books (expenses, categories, other incomes, the payments list, refunds, the monthly report) are kept
in the Django admin, whose pages are not in tests/test_access.py's ACCESS (the admin's own table,
finance/tests/test_permissions.py, gives them to managers and administrators alone): those operations
name the same two roles. Taking a payment and its receipt are the front desk's pages.
"""

from staff.roles import ADMINISTRATOR, MANAGER

# finance/tests/test_permissions.py KEEPS_THE_BOOKS: every finance page of the admin.
KEEPS_THE_BOOKS = frozenset({MANAGER, ADMINISTRATOR})

TWINS = {
    ("finance_api:expense-list", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:expense-list", "POST"): KEEPS_THE_BOOKS,
    ("finance_api:expense-detail", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:expense-reverse", "POST"): KEEPS_THE_BOOKS,
    ("finance_api:expense-category-list", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:expense-category-detail", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:other-income-list", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:other-income-list", "POST"): KEEPS_THE_BOOKS,
    ("finance_api:other-income-detail", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:other-income-reverse", "POST"): KEEPS_THE_BOOKS,
    ("finance_api:payment-list", "GET"): KEEPS_THE_BOOKS,
    # Taking a payment for a visit or a procedure: the front desk's page (the two pages admit the same roles).
    ("finance_api:payment-list", "POST"): "finance:pay_visit",
    ("finance_api:payment-detail", "GET"): "finance:receipt",
    # A refund is the admin's reversal of a payment: the front desk takes payments but does not refund them.
    ("finance_api:payment-reverse", "POST"): KEEPS_THE_BOOKS,
    ("finance_api:monthly-report", "GET"): KEEPS_THE_BOOKS,
    ("finance_api:month-report", "GET"): KEEPS_THE_BOOKS,
}
