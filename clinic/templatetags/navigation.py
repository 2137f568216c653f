"""{% nav_link %}: a main-navigation link that knows whether it is the page being shown.

The decision is made here, from the URL the request resolved to, so the navigation template only lists its
links: `{% nav_link "scheduling:day" "Calendar" also="scheduling:week" %}`.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


def current_state(resolver_match, name, also=""):
    """The aria-current value: "page" when the request is the link's own page, "true" when it is another
    page of the link's part of the site (`also`: view names such as "scheduling:week", or a namespace such
    as "patients:*"), else None."""
    if resolver_match is None:
        return None
    view_name = resolver_match.view_name
    if view_name == name:
        return "page"
    for pattern in also.split():
        if view_name == pattern or (pattern.endswith(":*") and resolver_match.namespace == pattern[:-2]):
            return "true"
    return None


@register.simple_tag(takes_context=True)
def nav_link(context, name, label, also=""):
    """`<li><a href=...>label</a></li>`, with aria-current when the link is where the person is."""
    request = context.get("request")
    state = current_state(getattr(request, "resolver_match", None), name, also)
    if state is None:
        return format_html('<li><a href="{}">{}</a></li>', reverse(name), label)
    return format_html('<li><a href="{}" aria-current="{}">{}</a></li>', reverse(name), state, label)
