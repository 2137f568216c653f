"""A paginator whose count stops a few pages past the page asked for.

Django's Paginator counts every row of the list to number its pages: on a list that grows with the
clinic's history (payments due holds every unpaid visit ever) that count reads the whole list on
every page view. This one counts at most `pages_ahead` pages beyond the page asked for
(SELECT COUNT(*) FROM (... LIMIT n)), so a page costs the same with 100 or 100,000 rows behind it.
When rows remain beyond what it counted, `more` is True and `count`/`num_pages` are "at least".
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class BoundedCountPaginator(Paginator):
    pages_ahead = 4
    last_page_asked = 100_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = 1
        self.more = False

    def page(self, number):
        # Remember how far the reader went before validate_number() asks for the count.
        try:
            # Capped: a page number past any list's end must not make a LIMIT the database cannot hold.
            self.asked = min(max(int(number), 1), self.last_page_asked)
        except (TypeError, ValueError):
            self.asked = 1
        return super().page(number)

    @cached_property
    def count(self):
        limit = (self.asked + self.pages_ahead) * self.per_page
        counted = self.object_list[: limit + 1].count()
        self.more = counted > limit
        return min(counted, limit)

    @property
    def count_shown(self):
        """The count as a person reads it: '275+' when there are more."""
        return f"{self.count:,}+" if self.more else f"{self.count:,}"
