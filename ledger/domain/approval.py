"""The approval request: a large withdrawal or transfer waiting for a second person (four eyes).

A request is a stream of its own (type "approval", id = the request's command id): requested →
approved / rejected / expired → settled (the movement's outcome, or the hold given back). Its one
concurrency rule is the event store's: two decisions on one request race for the same version, so
exactly one of them is recorded. The money side (the hold on the account, the movement) is the
Account's, in ledger/domain/account.py.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from ledger.domain import account as accounts
from ledger.domain import commands as c
from ledger.domain import errors
from ledger.domain import events as e
from ledger.domain.dates import moment_text
from ledger.domain.money import format_money

STREAM_TYPE = "approval"

# A field whose value is the moment the command was made, not what it asks for: a resubmitted
# form (the same command id, a second later) is the same command (see ledger.execute.fingerprint).
NOT_FINGERPRINTED = {"fingerprint": False}


class RequestStatus(enum.StrEnum):
    NEW = "new"  # nothing recorded yet
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Outcome(enum.StrEnum):
    EXECUTED = "executed"  # approved, and the movement was made
    FAILED = "failed"  # approved, but the movement was refused by a rule (the hold was given back)
    RELEASED = "released"  # rejected or expired: the hold was given back


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalEvent:
    """Every event of a request's stream; `request_id` is that stream's id."""

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    request_id: UUID


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalRequested(ApprovalEvent):
    type_name = "ApprovalRequested"

    account_id: UUID
    to_account_id: UUID | None = None  # None: a withdrawal
    amount: int
    currency: str
    memo: str = ""
    requested_by: str
    requested_at: str  # ISO 8601, from the one clock (ledger/clock.py)
    expires_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalGranted(ApprovalEvent):
    type_name = "ApprovalGranted"

    decided_by: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalRejected(ApprovalEvent):
    type_name = "ApprovalRejected"

    decided_by: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalExpired(ApprovalEvent):
    type_name = "ApprovalExpired"

    expired_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalSettled(ApprovalEvent):
    """What came of the decision, recorded by the process manager once it acted."""

    type_name = "ApprovalSettled"

    outcome: str  # an Outcome
    detail: str = ""  # why a movement failed


APPROVAL_EVENT_TYPES: dict[str, type[ApprovalEvent]] = {
    cls.type_name: cls
    for cls in (ApprovalRequested, ApprovalGranted, ApprovalRejected, ApprovalExpired, ApprovalSettled)
}


# --- commands (account_id: the account the request is about) ------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestApproval(c.Command):
    """A teller's withdrawal (`to_account_id` None) or transfer at or above the threshold. The
    request's id is the command id."""

    to_account_id: UUID | None = None
    amount: int
    currency: str
    memo: str = ""
    requested_by: str
    requested_at: datetime = field(metadata=NOT_FINGERPRINTED)
    expires_at: datetime = field(metadata=NOT_FINGERPRINTED)


@dataclass(frozen=True, kw_only=True, slots=True)
class DecideRequest(c.Command):
    request_id: UUID
    decided_by: str
    reason: str
    decided_at: datetime = field(metadata=NOT_FINGERPRINTED)


@dataclass(frozen=True, kw_only=True, slots=True)
class ApproveRequest(DecideRequest):
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class RejectRequest(DecideRequest):
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class ExpireRequest(c.Command):
    request_id: UUID
    at: datetime = field(metadata=NOT_FINGERPRINTED)


@dataclass(frozen=True, kw_only=True, slots=True)
class SettleRequest(c.Command):
    request_id: UUID
    outcome: Outcome
    detail: str = ""


RequestCommand = RequestApproval | DecideRequest | ExpireRequest | SettleRequest


# --- errors -------------------------------------------------------------------------------------


class RequestNotFound(errors.DomainError):
    def __init__(self, request_id: UUID) -> None:
        super().__init__(f"There is no approval request {request_id} for this account.")


def _utc(moment: datetime) -> str:
    return moment_text(moment.astimezone(UTC))  # the one clock's zone; screens show theirs


class RequestNotPending(errors.DomainError):
    def __init__(self, status: RequestStatus) -> None:
        super().__init__(f"This request is no longer waiting for a decision: it was {status.value}.")


class RequestExpired(errors.DomainError):
    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"This request expired at {_utc(expires_at)}; the held money is given back.")


class RequestNotDue(errors.DomainError):
    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"This request does not expire before {_utc(expires_at)}.")


class OwnRequest(errors.DomainError):
    """Four eyes: whoever asked for a movement cannot also decide it, whatever their role."""

    def __init__(self) -> None:
        super().__init__("You made this request, so someone else must decide it.")


class AlreadySettled(errors.DomainError):
    def __init__(self, outcome: str) -> None:
        super().__init__(f"This request's outcome is already recorded: {outcome}.")


class NotDecided(errors.DomainError):
    def __init__(self) -> None:
        super().__init__("This request has not been decided yet.")


NEVER = datetime.min.replace(tzinfo=UTC)

# --- state --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    id: UUID
    version: int = 0
    status: RequestStatus = RequestStatus.NEW
    account_id: UUID | None = None
    to_account_id: UUID | None = None
    amount: int = 0
    currency: str = ""
    memo: str = ""
    requested_by: str = ""
    expires_at: datetime = NEVER  # set when requested
    outcome: str = ""  # an Outcome once settled

    def money(self) -> str:
        return format_money(self.amount, self.currency)


