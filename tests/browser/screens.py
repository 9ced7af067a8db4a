"""A ledger with something on every screen, and logged-in pages for each role and width, made once per
test module: the accessibility, narrow-screen and screenshot tests visit every screen with them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from ledger import standing_orders, store
from ledger.domain import commands as c
from ledger.domain import standing_order as so
from ledger.domain.events import MoneyDeposited
from ledger.domain.money import MAX_AMOUNT, MAX_BALANCE
from ledger.execute import execute, load_account
from ledger.roles import Role
from ledger.store.serialization import event_to_payload
from projections.runner import catch_up
from tests.browser.helpers import DESKTOP, PHONE
from tests.write.helpers import open_account, request_approval

# The largest figures the domain allows: 999,999,999.99 EUR (one movement just below the limit) and
# the JPY account at the largest balance, 1,000,000,000,000,000 JPY.
LARGEST_EUR = MAX_AMOUNT - 1


@dataclass
class Ledger:
    """The accounts and records the screens show."""

    rich: UUID  # EUR, 999,999,999.99, with a statement, a standing order, a reversible deposit
    poor: UUID  # EUR, the other side of transfers and standing orders
    frozen: UUID
    closed: UUID  # closed, its customer not yet forgotten
    forgotten: UUID  # closed, its customer forgotten: "(erased)" where the name was, on both sides of a transfer
    yen: UUID  # JPY at MAX_BALANCE
    yen_debt: UUID  # JPY overdrawn by the largest amount
    reversible: int  # position of a deposit on `rich` that a supervisor may reverse
    receipt: UUID  # the command id of the largest deposit on `rich`
    request_id: UUID
    order_id: UUID
    users: dict[str, str] = field(default_factory=dict)


def deposit_straight_into_the_store(account_id: UUID, amount: int) -> None:
    """A balance of MAX_BALANCE takes 10,000 deposits of the largest amount; only the figure matters
    here, so one deposit of it is appended as the write side would record it, without the rule on a
    movement's size."""
    account = load_account(account_id)
    event = MoneyDeposited(
        account_id=account_id, amount=amount, currency=account.currency, memo="Given, for the display"
    )
    store.append(
        [
            store.NewEvent(
                event_id=uuid4(),
                stream_id=account_id,
                stream_type="account",
                version=account.version + 1,
                type=event.type_name,
                schema_version=event.schema_version,
                data=event_to_payload(event),
                metadata={"actor": "test", "command_id": str(uuid4()), "source": "test"},
            )
        ]
    )


def make_users() -> dict[str, str]:
    """A user of each role, and an operator (a superuser)."""
    made = {}
    for role in Role:
        user, _ = User.objects.get_or_create(username=f"screens-{role.value}")
        user.groups.add(Group.objects.get(name=role.value))
        made[role.value] = user.username
    operator, _ = User.objects.get_or_create(username="screens-operator")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    made["operator"] = operator.username
    return made


def make_ledger() -> Ledger:
    users = make_users()
    # Ends at exactly 999,999,999.99 EUR, after a transfer out and a deposit to reverse.
    rich = open_account(balance=5_525, owner="Ada Wide-Figures", overdraft_limit=50_000)
    poor = open_account(balance=12_345, owner="Bob Narrow")
    execute(c.Transfer(account_id=rich, to_account_id=poor, amount=7_525, currency="EUR", memo="Rent"), actor="teller")
    reversible = execute(c.Deposit(account_id=rich, amount=2_000, currency="EUR", memo="Paid in twice"), actor="teller")
    largest = execute(c.Deposit(account_id=rich, amount=LARGEST_EUR, currency="EUR", memo="Lottery"), actor="teller")
    frozen = open_account(balance=5_000, owner="Cleo Frozen")
    execute(c.FreezeAccount(account_id=frozen, reason="Card reported stolen"), actor="supervisor")
    closed = open_account(owner="Fay Closed")
    execute(c.CloseAccount(account_id=closed, reason="Moved abroad"), actor="supervisor")
    forgotten = open_account(balance=1_000, owner="Gus Forgotten")
    execute(c.Transfer(account_id=forgotten, to_account_id=poor, amount=1_000, currency="EUR"), actor="teller")
    execute(c.CloseAccount(account_id=forgotten, reason="Moved abroad"), actor="supervisor")
    # Straight to execute(): the retention period is the form's check (ledger/forgetting.py).
    execute(c.ForgetCustomer(account_id=forgotten, reason="Erasure request"), actor="supervisor")
    yen = open_account(currency="JPY", owner="Daichi Largest-Yen")
    execute(c.Deposit(account_id=yen, amount=MAX_AMOUNT, currency="JPY"), actor="teller")
    deposit_straight_into_the_store(yen, MAX_BALANCE - MAX_AMOUNT)
    yen_debt = open_account(currency="JPY", owner="Emi Overdrawn", overdraft_limit=MAX_AMOUNT)
    execute(c.Withdraw(account_id=yen_debt, amount=MAX_AMOUNT, currency="JPY"), actor="supervisor")
    request_id, _ = request_approval(rich, 1_500_000, to=poor, actor="screens-teller", memo="New car")
    order = so.SetUpStandingOrder(
        account_id=rich,
        to_account_id=poor,
        amount=10_000,
        currency="EUR",
        interval=so.Interval.MONTHLY,
        start_date=standing_orders.today(),
        end_date=date(standing_orders.today().year + 2, 12, 31),
        memo="Pocket money",
        set_up_by="screens-teller",
        today=standing_orders.today(),
    )
    standing_orders.set_up(order, actor="screens-teller")
    catch_up(wait_seconds=5)
    return Ledger(
        rich=rich,
        poor=poor,
        frozen=frozen,
        closed=closed,
        forgotten=forgotten,
        yen=yen,
        yen_debt=yen_debt,
        reversible=reversible.position,
        receipt=largest.command_id,
        request_id=request_id,
        order_id=order.command_id,
        users=users,
    )


