"""Realistic event history, generated fast and loaded with COPY (never through execute(), which
would take hours for a million events).

The rows are what execute() itself would have written for a bank's day-to-day activity: accounts
opened, deposits, withdrawals within balance plus overdraft, and transfers between accounts of the
same currency with both halves in one transaction; per-stream versions without gaps; payloads in
the exact shape of ledger.store.serialization.event_to_payload; metadata with actor, command and
correlation/causation ids; a command record per command; and a snapshot every SNAPSHOT_EVERY
events, as execute() takes them. The generator keeps each account's state, so a second call continues the
same history (the rebuild measures at two log sizes by growing one log).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger.execute import SNAPSHOT_EVERY  # plain constants: no Django set-up needed
from ledger.store import personal
from ledger.store.serialization import SNAPSHOT_SCHEMA

CURRENCIES = ("EUR", "USD", "GBP", "JPY")
CURRENCY_WEIGHTS = (6, 2, 1, 1)
FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Hedy",
    "Dennis",
    "Katherine",
    "Niklaus",
    "Sophie",
    "Linus",
    "Anita",
    "Guido",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "McCarthy",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Ritchie",
    "Johnson",
    "Wirth",
    "Wilson",
    "Torvalds",
)
MEMOS = {
    "MoneyDeposited": ("Salary", "Cash deposit", "Refund", "Interest", "Cheque"),
    "MoneyWithdrawn": ("ATM withdrawal", "Rent", "Groceries", "Utilities", "Card payment"),
    "Transfer": ("Shared dinner", "Loan repayment", "Gift", "Invoice 2024-113", "Rent share"),
}
ACTORS = ("teller", "teller", "teller", "anna.teller", "ben.teller", "import")

EVENT_COLUMNS = "event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at"
COMMAND_COLUMNS = "command_id, type, fingerprint, position"


@dataclass(slots=True)
class AccountState:
    id: str
    owner: str
    currency: str
    overdraft_limit: int
    version: int = 0
    balance: int = 0
    snapshot: tuple[int, int] | None = None  # (version, balance) at the last multiple of SNAPSHOT_EVERY
    # The name as the store keeps it, sealed under a key of the account's own (ledger/store/personal.py):
    # a log without it would spare Tally's rebuild the opening of every name.
    sealed: dict[str, str] = field(default_factory=dict)
    key: bytes = b""

    def seal(self) -> dict[str, str]:
        self.key = personal.new_key()
        self.sealed = personal.seal(UUID(self.id), "owner", self.owner, self.key)
        return self.sealed


def _dumps(value: dict) -> str:
    # As ledger.store.append writes jsonb; COPY's text format needs its backslashes doubled.
    return json.dumps(value, separators=(",", ":")).replace("\\", "\\\\")


@dataclass
class Batch:
    """Rows for one COPY (one transaction): events in order, and the commands that wrote them."""

    events: list[str] = field(default_factory=list)
    commands: list[tuple[str, str, int]] = field(default_factory=list)  # (id, type, events in command)
    keys: list[tuple[str, bytes]] = field(default_factory=list)  # (account id, key) of the accounts it opens

    def event_bytes(self) -> bytes:
        return "".join(self.events).encode()


class LedgerGenerator:
    """A bank's history, command by command. `total` events are spread over `days` of recorded
    time ending now, so the daily activity read model gets a year of days."""

    def __init__(self, *, total: int, seed: int = 42, days: int = 365, events_per_account: int = 100) -> None:
        self.rng = random.Random(seed)
        self.accounts: list[AccountState] = []
        self.by_currency: dict[str, list[AccountState]] = {c: [] for c in CURRENCIES}
        self.open_chance = 1 / events_per_account
        self.start = datetime.now(UTC) - timedelta(days=days)
        self.step = timedelta(days=days) / max(total, 1)
        self.clock = self.start
        self.events_written = 0

    # --- ids and clock -------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(UUID(int=self.rng.getrandbits(128), version=4))

    def _tick(self) -> str:
        self.clock += self.step
        return self.clock.strftime("%Y-%m-%d %H:%M:%S.%f+00")

    # --- commands --------------------------------------------------------------------------------

    def batches(self, events: int, *, per_batch: int = 5000) -> Iterator[Batch]:
        """At least `events` more events (a transfer may add one over), in batches of commands."""
        target = self.events_written + events
        batch = Batch()
        while self.events_written < target:
            self._command(batch)
            if len(batch.events) >= per_batch:
                yield batch
                batch = Batch()
        if batch.events:
            yield batch

    def _command(self, batch: Batch) -> None:
        rng = self.rng
        if len(self.accounts) < 2 or rng.random() < self.open_chance:
            self._open(batch)
            return
        account = rng.choice(self.accounts)
        roll = rng.random()
        amount = self._amount(account.currency)
        if roll < 0.30 and amount <= account.balance + account.overdraft_limit:
            self._single(batch, account, "MoneyWithdrawn", "Withdraw", -amount)
            return
        if roll < 0.55:
            peers = self.by_currency[account.currency]
            target = rng.choice(peers)
            if target is not account and amount <= account.balance + account.overdraft_limit:
                self._transfer(batch, account, target, amount)
                return
        self._single(batch, account, "MoneyDeposited", "Deposit", amount)

    def _amount(self, currency: str) -> int:
        major = self.rng.randint(5, 900)
        return major * 150 if currency == "JPY" else major * 100 + self.rng.choice((0, 0, 50, 99))

    def _meta(self, command_id: str, command: str, causation: str | None = None) -> str:
        return _dumps(
            {
                "actor": self.rng.choice(ACTORS),
                "command_id": command_id,
                "command": command,
                "correlation_id": command_id,
                "causation_id": causation or command_id,
                "source": "bench",
            }
        )

    def _row(self, account: AccountState, type_: str, schema: int, data: dict, meta: str, at: str) -> str:
        account.version += 1
        if account.version % SNAPSHOT_EVERY == 0:
            account.snapshot = (account.version, account.balance)
        self.events_written += 1
        return (
            f"{self._uuid()}\t{account.id}\taccount\t{account.version}\t{type_}\t{schema}\t"
            f"{_dumps(data)}\t{meta}\t{at}\n"
        )

    def _open(self, batch: Batch) -> None:
        currency = self.rng.choices(CURRENCIES, CURRENCY_WEIGHTS)[0]
        limit = 0 if currency == "JPY" else self.rng.choice((0, 0, 0, 50_000, 100_000))
        account = AccountState(self._uuid(), f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}", currency, limit)
        self.accounts.append(account)
        self.by_currency[currency].append(account)
        command_id = self._uuid()
        data = {"account_id": account.id, "owner": account.seal(), "currency": currency, "overdraft_limit": limit}
        batch.keys.append((account.id, account.key))
        batch.events.append(
            self._row(account, "AccountOpened", 2, data, self._meta(command_id, "OpenAccount"), self._tick())
        )
        batch.commands.append((command_id, "OpenAccount", 1))

    def _single(self, batch: Batch, account: AccountState, type_: str, command: str, signed: int) -> None:
        command_id = self._uuid()
        account.balance += signed
        data = {
            "account_id": account.id,
            "amount": abs(signed),
            "currency": account.currency,
            "memo": self.rng.choice(MEMOS[type_]),
        }
        batch.events.append(self._row(account, type_, 1, data, self._meta(command_id, command), self._tick()))
        batch.commands.append((command_id, command, 1))

    def _transfer(self, batch: Batch, source: AccountState, target: AccountState, amount: int) -> None:
        command_id = self._uuid()
        memo = self.rng.choice(MEMOS["Transfer"])
        at = self._tick()
        source.balance -= amount
        sent = self._row(
            source,
            "TransferSent",
            1,
            {
                "account_id": source.id,
                "transfer_id": command_id,
                "to_account_id": target.id,
                "amount": amount,
                "currency": source.currency,
                "memo": memo,
            },
            self._meta(command_id, "Transfer"),
            at,
        )
        target.balance += amount
        # The second half is caused by the first: execute() chains causation to the first event's id.
        first_event_id = sent.split("\t", 1)[0]
        received = self._row(
            target,
            "TransferReceived",
            1,
            {
                "account_id": target.id,
                "transfer_id": command_id,
                "from_account_id": source.id,
                "amount": amount,
                "currency": source.currency,
                "memo": memo,
            },
            self._meta(command_id, "Transfer", causation=first_event_id),
            at,
        )
        batch.events += [sent, received]
        batch.commands.append((command_id, "Transfer", 2))

    def snapshot_rows(self) -> list[tuple[str, int, str]]:
        """(stream_id, version, state json) of every account that has a snapshot."""
        rows = []
        for a in self.accounts:
            if a.snapshot:
                version, balance = a.snapshot
                state = {
                    "owner": a.sealed,
                    "currency": a.currency,
                    "overdraft_limit": a.overdraft_limit,
                    "balance": balance,
                    "status": "open",
                }
                rows.append((a.id, version, json.dumps(state, separators=(",", ":"))))
        return rows


def long_stream(account_id: str, events: int, *, seed: int = 7) -> tuple[LedgerGenerator, Batch]:
    """One account with `events` events (opened, then deposits and withdrawals), as one batch."""
    gen = LedgerGenerator(total=events, seed=seed, days=30)
    batch = Batch()
    account = AccountState(account_id, "Grace Hopper", "EUR", 0)
    gen.accounts.append(account)
    command_id = gen._uuid()
    batch.events.append(
        gen._row(
            account,
            "AccountOpened",
            2,
            {"account_id": account_id, "owner": account.seal(), "currency": "EUR", "overdraft_limit": 0},
            gen._meta(command_id, "OpenAccount"),
            gen._tick(),
        )
    )
    batch.commands.append((command_id, "OpenAccount", 1))
    batch.keys.append((account_id, account.key))
    while account.version < events:
        amount = gen._amount("EUR")
        if account.balance >= amount and gen.rng.random() < 0.4:
            gen._single(batch, account, "MoneyWithdrawn", "Withdraw", -amount)
        else:
            gen._single(batch, account, "MoneyDeposited", "Deposit", amount)
    return gen, batch


# --- loading ---------------------------------------------------------------------------------------


def load(conn, batch: Batch) -> None:
    """COPY one batch of events and its command records in one transaction, as its own tx_id."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
        before = cur.fetchone()[0]
        with cur.copy(f"COPY ledger_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
            copy.write(batch.event_bytes())
        # The positions of one COPY into a table nobody else writes are consecutive: each command
        # record points at its last event, as execute() records it.
        cur.execute("SELECT min(position), max(position), count(*) FROM ledger_event WHERE position > %s", [before])
        first, last, added = cur.fetchone()
        if added != len(batch.events) or last - first + 1 != added:
            raise RuntimeError("positions of the COPY were not consecutive; is someone else writing?")
        position = first - 1
        lines = []
        for command_id, type_, count in batch.commands:
            position += count
            fingerprint = hashlib.sha256(command_id.encode()).hexdigest()
            lines.append(f"{command_id}\t{type_}\t{fingerprint}\t{position}\n")
        with cur.copy(f"COPY ledger_command ({COMMAND_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(lines).encode())
        if batch.keys:
            with cur.copy("COPY ledger_subject_key (subject_id, key) FROM STDIN") as copy:
                for row in batch.keys:
                    copy.write_row(row)


def store_snapshots(conn, rows: list[tuple[str, int, str]]) -> None:
    """Upsert snapshots, as execute() leaves them (the newer one wins)."""
    if not rows:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_snap (stream_id uuid, version integer, state jsonb) ON COMMIT DROP")
        with cur.copy("COPY bench_snap FROM STDIN") as copy:
            copy.write("".join(f"{s}\t{v}\t{state.replace(chr(92), chr(92) * 2)}\n" for s, v, state in rows).encode())
        cur.execute(f"""INSERT INTO ledger_snapshot (stream_id, version, schema, state)
                        SELECT stream_id, version, {SNAPSHOT_SCHEMA}, state FROM bench_snap
                        ON CONFLICT (stream_id) DO UPDATE
                           SET version = excluded.version, state = excluded.state, taken_at = now()
                         WHERE ledger_snapshot.version < excluded.version""")


def generate_and_load(conn, gen: LedgerGenerator, events: int) -> int:
    """Grow the log by `events` (or one more); returns the events written. A thread generates the
    next batch while this one is copied (the COPY mostly waits on the server's index updates)."""
    import queue
    import threading

    batches: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for batch in gen.batches(events):
                batches.put(batch)
        except BaseException as exc:  # noqa: BLE001 - raised again by the consumer
            failure.append(exc)
        finally:
            batches.put(None)

    producer = threading.Thread(target=produce, name="bench-eventgen", daemon=True)
    producer.start()
    written = 0
    while (batch := batches.get()) is not None:
        load(conn, batch)
        written += len(batch.events)
    producer.join()
    if failure:
        raise failure[0]
    store_snapshots(conn, gen.snapshot_rows())
    with conn.cursor() as cur:
        cur.execute("ANALYZE ledger_event")
    return written
