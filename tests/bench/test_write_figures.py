"""The write figures' machinery: commands spread over web-like processes (bench/routing.py) and
the statement ceiling (bench/limit.py), which must send Tally's own append and do all its work,
and the peer's account (bench/peer_model.py), which must keep Tally's rules."""

from __future__ import annotations

import copy
import time
import uuid

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import limit
from bench.routing import Pool, Request, closed_loops
from tests.processes import database_url

HANDLERS = "tests.bench.helpers"


def test_the_routing_spreads_commands_over_its_workers_and_counts_every_one() -> None:
    with Pool(f"{HANDLERS}:Echo", workers=3, processes=3) as pool:
        accounts = [f"a{i}" for i in range(7)]
        requests = [Request("write", (accounts[i % 7], i), (accounts[i % 7],)) for i in range(600)]
        phase = closed_loops(pool, [requests], warmup=0.0, seconds=60.0)

    assert phase.ran_out  # the 600 requests ended before the window: it ends with the last answer
    assert phase.count == 600 and len(phase.answers) == 600
    assert [a[2] for a in phase.answers] == [r.args for r in requests]  # each answered, in order
    served_by = {a[0] for a in phase.answers}
    assert len(served_by) > 1  # whichever worker is free takes the next command, never one alone
    assert phase.known == 600 - 7  # the first command on each account has no writer before it
    assert 0 < phase.same_worker < phase.known
    assert 0 < phase.seconds < 60


def test_a_window_counts_only_what_starts_after_the_warm_up_and_ends_within_it() -> None:
    with Pool(f"{HANDLERS}:Echo", workers=2, processes=2) as pool:
        forever = [iter(lambda: Request("noop", ()), None) for _ in range(2)]
        started = time.perf_counter()
        phase = closed_loops(pool, forever, warmup=0.2, seconds=0.3, tail=0.2)
        took = time.perf_counter() - started

    assert not phase.ran_out
    assert phase.seconds == pytest.approx(0.3)
    assert 0 < phase.count < len(phase.answers)  # warm-up and tail answered, not counted
    assert took >= 0.7


def test_a_request_that_fails_fails_the_figure_with_its_traceback() -> None:
    with Pool(f"{HANDLERS}:Echo", workers=2, processes=2) as pool:
        with pytest.raises(RuntimeError, match="asked to fail"):
            closed_loops(pool, [[Request("fail", ())]], warmup=0.0, seconds=5.0)
        assert pool.call("still", 1)[1][1:] == ("still", (1,))  # the worker lives on


def test_a_pool_whose_set_up_fails_says_so_at_once() -> None:
    pool = Pool(f"{HANDLERS}:BrokenAtStart", workers=2, processes=2)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="cannot set up"):
        pool.start(timeout=60)
    assert time.monotonic() - started < 30
    assert not any(p.is_alive() for p in pool._procs)


def test_the_statement_ceiling_sends_tallys_own_append_and_does_all_its_work(committed) -> None:
    from ledger.domain.commands import OpenAccount
    from ledger.execute import SNAPSHOT_EVERY, execute
    from ledger.store.write import _append_sql

    (plain_sql, plain), (snap_sql, snap) = limit.capture_appends()
    assert plain_sql == _append_sql(True, False, False, False)  # the very statement, with the command record
    assert snap_sql == _append_sql(True, True, False, False)  # and with the snapshot
    assert set(plain) == {"events", "recorded_at", "command_id", "command_type", "fingerprint"}

    client = limit.CeilingClient(streams=2, url=database_url())
    client.handle("templates", (((plain_sql, plain), (snap_sql, snap), SNAPSHOT_EVERY),))
    streams = list(client.versions)
    # The client writes as if each stream had been opened (its deposits start at version 2). Here
    # they go to the tests' shared, append-only log, which every later verify_projections replays:
    # open them for real, so that no deposit there belongs to an account that was never opened.
    for stream in streams:
        execute(OpenAccount(account_id=uuid.UUID(stream), owner="Ada Lovelace", currency="EUR"), actor="teller")
    assert client.handle("prepare", ("statement", 2 * SNAPSHOT_EVERY)) == 2 * SNAPSHOT_EVERY
    result = client.handle("run", (time.time(), 0.0, 60.0))
    client.conn.close()

    assert result["ran_out"] and result["count"] == 2 * SNAPSHOT_EVERY
    with psycopg.connect(database_url()) as conn:
        events = conn.execute(
            "SELECT stream_id::text, version, type, metadata->>'command_id' FROM ledger_event "
            "WHERE stream_id = ANY(%s::uuid[]) AND version > 1 ORDER BY stream_id, version",  # after the opening
            [streams],
        ).fetchall()
        commands = conn.execute(
            "SELECT count(*) FROM ledger_command WHERE command_id = ANY(%s::uuid[])", [[e[3] for e in events]]
        ).fetchone()
        snapshots = conn.execute(
            "SELECT stream_id::text, version FROM ledger_snapshot WHERE stream_id = ANY(%s::uuid[]) ORDER BY 1",
            [streams],
        ).fetchall()
    assert [(e[0], e[1]) for e in events] == [(s, v) for s in sorted(streams) for v in range(2, SNAPSHOT_EVERY + 2)]
    assert {e[2] for e in events} == {"MoneyDeposited"}
    assert commands == (2 * SNAPSHOT_EVERY,)  # a command record for every one
    assert snapshots == [(s, SNAPSHOT_EVERY) for s in sorted(streams)]  # the snapshot when due


