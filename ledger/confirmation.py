"""The step between filling in a task and doing it, for the tasks where a slip costs most: every
transfer (money goes to someone else: both accounts and the amount are shown) and any movement of a
large amount (at or above the approval threshold, where a withdrawal or a transfer becomes a request
for a supervisor's approval). The command is checked against the rules first, so a refusal shows on
the form as it always did, never on a confirmation that cannot be confirmed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger import approvals
from ledger.account_numbers import number_of
from ledger.domain import account_number
from ledger.domain import commands as c
from ledger.domain.account import Account, Status
from ledger.domain.money import format_money
from ledger.execute import preview


@dataclass(frozen=True)
class Confirmation:
    title: str
    button: str
    amount: str
    source: Account
    source_number: str = ""  # grouped, as people read it
    target: Account | None = None
    target_number: str = ""
    memo: str = ""
    notes: list[str] = field(default_factory=list)  # what will happen besides the obvious
    warnings: list[str] = field(default_factory=list)  # what the person should look at twice


def _number(account: Account) -> str:
    number = number_of(account.id)
    return account_number.grouped(number) if number else ""


def needed(command: c.Command) -> bool:
    if isinstance(command, c.Transfer):
        return True
    return isinstance(command, c.Deposit | c.Withdraw) and command.amount >= approvals.threshold(command.currency)


def prepare(command: c.Deposit | c.Withdraw | c.Transfer, routed: c.Command, account: Account) -> Confirmation:
    """What the confirmation shows; raises the DomainError the task would meet now."""
    states = preview(routed)
    amount = format_money(command.amount, command.currency)
    kind = {c.Deposit: "deposit", c.Withdraw: "withdrawal", c.Transfer: "transfer"}[type(command)]
    notes, warnings = [], []
    large = command.amount >= approvals.threshold(command.currency)
    if approvals.is_request(routed):
        notes.append(
            f"{amount} is at or above the approval threshold: the {kind} is sent to a supervisor, and the amount is "
            "held on the account (its balance stays the same, its available funds drop) until they decide."
        )
    elif large:
        warnings.append(f"This is a large {kind}: check the amount, {amount}, before you confirm.")
    target = None
    if isinstance(command, c.Transfer):
        found = states.get(command.to_account_id)
        target = found if isinstance(found, Account) else None
        if target is not None and target.status is Status.FROZEN:
            warnings.append(
                f"{target.owner}'s account is frozen: it takes the money, but nothing can leave it until a supervisor "
                "unfreezes it."
            )
    return Confirmation(
        title=f"Confirm the {kind}",
        button=f"Confirm: {'send for approval' if approvals.is_request(routed) else kind} of {amount}",
        amount=amount,
        source=account,
        source_number=_number(account),
        target=target,
        target_number=_number(target) if target else "",
        memo=getattr(command, "memo", ""),
        notes=notes,
        warnings=warnings,
    )
