"""How a day and a moment read wherever Tally shows one: "7 Dec 2026" and "7 Dec 2026, 14:05:09 UTC".

Pure Python, so the rules' messages (a request that expired, a payment not yet due) read as the
screens do; ledger/moments.py puts a moment in the configured zone first, and Django's own formats
(config/formats) are the same, in its date-format syntax."""

from __future__ import annotations

from datetime import date, datetime

# Django's date-format syntax for the same two shapes (ledger/moments.py, config/formats).
MOMENT_FORMAT = "j M Y, H:i:s T"
DAY_FORMAT = "j M Y"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def moment_text(moment: datetime) -> str:
    """`moment` in the zone it carries, to the second, with the zone's name."""
    return f"{day_text(moment)}, {moment:%H:%M:%S} {moment.tzname() or ''}".rstrip()
