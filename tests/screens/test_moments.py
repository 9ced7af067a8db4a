"""One way of showing a moment everywhere, set once: the screens' `|moment`, Django's own formats (the
admin's dates, `{{ value }}`, `|date`) and the rules' messages all print "7 Dec 2026, 14:05:09 UTC",
in the configured zone (TALLY_TIME_ZONE) with its name; and no template or module spells out a
format of its own."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.utils import display_for_field
from django.db import models
from django.template import Context, Template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.approval import RequestExpired
from ledger.domain.standing_order import PeriodNotDue
from ledger.moments import format_moment

ROOT = Path(__file__).resolve().parents[2]
FIRST, LAST = datetime(1900, 1, 2), datetime(9999, 12, 30)  # noqa: DTZ001 - hypothesis wants naive bounds
ZONES = ["UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Kiritimati"]
# Formats a template may still spell out: machine-readable moments in attributes, and the dashboard
# chart's axis labels, which name days on a scale rather than show a date.
ALLOWED_FORMATS = {"c", "D j M", "j M"}


def test_a_moment_reads_the_same_everywhere_with_its_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    moment = datetime(2026, 12, 7, 13, 5, 9, tzinfo=UTC)
    template = Template("{% load moments %}{{ value|moment }}|{{ value }}|{{ value|date:'DATETIME_FORMAT' }}")

    shown = template.render(Context({"value": moment})).split("|")

    assert shown == ["7 Dec 2026, 14:05:09 CET"] * 3
    assert display_for_field(moment, models.DateTimeField(), "-") == "7 Dec 2026, 14:05:09 CET"  # the admin's
    assert Template("{{ day|date }}").render(Context({"day": date(2026, 12, 7)})) == "7 Dec 2026"


@given(
    moment=st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
)
def test_the_fast_filter_prints_what_djangos_date_filter_prints_in_any_zone(moment, zone):
    with timezone.override(ZoneInfo(zone)):
        assert format_moment(moment) == date_filter(timezone.localtime(moment), "DATETIME_FORMAT")


def test_the_rules_messages_show_moments_and_days_alike():
    expired = RequestExpired(datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Berlin")))
    not_due = PeriodNotDue(3, 2, date(2026, 3, 1))

    assert "expired at 1 Mar 2026, 08:30:00 UTC;" in str(expired)
    assert "which falls due on 1 Mar 2026." in str(not_due)


def _sources(*patterns: str) -> list[Path]:
    return [path for pattern in patterns for path in ROOT.glob(pattern) if "__pycache__" not in path.parts]


@pytest.mark.parametrize("path", _sources("templates/**/*.html"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_spells_out_a_date_format_of_its_own(path):
    formats = re.findall(r"""\|date:["']([^"']*)["']""", path.read_text())

    assert set(formats) - ALLOWED_FORMATS - {"DATETIME_FORMAT"} == set()


def test_no_module_formats_a_date_by_hand():
    found = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in _sources("ledger/**/*.py", "projections/**/*.py", "config/**/*.py")
        for line in path.read_text().splitlines()
        if re.search(r"strftime|:%Y|:%d|%H:%M", line) and "moment:%H:%M:%S" not in line
    ]

    assert found == []
