"""Property-based test of the Account aggregate: random command sequences against a reference model.

Hypothesis drives the aggregate (ledger.domain.account.decide and evolve, no database) and the
independent model in reference_model.py with the same commands; they must agree on every accept,
every refusal's error class, every event recorded and every balance, status and version.
"""

from __future__ import annotations

from collections import Counter
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.domain import account as aggregate
from ledger.domain import commands as c
from ledger.domain import events as e
from ledger.domain.errors import DomainError
from tests.domain.reference_model import (
    CURRENCIES,
    MAX_AMOUNT,
    MAX_BALANCE,
    MAX_NOTE,
    MAX_OWNER,
    ReferenceLedger,
    Refused,
)

SEEN: Counter[str] = Counter()  # verdicts met during the run: each rule must have been exercised

# --- strategies --------------------------------------------------------------------------------

SLOTS = 4  # account numbers in play; a slot that was never opened is an unknown account
amounts = st.one_of(
    st.integers(1, 50_000),
    st.integers(1, 50_000),
    st.integers(-3, 0),
    st.integers(MAX_AMOUNT - 2, MAX_AMOUNT + 2),
    st.sampled_from([1, 2, 3, 100, 10**12]),
)
notes = st.one_of(
    st.just(""),
    st.text(max_size=12),
    st.integers(MAX_NOTE - 1, MAX_NOTE + 2).map(lambda n: "x" * n),
    st.just(" " * 250 + "ok"),
)
owners = st.one_of(
    st.sampled_from(["Ada Lovelace", "  Grace   Hopper ", "", "   ", "Bö Ølsen"]),
    st.integers(MAX_OWNER - 1, MAX_OWNER + 1).map(lambda n: "n" * n),
)
currencies = st.sampled_from([*CURRENCIES[:3], "XXX", "eur"])
limits = st.one_of(st.just(0), st.integers(1, 20_000), st.sampled_from([-1, MAX_AMOUNT, MAX_AMOUNT + 1]))
version_offsets = st.one_of(st.none(), st.none(), st.none(), st.none(), st.just(0), st.sampled_from([-1, 1]))


