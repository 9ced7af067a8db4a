"""The row digest verify_projections compares first: Python and Postgres digest any rows alike, and
any change to a value, a row more or a row less changes it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import digest

COLUMNS = ("n", "amount", "t", "id", "at", "day", "flag")
# Text Postgres can hold: no NUL, no lone surrogate.
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
ROW = st.tuples(
    st.integers(-(2**31), 2**31 - 1),
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    st.one_of(st.none(), TEXT),
    st.one_of(st.none(), st.uuids()),
    st.one_of(st.none(), st.datetimes(min_value=datetime(1900, 1, 1), timezones=st.just(UTC))),  # noqa: DTZ001 - hypothesis takes naive bounds and adds the zone
    st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))),
    st.one_of(st.none(), st.booleans()),
)


def table_digest(rows: list[tuple]) -> digest.Digest:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE digest_probe (n integer, amount bigint, t varchar(40), id uuid,"
            " at timestamptz, day date, flag boolean)"
        )
        try:
            for row in rows:
                cursor.execute("INSERT INTO digest_probe VALUES (%s, %s, %s, %s, %s, %s, %s)", row)
            return digest.of_table("digest_probe", COLUMNS)
        finally:
            cursor.execute("DROP TABLE digest_probe")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=6))
def test_python_and_postgres_digest_any_rows_alike(db, rows):
    assert digest.of_rows(rows) == table_digest(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=4), column=st.integers(0, len(COLUMNS) - 1), other=ROW)
def test_a_changed_value_or_row_changes_the_digest(db, rows, column, other):
    changed = [*rows]
    changed[0] = (*rows[0][:column], other[column], *rows[0][column + 1 :])
    if changed[0][column] != rows[0][column]:
        assert digest.of_rows(changed) != digest.of_rows(rows)
    assert digest.of_rows([*rows, other]) != digest.of_rows(rows)  # a row more
    assert digest.of_rows(rows[1:]) != digest.of_rows(rows)  # a row less
    assert digest.of_rows(reversed(rows)) == digest.of_rows(rows)  # order is not a difference
