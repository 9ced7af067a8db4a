"""The task table: which tasks exist on an account, their forms and labels, the account states in
which each makes sense, and which of them a user may see offered (roles are in ledger.roles)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import forms
from ledger.domain.account import Status
from ledger.roles import AnyUser, Task, may_perform


@dataclass(frozen=True)
class TaskSpec:
    form: type[forms.AccountTaskForm]
    title: str
    button: str
    allowed_in: frozenset[Status]  # account states in which the task makes sense
    danger: bool = False


ACCOUNT_TASKS: dict[Task, TaskSpec] = {
    Task.DEPOSIT: TaskSpec(forms.DepositForm, "Deposit", "Deposit", frozenset({Status.OPEN, Status.FROZEN})),
    Task.WITHDRAW: TaskSpec(forms.WithdrawForm, "Withdraw", "Withdraw", frozenset({Status.OPEN})),
    Task.TRANSFER: TaskSpec(forms.TransferForm, "Transfer", "Transfer", frozenset({Status.OPEN})),
    Task.FREEZE: TaskSpec(forms.FreezeForm, "Freeze account", "Freeze", frozenset({Status.OPEN}), danger=True),
    Task.UNFREEZE: TaskSpec(forms.UnfreezeForm, "Unfreeze account", "Unfreeze", frozenset({Status.FROZEN})),
    Task.CLOSE: TaskSpec(
        forms.CloseForm, "Close account", "Close account", frozenset({Status.OPEN, Status.FROZEN}), danger=True
    ),
    Task.FORGET: TaskSpec(
        forms.ForgetForm, "Forget customer", "Forget customer", frozenset({Status.CLOSED}), danger=True
    ),
}


def tasks_for(user: AnyUser, account_status: str, *, forgettable: bool = False) -> list[tuple[Task, TaskSpec]]:
    """The tasks the account's state and the user's role allow, for the account page. Forgetting the
    customer only when `forgettable`: not yet forgotten, and the retention period over (ledger/forgetting.py)."""
    status = Status(account_status)
    return [
        (task, spec)
        for task, spec in ACCOUNT_TASKS.items()
        if status in spec.allowed_in and may_perform(user, task) and (forgettable or task is not Task.FORGET)
    ]
