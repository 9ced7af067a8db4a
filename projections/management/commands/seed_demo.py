"""seed_demo: demo users for every role and months of realistic activity, through real commands."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from ledger.domain import commands as c
from ledger.domain.errors import DomainError
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from projections.models import AccountSummary

DEMO_PASSWORD = "tally"  # noqa: S105 - development only; the command refuses to run with DEBUG off
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "John",
         "Radia", "Tim", "Hedy", "Dennis", "Katherine", "Niklaus", "Sophie", "Linus", "Anita", "Guido"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen",
        "McCarthy", "Perlman", "Berners-Lee", "Lamarr", "Ritchie", "Johnson", "Wirth", "Wilson", "Torvalds",
        "Borg", "van Rossum"]
MEMOS = {
    "deposit": ["Salary", "Cash deposit", "Refund", "Interest", "Cheque"],
    "withdraw": ["ATM withdrawal", "Rent", "Groceries", "Utilities", "Card payment"],
    "transfer": ["Shared dinner", "Loan repayment", "Gift", "Invoice 2024-113", "Rent share"],
}


class Command(BaseCommand):
    help = ("Create demo users (teller, supervisor, auditor; password 'tally') and accounts with months "
            "of activity, through the real command path. Development only: refuses when DEBUG is off.")

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=40, help="Accounts to open (default 40).")
        parser.add_argument("--events", type=int, default=2000, help="Commands to execute (default 2000).")
        parser.add_argument("--days", type=int, default=120, help="Days of history (default 120).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if there are accounts already.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates users with a known password; it runs only with DJANGO_DEBUG=1.")
        if options["accounts"] < 2 or options["events"] < 0 or options["days"] < 1:
            raise CommandError("Use at least 2 accounts, 0 or more events and 1 or more days.")
        self.create_users()
        if options["if_empty"] and AccountSummary.objects.exists():
            self.stdout.write("Accounts exist already; nothing seeded.")
            return
        rng = random.Random(options["seed"])
        seeder = Seeder(rng, options["days"])
        total = options["accounts"] + options["events"]
        with tqdm(total=total, unit="cmd", desc="seed", file=self.stderr, disable=None) as bar:
            seeder.run(options["accounts"], options["events"], bar.update)
        runner.catch_up()
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {options['accounts']} accounts and {seeder.executed} commands "
            f"({seeder.refused} refused by the rules, as in real life). Log in as teller, supervisor or "
            f"auditor with the password '{DEMO_PASSWORD}'."))

    def create_users(self) -> None:
        for role in Role:
            user, created = User.objects.get_or_create(username=role.value, defaults={
                "first_name": role.value.title(), "email": f"{role.value}@tally.example"})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role.value))


class Seeder:
    def __init__(self, rng: random.Random, days: int) -> None:
        self.rng, self.days = rng, days
        self.start = timezone.now() - timedelta(days=days)
        self.executed = self.refused = 0

    def run(self, accounts: int, events: int, progress) -> None:  # noqa: ANN001
        moments = sorted(self.start + timedelta(seconds=self.rng.uniform(0, self.days * 86400))
                         for _ in range(accounts + events))
        # Open a third of the accounts in the first week, the rest along the way.
        opening = sorted(self.rng.sample(range(len(moments)), accounts - accounts // 3))
        opened: list[tuple[UUID, str]] = []
        for index, at in enumerate(moments):
            if index < accounts // 3 or (opening and opening[0] == index) or len(opened) < 2:
                if opening and opening[0] == index:
                    opening.pop(0)
                opened.append(self.open(at))
            else:
                self.activity(opened, at)
            progress(1)

    def execute(self, command: c.Command, actor: str, at) -> bool:  # noqa: ANN001
        try:
            execute(command, actor=actor, source="seed", recorded_at=at)
            self.executed += 1
            return True
        except DomainError:
            self.refused += 1
            return False

    def open(self, at) -> tuple[UUID, str]:  # noqa: ANN001
        account_id = uuid4()
        currency = self.rng.choices(["EUR", "USD", "GBP", "JPY"], weights=[6, 2, 1, 1])[0]
        owner = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
        limit = self.rng.choice([0, 0, 0, 50_000, 100_000]) if currency != "JPY" else 0
        self.execute(c.OpenAccount(account_id=account_id, owner=owner, currency=currency,
                                   overdraft_limit=limit), "teller", at)
        self.execute(c.Deposit(account_id=account_id, amount=self.amount(currency, 500, 5000),
                               currency=currency, memo="Opening deposit"), "teller", at)
        return account_id, currency

    def amount(self, currency: str, low: int, high: int) -> int:
        major = self.rng.randint(low, high)
        return major if currency == "JPY" else major * 100 + self.rng.choice([0, 0, 50, 99])

    def activity(self, opened: list[tuple[UUID, str]], at) -> None:  # noqa: ANN001
        account_id, currency = self.rng.choice(opened)
        roll = self.rng.random()
        scale = 150 if currency == "JPY" else 1
        if roll < 0.40:
            self.execute(c.Deposit(account_id=account_id, amount=self.amount(currency, 20 * scale, 2500 * scale),
                                   currency=currency, memo=self.rng.choice(MEMOS["deposit"])), "teller", at)
        elif roll < 0.75:
            self.execute(c.Withdraw(account_id=account_id, amount=self.amount(currency, 10 * scale, 900 * scale),
                                    currency=currency, memo=self.rng.choice(MEMOS["withdraw"])), "teller", at)
        elif roll < 0.97:
            peers = [a for a, cur in opened if cur == currency and a != account_id]
            if peers:
                self.execute(c.Transfer(account_id=account_id, to_account_id=self.rng.choice(peers),
                                        amount=self.amount(currency, 10 * scale, 700 * scale), currency=currency,
                                        memo=self.rng.choice(MEMOS["transfer"])), "teller", at)
        elif roll < 0.995:
            if self.execute(c.FreezeAccount(account_id=account_id, reason="Card reported stolen"), "supervisor", at):
                self.execute(c.UnfreezeAccount(account_id=account_id, reason="New card issued"), "supervisor",
                             at + timedelta(hours=self.rng.randint(1, 72)))
        else:
            self.execute(c.FreezeAccount(account_id=account_id, reason="Identity check pending"), "supervisor", at)