def sessions(users: dict[str, str]) -> dict[str, str]:
    """A signed-in session for each user, made on the server's side: the pages start signed in
    rather than each filling in the log-in form (ten log-ins, a good part of the module's time)."""
    made = {}
    for who, username in users.items():
        client = Client()
        client.force_login(User.objects.get(username=username))
        made[who] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return made


class Pages:
    """One page per (user, width), signed in and kept for the module."""

    def __init__(self, browser, base_url: str, sessions: dict[str, str]) -> None:
        self.browser, self.base_url, self.sessions = browser, base_url, sessions
        self.open: dict[tuple[str, str], object] = {}
        self.contexts: list = []

    def __call__(self, who: str, width: str):
        if (who, width) not in self.open:
            context = self.browser.new_context(viewport=PHONE if width == "390" else DESKTOP)
            context.set_default_timeout(15_000)
            if who != "anonymous":
                cookie = {"name": settings.SESSION_COOKIE_NAME, "value": self.sessions[who], "url": self.base_url}
                context.add_cookies([cookie])
            self.contexts.append(context)
            self.open[(who, width)] = context.new_page()
        return self.open[(who, width)]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@dataclass(frozen=True)
class Screen:
    name: str
    who: str  # a role's value, "operator" or "anonymous"
    show: Callable  # (page, base_url, ledger) -> None: brings the page to the screen

    def __str__(self) -> str:
        return self.name


def goto(path: str) -> Callable:
    def show(page, base: str, ledger: Ledger) -> None:
        page.goto(base + path.format(ledger=ledger))

    return show


def task_form(task: str, account: str = "rich") -> Callable:
    def show(page, base: str, ledger: Ledger) -> None:
        page.goto(f"{base}/accounts/{getattr(ledger, account)}/")
        page.click(f"a[data-task={task}]")
        page.wait_for_selector("#task-form")

    return show


def confirmation(task: str, amount: str, *, on_its_own_page: bool = False) -> Callable:
    """The step before a transfer (to `poor`) or a large movement is recorded: the form filled in
    and sent, in the account page's panel or on the task's own page."""

    def show(page, base: str, ledger: Ledger) -> None:
        if on_its_own_page:
            page.goto(f"{base}/accounts/{ledger.rich}/tasks/{task}/")
        else:
            task_form(task)(page, base, ledger)
        if task == "transfer":
            page.fill("#id_to_account", str(ledger.poor))
        page.fill("#id_amount", amount)
        with page.expect_response(lambda response: response.request.method == "POST"):
            page.click("#task-form button[type=submit]")
        page.wait_for_selector("[data-testid=confirm-button]")

    return show


SCREENS = [
    Screen("log-in", "anonymous", goto("/login/")),
    Screen("dashboard", "supervisor", goto("/")),
    Screen("accounts", "supervisor", goto("/accounts/")),
    Screen("account", "supervisor", goto("/accounts/{ledger.rich}/")),
    Screen("account-yen", "supervisor", goto("/accounts/{ledger.yen}/")),
    Screen("account-yen-overdrawn", "supervisor", goto("/accounts/{ledger.yen_debt}/")),
    *(
        Screen(f"task-{task}", "supervisor", task_form(task))
        for task in ("deposit", "withdraw", "transfer", "freeze", "close")
    ),
    Screen("task-unfreeze", "supervisor", task_form("unfreeze", "frozen")),
    # On its own page: the account page offers it only once the retention period is over.
    Screen("task-forget", "supervisor", goto("/accounts/{ledger.closed}/tasks/forget/")),
    Screen("account-forgotten", "supervisor", goto("/accounts/{ledger.forgotten}/")),
    Screen("transfer-confirmation", "supervisor", confirmation("transfer", "999,999.99")),
    Screen("transfer-confirmation-page", "supervisor", confirmation("transfer", "12.50", on_its_own_page=True)),
    Screen("large-withdrawal-confirmation", "teller", confirmation("withdraw", "25,000.00")),
    Screen("receipt", "teller", goto("/receipts/{ledger.receipt}/")),
    Screen("open-account", "teller", goto("/accounts/open/")),
    Screen("as-of", "supervisor", goto("/accounts/{ledger.rich}/as-of/")),
    Screen("read-side", "supervisor", goto("/projections/")),
    Screen("approvals", "supervisor", goto("/approvals/")),
    Screen("approval-request", "supervisor", goto("/approvals/{ledger.request_id}/")),
    Screen("standing-orders", "teller", goto("/accounts/{ledger.rich}/standing-orders/")),
    Screen("standing-order", "teller", goto("/accounts/{ledger.rich}/standing-orders/{ledger.order_id}/")),
    Screen("standing-order-new", "teller", goto("/accounts/{ledger.rich}/standing-orders/new/")),
    Screen("reversal", "supervisor", goto("/accounts/{ledger.rich}/movements/{ledger.reversible}/reverse/")),
    Screen("admin-events", "auditor", goto("/admin/ledger/event/")),
    Screen("admin-event", "auditor", goto("/admin/ledger/event/{ledger.reversible}/change/")),
    Screen("admin-stream", "auditor", goto("/admin/ledger/event/stream/{ledger.rich}/")),
    Screen("admin-projection-status", "operator", goto("/admin/projections/projectionstatus/")),
    Screen("forbidden", "teller", goto("/approvals/")),
]
