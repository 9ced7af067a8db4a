"""seed_demo: demo users for every role and months of realistic activity, through real commands."""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.template.defaultfilters import pluralize
from django.utils import timezone
from tqdm import tqdm

from ledger import store
from ledger.domain import commands as c
from ledger.domain.errors import DomainError
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from projections.models import ProjectionStatus

DEMO_PASSWORD = "tally"  # noqa: S105 - development only; the command refuses to run with DEBUG off
FIRST = [
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
]
LAST = [
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
    "Borg",
    "van Rossum",
]
MEMOS = {
    "deposit": ["Salary", "Cash deposit", "Refund", "Interest", "Cheque"],
    "withdraw": ["ATM withdrawal", "Rent", "Groceries", "Utilities", "Card payment"],
    "transfer": ["Shared dinner", "Loan repayment", "Gift", "Invoice 2024-113", "Rent share"],
}
EXECUTED, REFUSED, SKIPPED = "executed", "refused", "skipped"
STOLEN = "Card reported stolen"  # a freeze that an unfreeze follows a few hours or days later


class Command(BaseCommand):
    help = (
        "Create demo users (teller, supervisor, auditor; password 'tally') and accounts with months "
        "of activity, through the real command path, every event recorded at a moment in the past. "
        "Refuses a ledger that holds events already unless told --if-empty (skip) or --add. "
        "Development only: refuses when DEBUG is off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts", type=int, default=40, help="Accounts to open, each with a first deposit (default 40)."
        )
        parser.add_argument(
            "--events",
            type=int,
            default=2000,
            help="Commands to run on them after that, each executed, refused by the rules or skipped (default 2000).",
        )
        parser.add_argument("--days", type=int, default=120, help="Days of history, up to now (default 120).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="If the ledger holds events already, seed nothing and exit 0 (make run uses it).",
        )
        parser.add_argument(
            "--add", action="store_true", help="Seed even if the ledger holds events already (the demo names repeat)."
        )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates users with a known password; it runs only with DJANGO_DEBUG=1.")
        if options["accounts"] < 2 or options["events"] < 0 or options["days"] < 1:
            raise CommandError("Use at least 2 accounts, 0 or more events and 1 or more days.")
        if options["if_empty"] and options["add"]:
            raise CommandError("--if-empty and --add contradict each other; give one of them.")
        head = store.head_position()
        if head and options["if_empty"]:
            self.create_users()
            self.stdout.write(
                f"The ledger holds events already (up to #{head}); nothing seeded. The demo users are in place."
            )
            return
        if head and not options["add"]:
            raise CommandError(
                f"The ledger holds events already (up to #{head}); seeding again would add another set of "
                "demo accounts with the same names. Run with --add to do that anyway, or --if-empty to "
                "seed only an empty ledger."
            )
        self.create_users()
        seeder = Seeder(random.Random(options["seed"]), options["days"])  # noqa: S311 - made-up demo data, from a seed
        with tqdm(
            total=options["accounts"] + options["events"], unit="cmd", desc="seed", file=self.stderr, disable=None
        ) as bar:
            seeder.run(options["accounts"], options["events"], bar.update)
        self.catch_up()
        done = seeder.outcomes
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {options['accounts']} accounts (each opened with a first deposit) and "
                f"{options['events']} command{pluralize(options['events'])} on them: {done[EXECUTED]} executed, "
                f"{done[REFUSED]} refused by the "
                f"rules (as in real life), {done[SKIPPED]} skipped (a transfer with no other account in its "
                f"currency). Log in as teller, supervisor or auditor with the password '{DEMO_PASSWORD}'."
            )
        )

    def create_users(self) -> None:
        for role in Role:
            user, created = User.objects.get_or_create(
                username=role.value, defaults={"first_name": role.value.title(), "email": f"{role.value}@tally.example"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role.value))

    def catch_up(self) -> None:
        """Bring the read models up to the seeded events, with a bar: on a big seed this is the long part."""
        with tqdm(
            total=events_behind(), unit="ev", unit_scale=True, desc="catch-up", file=self.stderr, disable=None
        ) as bar:
            report = runner.catch_up(progress=bar.update)
        if report.skipped:
            self.stdout.write(f"{', '.join(report.skipped)}: being caught up by a running worker instead.")
        for name, error in report.failed.items():
            self.stderr.write(self.style.ERROR(f"{name} stopped at a failing event: {error}"))


def events_behind() -> int:
    """Events after the lowest checkpoint (all of them before the first catch-up)."""
    lowest = ProjectionStatus.objects.order_by("tx_id", "position").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ledger_event WHERE (tx_id, position) > (%s::text::xid8, %s)",
            [str(lowest.tx_id if lowest else 0), lowest.position if lowest else 0],
        )
        return cursor.fetchone()[0]


