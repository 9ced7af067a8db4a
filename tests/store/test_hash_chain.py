"""Tamper evidence (issue 17): each event's hash chains to its stream's previous event, computed by
the database as it appends; verify_chain names an event edited afterwards, and an audit export is
checked offline by scripts/verify_export.py, whose rendering of the canonical text must be
Postgres's to the byte (hypothesis over any memo text)."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import store
from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from ledger.store.chain import verify_chain
from ledger.store.sql import execute as sql
from ledger.store.sql import fetch
from scripts import verify_export
from tests.screens.helpers import make_user
from tests.store.helpers import new_event
from tests.write.helpers import open_account

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("committed")

# What the offline script is checked with: any text a person can type into a memo (no NUL, which
# jsonb refuses), control characters, quotes, backslashes and letters of any script included.
MEMO = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)


def stored(stream_id: UUID) -> list[dict]:
    """A stream's events as the chain hashed them, with their hashes, oldest first."""
    rows = fetch(
        """SELECT e.event_id::text, e.stream_type, e.stream_id::text, e.version, e.type, e.schema_version,
                  to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.data::text,
                  e.metadata::text, encode(e.hash, 'hex'), encode(p.hash, 'hex')
             FROM ledger_event e LEFT JOIN ledger_event p ON p.stream_id = e.stream_id AND p.version = e.version - 1
            WHERE e.stream_id = %s ORDER BY e.version""",
        [stream_id],
    )
    names = (*verify_export.FIELDS, "data_text", "metadata_text", "hash", "previous_hash")
    return [dict(zip(names, row, strict=True)) for row in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memo=MEMO)
def test_the_offline_script_renders_any_event_as_postgres_did_and_gets_its_hash(memo):
    account = open_account(balance=0)
    execute(Deposit(account_id=account, amount=1_050, currency="EUR", memo=memo), actor="teller")

    events = stored(account)

    for event in events:
        data, metadata = (json.loads(event[k], parse_float=Decimal) for k in ("data_text", "metadata_text"))
        assert verify_export.jsonb_text(data) == event["data_text"]
        assert verify_export.jsonb_text(metadata) == event["metadata_text"]
        assert verify_export.expected_hash({**event, "data": data, "metadata": metadata}) == event["hash"]
    assert [e["previous_hash"] for e in events] == [None, events[0]["hash"]]


def test_events_appended_together_chain_to_each_other():
    stream = uuid4()
    store.append([new_event(stream, 1), new_event(stream, 2), new_event(stream, 3)])

    events = stored(stream)

    assert [e["previous_hash"] for e in events] == [None, events[0]["hash"], events[1]["hash"]]
    first = events[0]
    canonical = f'["{first["event_id"]}", "account", "{stream}", 1, "NoteTaken", 1, "{first["recorded_at"]}", '
    canonical += f"{first['data_text']}, {first['metadata_text']}]"
    assert hashlib.sha256(canonical.encode()).hexdigest() == first["hash"]


def test_a_hash_a_writer_sends_is_not_the_one_kept():
    stream = uuid4()
    store.append([new_event(stream, 1)])

    with pytest.raises(Exception, match="append"):  # the table refuses UPDATE
        sql("UPDATE ledger_event SET hash = '\\x00' WHERE stream_id = %s", [stream])
    sql(
        "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, data, metadata, hash)"
        " VALUES (%s, %s, 'account', 2, 'NoteTaken', '{}', '{}', '\\x00')",
        [uuid4(), stream],
    )
    assert all(len(bytes.fromhex(e["hash"])) == 32 for e in stored(stream))
    assert not verify_chain(stream).broken


@contextmanager
def tampered(sql_text: str, params: list) -> Iterator[None]:
    """What a superuser with the database's rights could do: lift the append-only trigger and change
    history, inside a transaction the test rolls back (the shared test database stays intact)."""
    with transaction.atomic():
        sql("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_append_only")
        sql(sql_text, params)
        sql("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_append_only")
        yield
        transaction.set_rollback(True)


@pytest.fixture
def deposits() -> UUID:
    account = open_account(balance=0)
    for amount in (100, 200, 300):
        execute(Deposit(account_id=account, amount=amount, currency="EUR"), actor="teller")
    return account