def _requested(r: Request, ev: ApprovalRequested) -> Request:
    return replace(
        r,
        status=RequestStatus.PENDING,
        account_id=ev.account_id,
        to_account_id=ev.to_account_id,
        amount=ev.amount,
        currency=ev.currency,
        memo=ev.memo,
        requested_by=ev.requested_by,
        expires_at=datetime.fromisoformat(ev.expires_at),
    )


_EVOLVERS: dict[type[ApprovalEvent], Callable[[Request, Any], Request]] = {
    ApprovalRequested: _requested,
    ApprovalGranted: lambda r, ev: replace(r, status=RequestStatus.APPROVED),
    ApprovalRejected: lambda r, ev: replace(r, status=RequestStatus.REJECTED),
    ApprovalExpired: lambda r, ev: replace(r, status=RequestStatus.EXPIRED),
    ApprovalSettled: lambda r, ev: replace(r, outcome=ev.outcome),
}


def evolve(request: Request, event: ApprovalEvent) -> Request:
    try:
        handler = _EVOLVERS[type(event)]
    except KeyError:
        raise TypeError(f"Request has no handler for {type(event).__name__}") from None
    return replace(handler(request, event), version=request.version + 1)


# --- decide -------------------------------------------------------------------------------------


def _state[T](states: Mapping[UUID, object], stream_id: UUID, kind: type[T]) -> T:
    state = states[stream_id]
    if not isinstance(state, kind):  # streams.blank gives each stream its kind; this is a bug guard
        raise TypeError(f"stream {stream_id} is not a {kind.__name__}")
    return state


def request_id_of(command: RequestCommand) -> UUID:
    return command.command_id if isinstance(command, RequestApproval) else command.request_id


def streams_of(command: RequestCommand) -> list[UUID]:
    if isinstance(command, RequestApproval):
        targets = [command.to_account_id] if command.to_account_id else []
        return [command.command_id, command.account_id, *targets]
    return [command.request_id]


def decide(command: RequestCommand, states: Mapping[UUID, object]) -> list[e.AccountEvent | ApprovalEvent]:
    request = _state(states, request_id_of(command), Request)
    if isinstance(command, RequestApproval):
        return decide_request(request, states, command)
    if request.status is RequestStatus.NEW or request.account_id != command.account_id:
        raise RequestNotFound(request.id)
    if isinstance(command, DecideRequest):
        return [decide_decision(request, command)]
    if isinstance(command, ExpireRequest):
        return [decide_expire(request, command)]
    return [decide_settle(request, command)]


def decide_request(
    request: Request, states: Mapping[UUID, object], cmd: RequestApproval
) -> list[e.AccountEvent | ApprovalEvent]:
    """Refused now for anything the movement itself would be refused for; then the money is held."""
    source = _state(states, cmd.account_id, accounts.Account)
    if request.status is not RequestStatus.NEW:  # a fresh command id names a fresh stream
        raise RequestNotPending(request.status)
    if cmd.expires_at <= cmd.requested_at:
        raise ValueError("a request must expire after it was made")
    movement: c.Command
    if cmd.to_account_id is None:
        movement = c.Withdraw(account_id=source.id, amount=cmd.amount, currency=cmd.currency, memo=cmd.memo)
        accounts.decide_withdraw(source, movement)
    else:
        target = _state(states, cmd.to_account_id, accounts.Account)
        movement = c.Transfer(
            account_id=source.id, to_account_id=target.id, amount=cmd.amount, currency=cmd.currency, memo=cmd.memo
        )
        accounts.decide_transfer(source, target, movement)
    held = accounts.decide_hold(source, hold_id=request.id, amount=cmd.amount, currency=cmd.currency)
    requested = ApprovalRequested(
        request_id=request.id,
        account_id=source.id,
        to_account_id=cmd.to_account_id,
        amount=cmd.amount,
        currency=source.currency,
        memo=accounts._note(cmd.memo, field="memo"),
        requested_by=cmd.requested_by,
        requested_at=cmd.requested_at.isoformat(),
        expires_at=cmd.expires_at.isoformat(),
    )
    return [requested, held]


def _reason(text: str) -> str:
    reason = accounts._note(text, field="reason")
    if not reason:
        raise errors.InvalidText("Say why: the reason is kept with the decision.", field="reason")
    return reason


def decide_decision(request: Request, cmd: DecideRequest) -> ApprovalEvent:
    if request.status is not RequestStatus.PENDING:
        raise RequestNotPending(request.status)
    if cmd.decided_by == request.requested_by:
        raise OwnRequest()
    reason = _reason(cmd.reason)
    if isinstance(cmd, ApproveRequest):
        if cmd.decided_at >= request.expires_at:  # the deadline holds even before the sweep marks it
            raise RequestExpired(request.expires_at)
        return ApprovalGranted(request_id=request.id, decided_by=cmd.decided_by, reason=reason)
    return ApprovalRejected(request_id=request.id, decided_by=cmd.decided_by, reason=reason)


def decide_expire(request: Request, cmd: ExpireRequest) -> ApprovalEvent:
    if request.status is not RequestStatus.PENDING:
        raise RequestNotPending(request.status)
    if cmd.at < request.expires_at:
        raise RequestNotDue(request.expires_at)
    return ApprovalExpired(request_id=request.id, expired_at=cmd.at.isoformat())


def decide_settle(request: Request, cmd: SettleRequest) -> ApprovalEvent:
    if request.outcome:
        raise AlreadySettled(request.outcome)
    if request.status is RequestStatus.PENDING:
        raise NotDecided()
    return ApprovalSettled(request_id=request.id, outcome=cmd.outcome.value, detail=cmd.detail[:200])
