"""Numbered pages (clinic/templatetags/pages.py and templates/partials/_pagination.html)."""

from django.core.paginator import Paginator
from django.template import Context, Template
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from clinic.templatetags.pages import AROUND, page_window


@st.composite
def pages_and_current(draw):
    num_pages = draw(st.integers(min_value=1, max_value=10_000))
    return num_pages, draw(st.integers(min_value=1, max_value=num_pages))


@given(pages_and_current(), st.integers(min_value=0, max_value=5))
def test_the_window_always_has_the_first_the_last_and_the_current_page_once_each_in_order(case, around):
    num_pages, current = case
    window = page_window(num_pages, current, around)
    numbers = [number for number in window if number is not None]

    assert {1, num_pages, current} <= set(numbers)
    assert numbers == sorted(set(numbers))  # sorted, no duplicates
    assert window[0] == 1 and window[-1] == num_pages
    assert set(range(max(1, current - around), min(num_pages, current + around) + 1)) <= set(numbers)
    assert len(window) <= 2 * around + 5  # bounded, however many pages


@given(pages_and_current())
def test_an_ellipsis_stands_for_two_pages_or_more_and_never_two_in_a_row(case):
    window = page_window(*case)
    for before, gap, after in zip(window, window[1:], window[2:], strict=False):
        if gap is None:
            assert before is not None and after is not None
            assert after - before > 2  # a gap of one page shows that page
    for before, after in zip(window, window[1:], strict=False):
        if before is not None and after is not None:
            assert after == before + 1


def test_a_few_windows_as_a_person_sees_them():
    assert page_window(1, 1) == [1]
    assert page_window(7, 4) == [1, 2, 3, 4, 5, 6, 7]
    assert page_window(20, 1) == [1, 2, 3, None, 20]
    assert page_window(20, 10) == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert page_window(20, 5) == [1, 2, 3, 4, 5, 6, 7, None, 20]  # 2 is shown, not "…"
    assert page_window(20, 99) == [1, None, 18, 19, 20]  # a current page past the end is the last
    assert page_window(0, 1) == []
    assert AROUND == 2


def render(path, *, count=250, per_page=10):
    request = RequestFactory().get(path)
    paginator = Paginator(range(count), per_page)
    page = paginator.get_page(request.GET.get("page"))
    template = Template('{% include "partials/_pagination.html" %}')
    context = {"request": request, "page_obj": page, "paginator": paginator, "is_paginated": page.has_other_pages()}
    return template.render(Context(context))


def test_the_pages_are_numbered_links_that_keep_the_query_the_current_one_marked():
    html = render("/patients/?q=smith&tag=a&tag=b&page=12")

    assert 'aria-current="page"' in html
    assert '<a href="?q=smith&amp;tag=a&amp;tag=b&amp;page=12" aria-current="page">' in html
    for number in (1, 10, 11, 13, 14, 25):
        assert f'href="?q=smith&amp;tag=a&amp;tag=b&amp;page={number}"' in html
    assert 'href="?q=smith&amp;tag=a&amp;tag=b&amp;page=2"' not in html
    assert html.count("…") == 2
    assert html.count('aria-current="page"') == 1
    # Previous and Next are kept, with the query.
    assert 'href="?q=smith&amp;tag=a&amp;tag=b&amp;page=11" rel="prev">← Previous' in html
    assert 'href="?q=smith&amp;tag=a&amp;tag=b&amp;page=13" rel="next">Next →' in html
    assert "Page 12 of 25" in html


def test_a_query_value_with_an_ampersand_stays_one_value():
    html = render("/audit/?who=Smith+%26+Jones")

    assert 'href="?who=Smith+%26+Jones&amp;page=2"' in html


def test_one_page_shows_no_pagination():
    assert render("/patients/", count=5).strip() == ""