# --- the peer's account keeps Tally's rules ---------------------------------------------------------

OPS = st.sampled_from(["deposit", "withdraw", "transfer", "freeze", "unfreeze", "close"])
AMOUNTS = st.sampled_from([-1, 0, 1, 50, 100, 499, 500, 501, 10**11, 10**11 + 1])
REASONS = st.sampled_from(["", "  ", "customer asked"])  # freezing and closing need one


def _tally_command(op: str, a: uuid.UUID, b: uuid.UUID, amount: int, reason: str):
    from ledger.domain import commands as c

    if op == "transfer":
        return c.Transfer(account_id=a, to_account_id=b, amount=amount, currency="EUR")
    if op in ("deposit", "withdraw"):
        return (c.Deposit if op == "deposit" else c.Withdraw)(account_id=a, amount=amount, currency="EUR")
    kind = {"freeze": c.FreezeAccount, "unfreeze": c.UnfreezeAccount, "close": c.CloseAccount}[op]
    return kind(account_id=a, reason=reason)


@settings(max_examples=150, deadline=None)
@given(
    overdrafts=st.tuples(st.sampled_from([0, 300]), st.sampled_from([0, 300])),
    steps=st.lists(st.tuples(OPS, st.integers(0, 1), AMOUNTS, REASONS), max_size=25),
)
def test_the_peer_refuses_and_accepts_exactly_what_tally_does(overdrafts, steps) -> None:
    pytest.importorskip("eventsourcing")
    from bench import peer_model
    from ledger.domain import account as domain
    from ledger.domain import commands as c
    from ledger.domain.errors import DomainError

    ids = [uuid.uuid4(), uuid.uuid4()]
    tally = {}
    for account_id, overdraft in zip(ids, overdrafts, strict=True):
        opened = c.OpenAccount(account_id=account_id, owner="Ada", currency="EUR", overdraft_limit=overdraft)
        tally[account_id] = domain.fold(account_id, domain.decide(opened, {account_id: domain.Account(id=account_id)}))
    peer = [peer_model.BankAccount(owner="Ada", currency="EUR", overdraft_limit=o) for o in overdrafts]

    for op, k, amount, reason in steps:
        a, b = ids[k], ids[1 - k]
        command = _tally_command(op, a, b, amount, reason)
        try:
            events = domain.decide(command, dict(tally))
        except DomainError:
            events = None
        # On copies, as the peer's application works on aggregates fresh from its repository and saves
        # them only when the command succeeds (a refused transfer may have debited its source already).
        source, target = copy.deepcopy(peer[k]), copy.deepcopy(peer[1 - k])
        try:
            if op == "transfer":
                transfer_id = peer_model.new_id()
                source.send(target.id, transfer_id, amount, "EUR")
                target.receive(source.id, transfer_id, amount, "EUR")
            elif op in ("deposit", "withdraw"):
                getattr(source, op)(amount, "EUR")
            else:
                getattr(source, op)(reason)
            accepted = True
        except peer_model.DomainError:
            accepted = False
        assert accepted == (events is not None), (op, amount, tally[a])
        if accepted:
            peer[k], peer[1 - k] = source, target
        for event in events or ():
            tally[event.account_id] = domain.evolve(tally[event.account_id], event)
        assert [tally[i].balance for i in ids] == [p.balance for p in peer]
