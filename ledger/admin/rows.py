"""The event browser's table, rendered in one pass per row from EventAdmin.list_display.

Django's `{% result_list %}` takes every cell through layers the browser does not use (field
resolution, boolean and empty-value checks, a format_html per cell, a reverse() and a merge of
the preserved filters per row): two thirds of the time of a 100-event page. The browser's list has
no editing, sorting, actions, popups or related fields, so each cell is its admin's display method
or a plain field, escaped, and the first one links to the event's page as in the admin.
"""

from __future__ import annotations

import html
from functools import cached_property
from typing import Any

from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import label_for_field
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString
from django.utils.text import capfirst

from ledger.admin.paging import KeysetChangeList
from ledger.admin.parties import parties_of

# Reversed once per page with this in place of the position; every row's link then costs a replace().
_POSITION = "__position__"


class EventChangeList(KeysetChangeList):
    """The browser's change list: keyset paging, and `headers` and `body` for its table
    (templates/admin/ledger/event/change_list.html)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)  # the page's queryset, evaluated once; the table reuses it
        found = parties_of(rows)  # the owners of the whole page in one query (ledger/admin/parties.py)
        for event in rows:
            event.parties = found[event.pk]

    @cached_property
    def headers(self) -> list[tuple[str, str]]:
        """(column name, label) for each column, labelled as the admin labels it."""
        return [
            (name, str(capfirst(str(label_for_field(name, self.model, self.model_admin))))) for name in self._columns
        ]

    @property
    def _columns(self) -> list[str]:
        return [str(name) for name in self.list_display]  # the browser names each column by its method

    @cached_property
    def body(self) -> SafeString:
        """The table's body: one `<tr>` per event on the page, each on its own line. One string,
        not a list for the template to loop over: a hundred template variables cost more than the
        rows themselves."""
        admin = self.model_admin
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[_POSITION],
            current_app=admin.admin_site.name,
        )
        change_url = conditional_escape(
            add_preserved_filters({"preserved_filters": self.preserved_filters, "opts": self.opts}, change_url)
        )
        empty = conditional_escape(admin.get_empty_value_display())
        first, *others = [(name, getattr(admin, name, None)) for name in self._columns]
        rows = []
        for event in self.result_list:
            link = change_url.replace(_POSITION, str(event.pk))
            cells = [f'<th class="field-{first[0]}"><a href="{link}">{_cell(event, *first, empty)}</a></th>']
            cells += [f'<td class="field-{name}">{_cell(event, name, method, empty)}</td>' for name, method in others]
            rows.append(f"<tr>{''.join(cells)}</tr>\n")
        return SafeString("".join(rows))  # every value in it is escaped


def list_link(url: str, text: object) -> SafeString:
    """`<a href="url">text</a>`, as format_html makes it, for the list's linked cells: escaped
    with the standard library's html.escape (what Django's escape wraps), without the lazy-string
    machinery that costs format_html several times as much, twice on every row (and SafeString
    itself, what mark_safe returns after its own check for lazy arguments)."""
    return SafeString(f'<a href="{html.escape(url)}">{html.escape(str(text))}</a>')  # escaped


def _cell(event: Any, name: str, method: Any, empty: str) -> str:
    value = method(event) if callable(method) else getattr(event, name)
    if value is None:
        return empty
    text = str(value) if isinstance(value, SafeData) else html.escape(str(value))
    return text or "&nbsp;"  # an empty cell keeps its height, as in the admin
