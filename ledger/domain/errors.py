"""Domain errors: each names the rule that was broken and says so in words a person understands."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """A command was refused by a rule. `field` names the form field the rule is about, if any."""

    field: str | None = None
    whose: str | None = None  # the account as the message names it ("Ada Lovelace's account"), if it does

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field

    @property
    def message(self) -> str:
        return str(self.args[0])

    @property
    def anonymous(self) -> str:
        """The message without the customer's name, for what is kept (a process manager's record of a
        refusal is an event, which forgetting the customer cannot reach) and logged: the account it
        names becomes "The account"."""
        if self.whose:
            return self.message.replace(self.whose, "The account", 1)
        return self.message


# The rules about an account's state name it as a person knows it ("Ada Lovelace's account"), never
# by its stream id: `whose` comes from ledger.domain.account.whose().


class AccountNotFound(DomainError):
    def __init__(self, account_id: UUID, *, field: str | None = None) -> None:
        super().__init__("There is no such account; check the account number.", field=field)
        self.account_id = account_id


class AccountAlreadyExists(DomainError):
    def __init__(self, whose: str) -> None:
        super().__init__(f"{whose} already exists.")
        self.whose = whose


class AccountIsClosed(DomainError):
    def __init__(self, whose: str, *, field: str | None = None) -> None:
        super().__init__(f"{whose} is closed; no more activity is allowed on it.", field=field)
        self.whose = whose


class AccountIsFrozen(DomainError):
    def __init__(self, whose: str) -> None:
        super().__init__(f"{whose} is frozen: it can receive money, but nothing can leave it.")
        self.whose = whose


class AccountAlreadyFrozen(DomainError):
    def __init__(self, whose: str) -> None:
        super().__init__(f"{whose} is already frozen.")
        self.whose = whose


class AccountNotFrozen(DomainError):
    def __init__(self, whose: str) -> None:
        super().__init__(f"{whose} is not frozen.")
        self.whose = whose


class AmountMustBePositive(DomainError):
    field = "amount"

    def __init__(self) -> None:
        super().__init__("The amount must be greater than zero.")


class AmountTooLarge(DomainError):
    field = "amount"

    def __init__(self, limit: str) -> None:
        super().__init__(f"The amount is larger than the {limit} allowed for one movement.")


class BalanceLimitExceeded(DomainError):
    field = "amount"

    def __init__(self, limit: str) -> None:
        super().__init__(f"This would take the balance above the {limit} an account may hold.")


class InsufficientFunds(DomainError):
    field = "amount"

    def __init__(self, available: str) -> None:
        super().__init__(f"Insufficient funds: at most {available} is available, including the overdraft.")


class CurrencyMismatch(DomainError):
    """Money in one currency meeting an account in another: made by `of_amount` or `of_transfer`,
    which say which side holds which currency."""

    @classmethod
    def of_amount(cls, *, account_currency: str, amount_currency: str) -> CurrencyMismatch:
        return cls(f"The account holds {account_currency}; this amount is in {amount_currency}.", field="amount")

    @classmethod
    def of_transfer(cls, *, source_currency: str, target_currency: str) -> CurrencyMismatch:
        return cls(
            f"This account holds {source_currency} and the account to transfer to holds {target_currency}; "
            "money can only be transferred between accounts in the same currency.",
            field="to_account",
        )


class UnsupportedCurrency(DomainError):
    field = "currency"

    def __init__(self, currency: str, supported: list[str]) -> None:
        super().__init__(f"{currency!r} is not a supported currency; choose one of {', '.join(supported)}.")


class SameAccountTransfer(DomainError):
    field = "to_account"

    def __init__(self) -> None:
        super().__init__("Choose a different account to transfer to; an account cannot pay itself.")


class AlreadyReversed(DomainError):
    def __init__(self) -> None:
        super().__init__("This movement has already been reversed; a movement can be reversed only once.")


class NotReversible(DomainError):
    def __init__(self, message: str = "Only a deposit, a withdrawal or a transfer can be reversed.") -> None:
        super().__init__(message)


class CannotGiveBack(DomainError):
    """Reversing money that came into an account takes it out again: only while it is still there."""

    def __init__(self, *, amount: str, available: str, transfer: bool) -> None:
        where = "the receiving account" if transfer else "the account"
        super().__init__(
            f"This reversal would take {amount} back, but {where} has only {available} available, "
            "including the overdraft: the money has been spent since."
        )


class BalanceNotZero(DomainError):
    def __init__(self, balance: str) -> None:
        super().__init__(f"Only an account with a zero balance can be closed; the balance is {balance}.")


class ReasonRequired(DomainError):
    """Freezing and closing change what an account may do: the audit trail says why."""

    field = "reason"

    def __init__(self, task: str) -> None:
        super().__init__(f"Say why the account is {task}: the reason is kept in the audit trail.")


class AlreadyForgotten(DomainError):
    def __init__(self) -> None:
        super().__init__("This customer has already been forgotten: their name can no longer be read anywhere.")


class OnlyClosedForgotten(DomainError):
    def __init__(self, whose: str) -> None:
        super().__init__(f"{whose} is still in use: only the customer of a closed account can be forgotten.")
        self.whose = whose


class InvalidText(DomainError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class InvalidOverdraftLimit(DomainError):
    field = "overdraft_limit"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StaleView(DomainError):
    def __init__(self, seen: int, current: int) -> None:
        super().__init__(
            "The account has changed since this page was shown (someone else acted on it); "
            "review its current state and submit again."
        )


class HoldNotFound(DomainError):
    def __init__(self, hold_id: UUID) -> None:
        super().__init__(f"No money is held for request {hold_id} on this account.")


class HoldsPending(DomainError):
    def __init__(self, held: str) -> None:
        super().__init__(
            f"{held} is held for requests awaiting approval; they must be decided before the account can be closed."
        )