class AggregateAgainstModel(RuleBasedStateMachine):
    @initialize(
        limits=st.lists(st.sampled_from([0, 0, 5_000, 20_000]), min_size=3, max_size=3),
        balances=st.lists(st.sampled_from([0, 1, 30_000, 100_000]), min_size=3, max_size=3),
    )
    def start(self, limits, balances) -> None:
        """Two euro accounts and a dollar one to begin with; the last slot stays unknown until opened."""
        self.ids = [uuid4() for _ in range(SLOTS)]
        self.model = ReferenceLedger()
        self.states: dict[UUID, aggregate.Account] = {i: aggregate.Account(id=i) for i in self.ids}
        for slot, (currency, limit) in enumerate(zip(["EUR", "EUR", "USD"], limits, strict=True)):
            self.both(
                c.OpenAccount(
                    account_id=self.ids[slot], owner=f"Owner {slot}", currency=currency, overdraft_limit=limit
                )
            )
            if balances[slot]:
                self.both(c.Deposit(account_id=self.ids[slot], amount=balances[slot], currency=currency))

    def state(self, account_id: UUID) -> aggregate.Account:
        return self.states.get(account_id) or aggregate.Account(id=account_id)

    def currency_of(self, slot: int, other: bool) -> str:
        known = self.model.accounts.get(self.ids[slot])
        own = known.currency if known else "EUR"
        return next(x for x in CURRENCIES if x != own) if other else own

    def expected(self, slot: int, offset: int | None) -> int | None:
        return None if offset is None else max(self.model.version(self.ids[slot]) + offset, 0)

    def both(self, cmd: c.Command) -> None:
        try:
            movements = self.model.run(cmd)
            verdict = None
        except Refused as refusal:
            verdict, movements = refusal.args[0], []
        try:
            decided = aggregate.decide(cmd, {i: self.state(i) for i in aggregate.streams_of(cmd)})
            outcome = None
        except DomainError as error:
            outcome, decided = type(error).__name__, []
        assert outcome == verdict, f"{cmd}: aggregate {outcome or 'accepts'}, model {verdict or 'accepts'}"
        assert [(ev.type_name, ev.account_id, getattr(ev, "amount", 0)) for ev in decided] == movements
        for event in decided:
            self.states[event.account_id] = aggregate.evolve(self.state(event.account_id), event)
        SEEN[verdict or f"accepted {type(cmd).__name__}"] += 1

    @rule(slot=st.integers(0, SLOTS), owner=owners, currency=currencies, limit=limits)
    def open(self, slot, owner, currency, limit):
        """Open under a number in play (often taken already) or a brand-new one (slot == SLOTS)."""
        account_id = self.ids[slot] if slot < SLOTS else uuid4()
        self.both(c.OpenAccount(account_id=account_id, owner=owner, currency=currency, overdraft_limit=limit))

    @rule(
        slot=st.integers(0, SLOTS - 1),
        kind=st.sampled_from([c.Deposit, c.Withdraw]),
        amount=amounts,
        other_currency=st.booleans(),
        memo=notes,
        offset=version_offsets,
    )
    def deposit_or_withdraw(self, slot, kind, amount, other_currency, memo, offset):
        self.both(
            kind(
                account_id=self.ids[slot],
                amount=amount,
                memo=memo,
                expected_version=self.expected(slot, offset),
                currency=self.currency_of(slot, other_currency and amount % 7 == 0),
            )
        )

    @rule(
        slot=st.integers(0, SLOTS - 1),
        to=st.integers(0, SLOTS - 1),
        amount=amounts,
        other_currency=st.booleans(),
        memo=notes,
        offset=version_offsets,
    )
    def transfer(self, slot, to, amount, other_currency, memo, offset):
        self.both(
            c.Transfer(
                account_id=self.ids[slot],
                to_account_id=self.ids[to],
                amount=amount,
                memo=memo,
                currency=self.currency_of(slot, other_currency and amount % 7 == 0),
                expected_version=self.expected(slot, offset),
            )
        )

    @rule(
        slot=st.integers(0, SLOTS - 1),
        kind=st.sampled_from([c.FreezeAccount, c.UnfreezeAccount, c.CloseAccount]),
        reason=notes,
        offset=version_offsets,
    )
    def change_status(self, slot, kind, reason, offset):
        self.both(kind(account_id=self.ids[slot], reason=reason, expected_version=self.expected(slot, offset)))

    def slots(self, *statuses: str) -> list[int]:
        """The slots opened (in the model), in one of `statuses` if given."""
        return [
            s
            for s in range(SLOTS)
            if (m := self.model.accounts.get(self.ids[s])) is not None and (not statuses or m.status in statuses)
        ]

    @precondition(lambda self: self.slots("frozen"))
    @rule(
        data=st.data(),
        kind=st.sampled_from(["unfreeze", "unfreeze", "freeze", "withdraw", "transfer"]),
        reason=notes,
        offset=version_offsets,
    )
    def act_on_a_frozen_account(self, data, kind, reason, offset):
        slot = data.draw(st.sampled_from(self.slots("frozen")))
        a, version, currency = self.ids[slot], self.expected(slot, offset), self.currency_of(slot, False)
        self.both(
            {
                "unfreeze": lambda: c.UnfreezeAccount(account_id=a, reason=reason, expected_version=version),
                "freeze": lambda: c.FreezeAccount(account_id=a, reason=reason, expected_version=version),
                "withdraw": lambda: c.Withdraw(account_id=a, amount=1, currency=currency),
                "transfer": lambda: c.Transfer(
                    account_id=a, to_account_id=self.ids[(slot + 1) % SLOTS], amount=1, currency=currency
                ),
            }[kind]()
        )

    @precondition(lambda self: len(self.slots("open", "frozen")) >= 2)
    @rule(data=st.data(), amount=st.integers(1, 20_000))
    def transfer_within_a_currency(self, data, amount):
        """Two live accounts in the same currency, a modest amount: mostly a transfer that goes through."""
        source = data.draw(st.sampled_from(self.slots("open", "frozen")))
        currency = self.model.accounts[self.ids[source]].currency
        targets = [
            s
            for s in self.slots("open", "frozen")
            if s != source and self.model.accounts[self.ids[s]].currency == currency
        ]
        if targets:
            target = data.draw(st.sampled_from(targets))
            self.both(
                c.Transfer(
                    account_id=self.ids[source], to_account_id=self.ids[target], amount=amount, currency=currency
                )
            )

    @precondition(lambda self: self.slots("open", "frozen"))
    @rule(data=st.data())
    def empty_an_account(self, data):
        """Withdraw or top up exactly to zero, so that closing is sometimes allowed."""
        slot = data.draw(st.sampled_from(self.slots("open", "frozen")))
        account = self.model.accounts[self.ids[slot]]
        if account.balance:
            kind = c.Withdraw if account.balance > 0 else c.Deposit
            self.both(kind(account_id=self.ids[slot], amount=abs(account.balance), currency=account.currency))

    @precondition(lambda self: self.slots("open", "frozen"))
    @rule(data=st.data(), near=st.integers(0, 3))
    def imported_history_near_the_balance_limit(self, data, near):
        """An old, large deposit (as an import would record it): the balance limit comes within reach."""
        slot = data.draw(st.sampled_from(self.slots("open", "frozen")))
        account_id, account = self.ids[slot], self.model.accounts[self.ids[slot]]
        top_up = MAX_BALANCE - near - account.balance
        if top_up > 0:
            self.states[account_id] = aggregate.evolve(
                self.state(account_id),
                e.MoneyDeposited(account_id=account_id, amount=top_up, currency=account.currency),
            )
            account.balance += top_up
            account.version += 1

    @precondition(lambda self: len(self.slots()) >= 2)
    @rule(data=st.data(), excess=st.integers(-1, 1), by_transfer=st.booleans())
    def pay_in_up_to_the_balance_limit(self, data, excess, by_transfer):
        """A deposit or transfer that lands the balance one below, exactly at, or one above the limit."""
        target = data.draw(st.sampled_from(self.slots()))
        account = self.model.accounts[self.ids[target]]
        amount = MAX_BALANCE - account.balance + excess
        if by_transfer:
            source = data.draw(st.sampled_from([s for s in self.slots() if s != target]))
            self.both(
                c.Transfer(
                    account_id=self.ids[source],
                    to_account_id=self.ids[target],
                    amount=amount,
                    currency=self.currency_of(source, False),
                )
            )
        else:
            self.both(c.Deposit(account_id=self.ids[target], amount=amount, currency=account.currency))

    @invariant()
    def the_same_accounts_balances_and_statuses(self):
        if not hasattr(self, "ids"):
            return
        for account_id in {*self.ids, *self.model.accounts, *self.states}:
            state, model = self.state(account_id), self.model.accounts.get(account_id)
            if model is None:
                assert state.status is aggregate.Status.NEW and state.version == 0
                continue
            assert (
                state.balance,
                state.status.value,
                state.version,
                state.overdraft_limit,
                state.currency,
                state.owner,
            ) == (model.balance, model.status, model.version, model.limit, model.currency, model.owner)
            assert state.available == max(model.balance + model.limit, 0)


