"""Showing amounts: one configured currency, Decimal in, text out (never through float)."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹", "NGN": "₦", "KES": "KSh ", "ZAR": "R "}


def currency_symbol():
    code = settings.CLINIC_CURRENCY
    return _SYMBOLS.get(code, f"{code} ")


def to_cents(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value):
    """'£1,234.50', '−£12.00' for a reversal; '' for no value."""
    if value is None or value == "":
        return ""
    amount = to_cents(value)
    sign = "−" if amount < 0 else ""
    return f"{sign}{currency_symbol()}{abs(amount):,.2f}"
