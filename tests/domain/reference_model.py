"""A reference model of the account rules, for the property-based test in test_domain_model.py.

It restates the rules of the design ("amount > 0 and below a sane maximum; no activity on a closed
account; a frozen account takes deposits but nothing leaves it; no overdraft beyond the account's
limit; close only at zero balance; no transfer to itself or across currencies", plus a stale page is
refused) in the plainest Python, independently of ledger.domain.account: which command is refused,
by which rule (checked in the order a person meets them: the page seen, the account, the money,
the state, the text), and what the balance, status and version become.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.domain import commands as c

# The limits, as the design states them ("amount > 0 and below a sane maximum"): figures only.
MAX_AMOUNT, MAX_BALANCE = 10**11, 10**15
MAX_OWNER, MAX_NOTE = 120, 200
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "JPY")


@dataclass
class Model:
    owner: str
    currency: str
    limit: int
    balance: int = 0
    status: str = "open"
    version: int = 1


class Refused(Exception):
    """The model's verdict: the name of the rule (error class) that refuses the command."""


def refuse(rule: str):
    raise Refused(rule)


class ReferenceLedger:
    def __init__(self) -> None:
        self.accounts: dict[UUID, Model] = {}

    def version(self, account_id: UUID) -> int:
        return self.accounts[account_id].version if account_id in self.accounts else 0

    def live(self, account_id: UUID) -> Model:
        account = self.accounts.get(account_id) or refuse("AccountNotFound")
        return account if account.status != "closed" else refuse("AccountIsClosed")

    @staticmethod
    def check_money(account: Model, amount: int, currency: str) -> None:
        if currency != account.currency:
            refuse("CurrencyMismatch")
        if amount <= 0:
            refuse("AmountMustBePositive")
        if amount > MAX_AMOUNT:
            refuse("AmountTooLarge")

    @staticmethod
    def check_paying(account: Model, amount: int) -> None:
        if account.status == "frozen":
            refuse("AccountIsFrozen")
        if amount > max(account.balance + account.limit, 0):
            refuse("InsufficientFunds")

    @staticmethod
    def check_note(text: str) -> None:
        if len(text.strip()) > MAX_NOTE:
            refuse("InvalidText")

    def run(self, cmd: c.Command) -> list[tuple[str, UUID, int]]:
        """Apply the command to the model; return the movements it records as (event, account, amount)."""
        if cmd.expected_version is not None and cmd.expected_version != self.version(cmd.account_id):
            refuse("StaleView")
        a = cmd.account_id
        if isinstance(cmd, c.OpenAccount):
            owner = " ".join(cmd.owner.split())
            if a in self.accounts:
                refuse("AccountAlreadyExists")
            if not owner or len(owner) > MAX_OWNER:
                refuse("InvalidText")
            if cmd.currency not in CURRENCIES:
                refuse("UnsupportedCurrency")
            if not 0 <= cmd.overdraft_limit <= MAX_AMOUNT:
                refuse("InvalidOverdraftLimit")
            self.accounts[a] = Model(owner, cmd.currency, cmd.overdraft_limit)
            return [("AccountOpened", a, 0)]
        if isinstance(cmd, c.Transfer):
            if cmd.to_account_id == a:
                refuse("SameAccountTransfer")
            source, target = self.live(a), self.live(cmd.to_account_id)
            if target.currency != source.currency:
                refuse("CurrencyMismatch")
            self.check_money(source, cmd.amount, cmd.currency)
            self.check_paying(source, cmd.amount)
            if target.balance + cmd.amount > MAX_BALANCE:
                refuse("BalanceLimitExceeded")
            self.check_note(cmd.memo)
            source.balance -= cmd.amount
            target.balance += cmd.amount
            source.version += 1
            target.version += 1
            return [("TransferSent", a, cmd.amount), ("TransferReceived", cmd.to_account_id, cmd.amount)]
        account = self.live(a)
        if isinstance(cmd, c.Deposit):
            self.check_money(account, cmd.amount, cmd.currency)
            if account.balance + cmd.amount > MAX_BALANCE:
                refuse("BalanceLimitExceeded")
            self.check_note(cmd.memo)
            account.balance += cmd.amount
            recorded = [("MoneyDeposited", a, cmd.amount)]
        elif isinstance(cmd, c.Withdraw):
            self.check_money(account, cmd.amount, cmd.currency)
            self.check_paying(account, cmd.amount)
            self.check_note(cmd.memo)
            account.balance -= cmd.amount
            recorded = [("MoneyWithdrawn", a, cmd.amount)]
        elif isinstance(cmd, c.FreezeAccount):
            if account.status == "frozen":
                refuse("AccountAlreadyFrozen")
            self.check_note(cmd.reason)
            if not cmd.reason.strip():
                refuse("ReasonRequired")
            account.status, recorded = "frozen", [("AccountFrozen", a, 0)]
        elif isinstance(cmd, c.UnfreezeAccount):
            if account.status != "frozen":
                refuse("AccountNotFrozen")
            self.check_note(cmd.reason)
            account.status, recorded = "open", [("AccountUnfrozen", a, 0)]
        elif isinstance(cmd, c.CloseAccount):
            if account.balance != 0:
                refuse("BalanceNotZero")
            self.check_note(cmd.reason)
            if not cmd.reason.strip():
                refuse("ReasonRequired")
            account.status, recorded = "closed", [("AccountClosed", a, 0)]
        else:
            raise TypeError(cmd)
        account.version += 1
        return recorded
