from django import template

from finance.money import format_money

register = template.Library()


@register.filter(name="money")
def money(value):
    """{{ payment.amount|money }} -> £60.00"""
    return format_money(value)
