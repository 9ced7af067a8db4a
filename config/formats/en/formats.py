"""Tally's date formats for English, the only language it speaks. Django always localizes, and its
own English formats ("Dec. 7, 2026, 2:05 p.m.", no zone) come before settings.DATETIME_FORMAT, so
the formats are set here, from ledger/domain/dates.py: the admin's dates, `{{ value }}` and
`|date:"DATETIME_FORMAT"` then print as the screens' `|moment` does. Anything not named here (input
formats, separators) is Django's English."""

from ledger.domain.dates import DAY_FORMAT, MOMENT_FORMAT

DATETIME_FORMAT = SHORT_DATETIME_FORMAT = MOMENT_FORMAT
DATE_FORMAT = SHORT_DATE_FORMAT = DAY_FORMAT
TIME_FORMAT = "H:i:s T"
