"""The managers' workplace: expenses, other incomes, payments, closed months and the monthly report.

Every write goes through finance/services.py. Entries in a closed month, reversals and reversed
entries open read-only; a wrong entry is reversed (a button on its page), never deleted.
One module per concern; importing them registers their pages with the admin site.
"""

from .entries import MoneyEntryAdmin
from .expenses import ExpenseAdmin, ExpenseCategoryAdmin
from .incomes import OtherIncomeAdmin
from .months import ClosedMonthAdmin, MonthlyReportAdmin
from .payments import PaymentAdmin

__all__ = [
    "ClosedMonthAdmin",
    "ExpenseAdmin",
    "ExpenseCategoryAdmin",
    "MoneyEntryAdmin",
    "MonthlyReportAdmin",
    "OtherIncomeAdmin",
    "PaymentAdmin",
]
