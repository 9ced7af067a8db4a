"""verify_projections: replay every event in memory and compare with the read-model tables."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from projections.projectors import get_projectors
from projections.verify import verify_all

MAX_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Replay all events in memory and compare with each read model's tables. Prints every "
        "difference; exits non-zero if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Projections to verify (default: all).")

    def handle(self, *args, **options):
        try:
            projectors = get_projectors(options["names"])
        except KeyError as exc:
            raise CommandError(exc.args[0]) from exc
        total = 0
        for verdict in verify_all(projectors):  # one reading of the log for all of them
            total += len(verdict.differences)
            if not verdict.differences:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{verdict.name}: OK ({verdict.rows} row{pluralize(verdict.rows)} "
                        f"{'matches' if verdict.rows == 1 else 'match'} a replay of "
                        f"{verdict.events} event{pluralize(verdict.events)})"
                    )
                )
                continue
            found = len(verdict.differences)
            self.stdout.write(self.style.ERROR(f"{verdict.name}: {found} difference{pluralize(found)}"))
            for diff in verdict.differences[:MAX_SHOWN]:
                if diff.actual is None:
                    self.stdout.write(f"  missing  {diff.key}: expected {diff.expected}")
                elif diff.expected is None:
                    self.stdout.write(f"  extra    {diff.key}: table has {diff.actual}")
                else:
                    self.stdout.write(
                        f"  differs  {diff.key}:\n    expected {diff.expected}\n    table    {diff.actual}"
                    )
            if len(verdict.differences) > MAX_SHOWN:
                self.stdout.write(f"  ... and {len(verdict.differences) - MAX_SHOWN} more")
        if total:
            raise CommandError(f"{total} difference{pluralize(total)} between the read models and the events")
