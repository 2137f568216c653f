"""Numbered page links for every paginated list (templates/partials/_pagination.html).

    {% load pages %}{% page_links page_obj as links %}   {# the window of numbered links #}
    {% page_url page_obj.next_page_number %}             {# ?<this page's query>&page=N #}

The window is worked out here, not in the template: the first and the last page, a few either side of
the current one, and an ellipsis where pages are left out. Links keep the page's query string (a
search, filters, repeated keys too) and change only `page`.
"""

from dataclasses import dataclass

from django import template

register = template.Library()

AROUND = 2  # pages linked either side of the current one


def page_window(num_pages: int, current: int, around: int = AROUND) -> list[int | None]:
    """The page numbers to link, in order, with None where pages are left out (an ellipsis).

    Always the first, the last and the current page (clamped into 1..num_pages), and `around` pages
    either side of the current. A gap of a single page shows that page: an ellipsis would take as
    much room and hide it. At most 2 * around + 5 entries, however many pages there are.
    """
    if num_pages < 1:
        return []
    current = min(max(current, 1), num_pages)
    shown = {1, num_pages, *range(max(1, current - around), min(num_pages, current + around) + 1)}
    window: list[int | None] = []
    previous = 0
    for number in sorted(shown):
        if number - previous == 2:
            window.append(number - 1)
        elif number - previous > 2:
            window.append(None)
        window.append(number)
        previous = number
    return window


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: pages left out here (an ellipsis)
    url: str = ""
    current: bool = False


def _url(request, number) -> str:
    query = request.GET.copy() if request is not None else None
    if query is None:
        return f"?page={number}"
    query["page"] = number
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    """This page's address (its query string kept) at page `number`."""
    return _url(context.get("request"), number)


@register.simple_tag(takes_context=True)
def page_links(context, page_obj, around: int = AROUND) -> list[PageLink]:
    """The numbered links of `page_obj`'s paginator around its current page."""
    request = context.get("request")
    current = page_obj.number
    return [
        PageLink(None) if number is None else PageLink(number, _url(request, number), number == current)
        for number in page_window(page_obj.paginator.num_pages, current, around)
    ]
