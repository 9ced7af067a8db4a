"""{{ value|moment }}: a moment as Tally shows it everywhere ("7 Dec 2026, 14:05:09 UTC"), in the
current time zone; see ledger/moments.py."""

from __future__ import annotations

from django import template

from ledger.moments import format_moment

register = template.Library()
register.filter("moment", format_moment)
