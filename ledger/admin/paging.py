"""Paging for the admin event browser without COUNT(*) over the whole table.

Page numbers reach the newest CAP events of any filter (a count stopped at CAP + 1 rows costs a
few milliseconds on any table size); beyond them an "older" link moves a keyset cursor
(?before=<position>) down the primary key. The total of an unfiltered list is the planner's own
estimate, pg_class.reltuples, shown as such; when it is far above the cap, that list is not counted.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet

from ledger.store.sql import fetch

CAP = 10_000
# An unfiltered list whose table the planner estimates at more than this many times CAP rows is
# not counted: the event table is append-only (a trigger refuses DELETE and TRUNCATE), and no
# estimate is that far above the rows it stands for.
SURELY_MORE = 10


class CappedCountPaginator(Paginator):
    cap = CAP

    @property
    def _queryset(self) -> QuerySet[Any]:
        return cast("QuerySet[Any]", self.object_list)  # the admin pages querysets, never lists

    @cached_property
    def _counted(self) -> int:
        if (self._reltuples or 0) > SURELY_MORE * self.cap:
            return self.cap + 1  # the count, 10,001 rows read on every page, would say the same
        return self._queryset[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def truncated(self) -> bool:
        """More rows match than page numbers reach."""
        return self._counted > self.cap

    @cached_property
    def _reltuples(self) -> int | None:
        """The planner's row estimate for an unfiltered list (-1 if never analysed); None when filtered."""
        if self._queryset.query.where:
            return None
        table = self._queryset.model._meta.db_table
        return fetch("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])[0][0]

    @property
    def estimate(self) -> int | None:
        """The planner's row estimate for an unfiltered list; None when filtered or never analysed."""
        reltuples = self._reltuples
        return _roughly(reltuples) if reltuples is not None and reltuples > self.cap else None


def _roughly(value: int) -> int:
    """Two significant digits: 999,954 is shown as "about 1,000,000", which is what it means."""
    return round(value, 2 - len(str(value)))


class KeysetChangeList(ChangeList):
    """The admin's change list, plus what the browser's pagination template shows."""

    paginator: CappedCountPaginator

    @property
    def count_text(self) -> str:
        paginator = self.paginator
        if not paginator.truncated:
            return f"{paginator.count:,}"
        if paginator.estimate:
            return f"the newest {paginator.cap:,} of about {paginator.estimate:,}"
        return f"the newest {paginator.cap:,} of more than {paginator.cap:,}"

    @property
    def older_url(self) -> str | None:
        """Older events after the last row shown, while there are any beyond this page."""
        more = self.paginator.truncated or self.page_num < self.paginator.num_pages
        rows: list[Any] = list(self.result_list)  # already fetched for the table above
        if not (more and rows) or self.show_all:
            return None
        return self.get_query_string({"before": rows[-1].pk}, remove=[PAGE_VAR])
