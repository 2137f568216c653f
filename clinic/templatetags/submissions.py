"""{% form_token %}: the one-time token every writing form carries (clinic/idempotency.py)."""

from django import template
from django.utils.html import format_html

from clinic.idempotency import TOKEN_FIELD, new_token

register = template.Library()


@register.simple_tag
def form_token():
    """A hidden input with a fresh token: each form shown is saved at most once."""
    return format_html('<input type="hidden" name="{}" value="{}">', TOKEN_FIELD, new_token())
