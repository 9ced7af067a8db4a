"""Domain errors: each names the rule that was broken and says so in words a person understands."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """A command was refused by a rule. `field` names the form field the rule is about, if any."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field

    @property
    def message(self) -> str:
        return str(self.args[0])


class AccountNotFound(DomainError):
    def __init__(self, account_id: UUID, *, field: str | None = None) -> None:
        super().__init__(f"There is no account {account_id}.", field=field)


class AccountAlreadyExists(DomainError):
    def __init__(self, account_id: UUID) -> None:
        super().__init__(f"An account with number {account_id} already exists.")


class AccountIsClosed(DomainError):
    def __init__(self, account_id: UUID, *, field: str | None = None) -> None:
        super().__init__(f"Account {account_id} is closed; no more activity is allowed on it.", field=field)


class AccountIsFrozen(DomainError):
    def __init__(self, account_id: UUID) -> None:
        super().__init__(f"Account {account_id} is frozen: it can receive money, but nothing can leave it.")


class AccountAlreadyFrozen(DomainError):
    def __init__(self, account_id: UUID) -> None:
        super().__init__(f"Account {account_id} is already frozen.")


class AccountNotFrozen(DomainError):
    def __init__(self, account_id: UUID) -> None:
        super().__init__(f"Account {account_id} is not frozen.")


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


class BalanceNotZero(DomainError):
    def __init__(self, balance: str) -> None:
        super().__init__(f"Only an account with a zero balance can be closed; the balance is {balance}.")


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
