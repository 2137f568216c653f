"""Reading one form field back from a rendered page (partials/_form_field.html)."""

import re


def field_block(html, field_id):
    """The whole `<div class="field ...">` that holds the element with id `field_id`: its label, input,
    help and errors, however many <div>s are nested inside it."""
    start = html.find(f'id="{field_id}"')
    assert start >= 0, f"no element with id {field_id!r} on the page"
    begin = html.rindex('<div class="field', 0, start)
    depth = 0
    for tag in re.finditer(r"<div\b|</div>", html[begin:]):
        depth += 1 if tag.group() == "<div" else -1
        if depth == 0:
            return html[begin : begin + tag.end()]
    raise AssertionError(f"the field around {field_id!r} is never closed")
