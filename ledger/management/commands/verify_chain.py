"""verify_chain: re-compute the events' hash chain and name the first event that does not match."""

from __future__ import annotations

from uuid import UUID

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize
from tqdm import tqdm

from ledger.store.chain import verify_chain

MAX_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Re-compute every event's hash from its content and its predecessor's hash, as the database "
        "computed it when the event was appended, and name the first event that does not match "
        "(exit status 1). --stream checks one stream."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stream", type=UUID, help="check only this stream (its id)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        stream = options["stream"]
        with tqdm(
            unit=" events", unit_scale=True, desc="checking the chain", disable=options["no_progress"] or None
        ) as bar:

            def advance(position: int) -> None:
                bar.update(position - bar.n)

            verdict = verify_chain(stream, progress=None if stream else advance)
        what = f"stream {stream}" if stream else "the log"
        if not verdict.broken:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{verdict.checked:,} event{pluralize(verdict.checked)} of {what} checked: every hash matches "
                    "its event and chains to the one before."
                )
            )
            return
        found = len(verdict.broken)
        self.stdout.write(self.style.ERROR(f"The first that does not match: {verdict.broken[0].describe()}"))
        for broken in verdict.broken[1:MAX_SHOWN]:
            self.stdout.write(f"  also {broken.describe()}")
        if found > MAX_SHOWN:
            self.stdout.write(f"  ... and {found - MAX_SHOWN} more")
        raise CommandError(f"{found} of {verdict.checked:,} events do not match their hash chain")
