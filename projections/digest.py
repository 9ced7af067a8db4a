"""A digest of a table's rows that Python and Postgres compute alike: how verify_projections checks a
replay against a table without sending every replayed row to the database.

Each row becomes one text, each value in a canonical form both sides write the same way (integers
and text as they are, length-prefixed so that no two rows run together; uuids in their usual form;
moments as microseconds since 1970; days as days since then; NULL as a mark no value can take),
hashed with MD5 to 64 bits; the digest is the sum of the row hashes and the number of rows, so the
order rows come in does not matter. Equal digests mean equal rows (a differing row would have to
compensate another's hash by chance, 1 in 2^64). A digest that differs is never a verdict on its
own: verify_projections then compares row by row, which names the differences.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from ledger.store.sql import fetch

NULL = "\\N"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True)
class Digest:
    rows: int
    total: int  # the sum of the rows' 64-bit hashes, as a Python (unbounded) integer


def _text(value: str) -> str:
    return f"{len(value)}:{value}"


def _moment(value: datetime) -> str:
    since = value - _EPOCH  # in integers: exact to the microsecond, as the SQL side is
    return str((since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds)


# The canonical form of a value by its exact type, looked up once a value instead of asked in turn
# (a verify spends most of its digest here: 397,000 statement lines took 5.3 s asked in turn, 3.2 s
# looked up). A subclass takes the form of its nearest listed base: a bool is never an int here, nor
# a datetime a date.
_BY_TYPE: dict[type, Callable[[Any], str]] = {
    type(None): lambda _: NULL,
    bool: lambda value: "true" if value else "false",
    int: str,
    str: _text,
    UUID: lambda value: f"36:{value}",  # str(uuid) is always 36 characters
    datetime: _moment,
    date: lambda value: str((value - _EPOCH_DAY).days),
}


def _canonical(value: Any) -> str:
    """A value of a subclass of a listed type (an IntEnum, a str subclass) in its base's form."""
    for kind in type(value).__mro__:
        if (form := _BY_TYPE.get(kind)) is not None:
            return form(value)
    raise TypeError(f"no canonical form for a {type(value).__name__}")


def row_hash(values: Iterable[Any]) -> int:
    text = "\x1f".join([_BY_TYPE.get(type(v), _canonical)(v) for v in values])
    return int.from_bytes(hashlib.md5(text.encode(), usedforsecurity=False).digest()[:8], "big", signed=True)


def of_rows(rows: Iterable[Iterable[Any]]) -> Digest:
    count = total = 0
    for values in rows:
        count += 1
        total += row_hash(values)
    return Digest(count, total)


def _sql_canonical(column: str, type_name: str) -> str:
    if type_name in ("bigint", "integer", "smallint", "boolean"):
        form = f"{column}::text"
    elif type_name.startswith("timestamp"):
        form = f"(extract(epoch FROM {column}) * 1000000)::bigint::text"
    elif type_name == "date":
        form = f"({column} - date '1970-01-01')::text"
    else:  # text, varchar, uuid
        form = f"length({column}::text) || ':' || {column}::text"
    return f"coalesce({form}, '{NULL}')"


# Pages of the table digested at a time: a paced digest rests between stretches this long.
CHUNK_PAGES = 500


def of_table(table: str, columns: tuple[str, ...], *, where: str = "TRUE", pace: float = 1.0) -> Digest:
    """The digest of `columns` of every row of `table` (as the search path finds it) that meets the
    condition `where` (one partition's rows: projections/partitions.py), read in
    stretches of its pages (within the caller's transaction, so all from one snapshot); with a
    `pace` below 1, resting between them so that it works only that share of the time."""
    types: dict[str, str] = dict(
        fetch(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
            [table],
        )
    )
    text = " || E'\\x1f' || ".join(_sql_canonical(c, types[c]) for c in columns)
    pages = fetch("SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", [table])[0][0]
    count = total = 0
    for first in range(0, max(pages, 1), CHUNK_PAGES):
        started = time.monotonic()
        rows, hashes = fetch(
            f"""SELECT count(*), coalesce(sum(('x' || left(md5({text}), 16))::bit(64)::bigint), 0) FROM {table}
                 WHERE ctid >= %s::tid AND ctid < %s::tid AND ({where})""",
            [f"({first},0)", f"({first + CHUNK_PAGES},0)" if first + CHUNK_PAGES < pages else f"({2**32 - 1},0)"],
        )[0]
        count, total = count + rows, total + int(hashes)
        if pace < 1:
            time.sleep((time.monotonic() - started) * (1 / pace - 1))
    return Digest(count, total)