def test_verify_chain_names_the_event_whose_amount_was_changed(deposits, capsys):
    call_command("verify_chain", "--no-progress")
    assert "every hash matches" in capsys.readouterr().out
    (position,) = fetch("SELECT position FROM ledger_event WHERE stream_id = %s AND version = 3", [deposits])[0]

    with tampered(
        "UPDATE ledger_event SET data = jsonb_set(data, '{amount}', '20000') WHERE position = %s", [position]
    ):
        with pytest.raises(CommandError, match=r"1 of .* events do not match"):
            call_command("verify_chain", "--no-progress")
        said = capsys.readouterr().out

    assert f"event #{position} (MoneyDeposited, stream {deposits} version 3) does not match its hash" in said
    assert not verify_chain().broken  # rolled back: intact again


def test_recomputing_the_changed_events_hash_breaks_the_next_link(deposits):
    (position,) = fetch("SELECT position FROM ledger_event WHERE stream_id = %s AND version = 2", [deposits])[0]
    recompute = """UPDATE ledger_event e SET data = jsonb_set(e.data, '{amount}', '20000'),
                          hash = ledger_event_hash(p.hash, e.event_id, e.stream_type, e.stream_id, e.version, e.type,
                                                   e.schema_version, e.recorded_at,
                                                   jsonb_set(e.data, '{amount}', '20000'), e.metadata)
                     FROM ledger_event p WHERE p.stream_id = e.stream_id AND p.version = 1 AND e.position = %s"""

    with tampered(recompute, [position]):
        broken = verify_chain(deposits).broken

    assert [(b.version, b.stream_id) for b in broken] == [(3, deposits)]
    assert "or the hash of version 2 before it" in broken[0].describe()


def export_of(client, path: Path, **params: str) -> Path:
    response = client.get(reverse("admin:ledger_event_export", args=[path.suffix[1:]]), params)
    path.write_bytes(b"".join(response.streaming_content))
    return path


def offline(path: Path) -> subprocess.CompletedProcess[str]:
    """The script as an auditor runs it: a bare Python, isolated from the project (-I)."""
    script = ROOT / "scripts" / "verify_export.py"
    return subprocess.run([sys.executable, "-I", script, path], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_an_export_carries_the_hashes_and_is_verified_offline(client_for_auditor, deposits, tmp_path, suffix):
    exported = export_of(client_for_auditor, tmp_path / f"events{suffix}", stream=str(deposits))

    checked = offline(exported)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("4 events checked: every hash matches")


def test_an_export_edited_afterwards_or_taken_from_a_changed_database_is_caught_offline(
    client_for_auditor, deposits, tmp_path
):
    exported = export_of(client_for_auditor, tmp_path / "events.jsonl", stream=str(deposits))
    lines = exported.read_text().splitlines()
    edited = json.loads(lines[2])
    edited["data"]["amount"] = 20_000
    (tmp_path / "edited.jsonl").write_text("\n".join([*lines[:2], json.dumps(edited), *lines[3:]]) + "\n")

    checked = offline(tmp_path / "edited.jsonl")

    assert checked.returncode == 1
    assert f"event #{edited['position']} (MoneyDeposited, stream {deposits} version 3) does not match" in checked.stdout
    with tampered(
        "UPDATE ledger_event SET data = jsonb_set(data, '{amount}', '1') WHERE position = %s", [edited["position"]]
    ):
        changed = offline(export_of(client_for_auditor, tmp_path / "changed.jsonl", stream=str(deposits)))
    assert changed.returncode == 1 and f"event #{edited['position']}" in changed.stdout


@pytest.fixture
def client_for_auditor(client):
    client.force_login(make_user("chain-auditor", Role.AUDITOR))
    return client


def test_the_chain_check_reads_the_log_a_batch_at_a_time(deposits, monkeypatch):
    from ledger.store import chain

    monkeypatch.setattr(chain, "BATCH", 3)
    seen: list[int] = []

    verdict = chain.verify_chain(progress=seen.append)

    ((head, count),) = fetch("SELECT max(position), count(*) FROM ledger_event")
    assert seen[-1] == head and seen == sorted(seen) and len(seen) == -(-head // 3)
    assert all(b - a == 3 for a, b in itertools.pairwise(seen[:-1]))
    assert not verdict.broken and verdict.checked == count
