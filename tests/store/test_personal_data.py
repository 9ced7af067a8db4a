"""Personal data sealed in the log (ledger/store/personal.py): every reader gets the name in clear
while the subject's key exists and ERASED_NAME after; a sealed name moved to another subject does
not open; and ledger migration 0006 seals the names a database held in clear before, its chains
re-computed and checked."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from uuid import uuid4

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from ledger import store
from ledger.domain.account import ERASED_NAME
from ledger.domain.commands import OpenAccount
from ledger.execute import execute, load_account
from ledger.store import personal
from ledger.store.chain import verify_chain
from ledger.store.sql import execute as sql
from ledger.store.sql import fetch
from tests.write.helpers import open_account

seal_migration = importlib.import_module("ledger.migrations.0006_subject_keys")


@given(name=st.text(min_size=1, max_size=120))
def test_a_sealed_name_opens_with_its_key_only_for_its_own_subject(name):
    subject, other = uuid4(), uuid4()
    key = personal.new_key()
    sealed = personal.seal(subject, "owner", name, key)
    assert name not in sealed["sealed"] or len(name) < 6  # a short name may occur in base64 by chance
    assert personal.unseal(sealed, "owner", {subject: key}, subject) == name
    assert personal.unseal(sealed, "owner", {}, subject) == ERASED_NAME  # the key destroyed
    assert personal.unseal(sealed, "owner", {subject: key, other: key}, other) == ERASED_NAME  # copied as it is
    relabelled = {**sealed, "subject": str(other)}
    assert personal.unseal(relabelled, "owner", {other: key}, other) == ERASED_NAME  # or relabelled
    assert personal.unseal(sealed, "currency", {subject: key}, subject) == ERASED_NAME  # or another field


@pytest.mark.django_db
def test_every_reader_opens_the_name_and_finds_it_erased_once_the_key_is_gone():
    account = open_account(owner="Rita Reader")
    stored = fetch("SELECT data -> 'owner' FROM ledger_event WHERE stream_id = %s AND version = 1", [account])[0][0]
    assert "Rita" not in str(stored)
    assert store.read_stream(account)[0].data["owner"] == "Rita Reader"
    assert load_account(account).owner == "Rita Reader"

    sql("DELETE FROM ledger_subject_key WHERE subject_id = %s", [account])
    assert store.read_stream(account)[0].data["owner"] == ERASED_NAME
    assert store.load([account], command_id=None, snapshot_schema=2).events[0][4]["owner"] == ERASED_NAME


@pytest.mark.django_db
def test_the_migration_seals_names_recorded_in_clear_and_their_chains_still_verify():
    """In the test's transaction (rolled back): the migration's step over this database as it is,
    holding an opening recorded as execute() recorded it before names were sealed."""
    account, command_id = uuid4(), uuid4()
    opening = OpenAccount(account_id=account, command_id=command_id, owner="Olga Oldstyle", currency="EUR")
    sql(
        "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version, data, metadata)"
        " VALUES (%s, %s, 'account', 1, 'AccountOpened', 2, %s, %s), (%s, %s, 'account', 2, 'MoneyDeposited', 1, %s,"
        " '{}')",
        [
            uuid4(),
            account,
            f'{{"account_id": "{account}", "owner": "Olga Oldstyle", "currency": "EUR", "overdraft_limit": 0}}',
            f'{{"command_id": "{command_id}"}}',
            uuid4(),
            account,
            f'{{"account_id": "{account}", "amount": 500, "currency": "EUR", "memo": ""}}',
        ],
    )
    plain = seal_migration._plain_fingerprint(opening)
    sql(
        "INSERT INTO ledger_command (command_id, type, fingerprint, position)"
        " SELECT %s, 'OpenAccount', %s, position FROM ledger_event WHERE stream_id = %s AND version = 1",
        [command_id, plain, account],
    )
    seal_migration.seal_clear_names(None, SimpleNamespace(connection=connection))

    recorded = fetch("SELECT fingerprint FROM ledger_command WHERE command_id = %s", [command_id])[0][0]
    assert recorded != plain  # a plain hash of the name and the account's id no longer
    assert execute(opening, actor="teller").replayed  # the same form sent again is still answered

    clear = (
        "SELECT count(*) FROM ledger_event WHERE type = 'AccountOpened' AND jsonb_typeof(data -> 'owner') = 'string'"
    )
    assert fetch(clear)[0][0] == 0
    assert "Olga" not in str(fetch("SELECT data FROM ledger_event WHERE stream_id = %s", [account]))
    assert store.read_stream(account)[0].data["owner"] == "Olga Oldstyle"
    verdict = verify_chain(stream_id=account)
    assert verdict.broken == []
    assert verdict.checked == 2