class Seeder:
    """Plays the openings and the other commands at random moments of the last `days` days, in time
    order, each recorded at its moment: every one in the past, and each account's events in order."""

    def __init__(self, rng: random.Random, days: int) -> None:
        self.rng = rng
        self.end = timezone.now()
        self.start = self.end - timedelta(days=days)
        self.outcomes: Counter[str] = Counter({EXECUTED: 0, REFUSED: 0, SKIPPED: 0})
        self.opened: list[tuple[UUID, str]] = []

    def run(self, accounts: int, events: int, progress: Callable[[int], None]) -> None:
        seconds = (self.end - self.start).total_seconds()
        moments = sorted(self.start + timedelta(seconds=self.rng.uniform(0, seconds)) for _ in range(accounts + events))
        # A third of the accounts (two at least, to transfer between) are there from the start; the
        # others open along the way.
        first = max(2, accounts // 3)
        openings = set(range(first)) | set(self.rng.sample(range(first, len(moments)), accounts - first))
        plan: list[tuple[datetime, int, str, UUID | None]] = [
            (at, index, "open" if index in openings else "activity", None) for index, at in enumerate(moments)
        ]
        later = itertools.count(len(plan))  # tie-breakers for the unfreezes pushed into the (sorted) plan
        budget = events  # commands left to run after the openings, unfreezes included
        while plan:
            at, _, kind, account_id = heapq.heappop(plan)
            if kind == "activity" and not budget:
                continue  # the latest moments gave their place to unfreezes scheduled before them
            if kind == "open":
                self.open(at)
            elif kind == "unfreeze" and account_id is not None:
                self.outcomes[
                    self.execute(c.UnfreezeAccount(account_id=account_id, reason="New card issued"), "supervisor", at)
                ] += 1
            else:
                budget -= 1
                outcome, frozen = self.activity(at)
                self.outcomes[outcome] += 1
                due = at + timedelta(hours=self.rng.randint(1, 72)) if frozen else self.end
                if budget and due < self.end:  # an unfreeze still due in the future is not recorded
                    budget -= 1
                    heapq.heappush(plan, (due, next(later), "unfreeze", frozen))
            progress(1)

    def execute(self, command: c.Command, actor: str, at: datetime) -> str:
        try:
            execute(command, actor=actor, source="seed", recorded_at=at)
        except DomainError:
            return REFUSED
        return EXECUTED

    def open(self, at: datetime) -> None:
        account_id = uuid4()
        currency = self.rng.choices(["EUR", "USD", "GBP", "JPY"], weights=[6, 2, 1, 1])[0]
        owner = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
        limit = self.rng.choice([0, 0, 0, 50_000, 100_000]) if currency != "JPY" else 0
        self.execute(
            c.OpenAccount(account_id=account_id, owner=owner, currency=currency, overdraft_limit=limit), "teller", at
        )
        self.execute(
            c.Deposit(
                account_id=account_id,
                amount=self.amount(currency, 500, 5000),
                currency=currency,
                memo="Opening deposit",
            ),
            "teller",
            at,
        )
        self.opened.append((account_id, currency))

    def amount(self, currency: str, low: int, high: int) -> int:
        major = self.rng.randint(low, high)
        return major if currency == "JPY" else major * 100 + self.rng.choice([0, 0, 50, 99])

    def activity(self, at: datetime) -> tuple[str, UUID | None]:
        """One command on a random account: its outcome, and the account if it froze it for a while."""
        account_id, currency = self.rng.choice(self.opened)
        command, actor = self.pick(account_id, currency)
        if command is None:
            return SKIPPED, None
        outcome = self.execute(command, actor, at)
        for_a_while = isinstance(command, c.FreezeAccount) and command.reason == STOLEN
        return outcome, account_id if outcome == EXECUTED and for_a_while else None

    def pick(self, account_id: UUID, currency: str) -> tuple[c.Command | None, str]:
        roll = self.rng.random()
        scale = 150 if currency == "JPY" else 1
        if roll < 0.40:
            return c.Deposit(
                account_id=account_id,
                amount=self.amount(currency, 20 * scale, 2500 * scale),
                currency=currency,
                memo=self.rng.choice(MEMOS["deposit"]),
            ), "teller"
        if roll < 0.75:
            return c.Withdraw(
                account_id=account_id,
                amount=self.amount(currency, 10 * scale, 900 * scale),
                currency=currency,
                memo=self.rng.choice(MEMOS["withdraw"]),
            ), "teller"
        if roll < 0.97:
            peers = [a for a, cur in self.opened if cur == currency and a != account_id]
            if not peers:
                return None, "teller"
            return c.Transfer(
                account_id=account_id,
                to_account_id=self.rng.choice(peers),
                amount=self.amount(currency, 10 * scale, 700 * scale),
                currency=currency,
                memo=self.rng.choice(MEMOS["transfer"]),
            ), "teller"
        if roll < 0.995:
            return c.FreezeAccount(account_id=account_id, reason=STOLEN), "supervisor"
        return c.FreezeAccount(account_id=account_id, reason="Identity check pending"), "supervisor"
