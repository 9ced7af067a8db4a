"""How Tally shows a moment, on every screen and in the admin: in the configured zone
(TALLY_TIME_ZONE), to the second, with the zone's name, e.g. "7 Dec 2026, 14:05:09 UTC", so a reader
never has to guess which zone a time is in. The shape is set once, in ledger/domain/dates.py.

Django's named formats come from config/formats (settings.FORMAT_MODULE_PATH), which takes the same
shape, so `{{ value }}`, `|date:"DATETIME_FORMAT"`, `|date` for a day and the admin's own dates print
as format_moment does; the screens' `|moment` filter is format_moment.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.timezone import localtime

from ledger.domain.dates import moment_text


def format_moment(value: datetime | None) -> str:
    """What `|date:"DATETIME_FORMAT"` prints after the template localizes `value`, at a third of its
    cost: it runs on every row of a statement and of the event browser's list."""
    if value is None:
        return ""
    return moment_text(localtime(value))