RULES = {
    "AccountNotFound",
    "AccountAlreadyExists",
    "AccountIsClosed",
    "AccountIsFrozen",
    "AccountAlreadyFrozen",
    "AccountNotFrozen",
    "AmountMustBePositive",
    "AmountTooLarge",
    "BalanceLimitExceeded",
    "InsufficientFunds",
    "CurrencyMismatch",
    "UnsupportedCurrency",
    "SameAccountTransfer",
    "BalanceNotZero",
    "InvalidText",
    "InvalidOverdraftLimit",
    "StaleView",
    "ReasonRequired",
}
KINDS = {
    f"accepted {k.__name__}"
    for k in (c.OpenAccount, c.Deposit, c.Withdraw, c.Transfer, c.FreezeAccount, c.UnfreezeAccount, c.CloseAccount)
}
BASE = settings(
    stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def test_the_aggregate_agrees_with_a_reference_model_on_random_command_sequences(figures):
    # 200 sequences that are the same on every run and must meet every rule and every kind of command
    # (so a quiet pass cannot mean the rules were never reached) ...
    SEEN.clear()
    run_state_machine_as_test(AggregateAgainstModel, settings=settings(BASE, max_examples=200, derandomize=True))
    assert set(SEEN) >= RULES | KINDS, f"never exercised: {sorted((RULES | KINDS) - set(SEEN))}"
    fixed = SEEN.copy()
    # ... and 100 new ones on every run, to keep looking for a disagreement.
    run_state_machine_as_test(AggregateAgainstModel, settings=settings(BASE, max_examples=100))

    figures["domain_model"] = {
        "sequences": 300,
        "commands_compared": sum(SEEN.values()),
        "fixed_sequences_verdicts": dict(fixed),
    }
