"""rebuild_projections: drop read models and replay them from the first event, with progress."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from ledger import store
from projections import runner
from projections.models import ProjectionStatus
from projections.projectors import get_projectors


class Command(BaseCommand):
    help = (
        "Empty the named read models (all by default) and replay every event into them. The app keeps "
        "serving meanwhile, with a 'rebuilding' notice. An interrupted rebuild resumes where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Projections to rebuild (default: all).")
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Do not ask for confirmation.")
        parser.add_argument(
            "--restart", action="store_true", help="Start over even if an interrupted rebuild could be resumed."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=runner.REBUILD_BATCH_SIZE,
            help=f"Events per transaction (default {runner.REBUILD_BATCH_SIZE:,}).",
        )

    def handle(self, *args, **options):
        try:
            projectors = get_projectors(options["names"])
        except KeyError as exc:
            raise CommandError(exc.args[0]) from exc
        names = [p.name for p in projectors]
        runner.ensure_status_rows(projectors)
        resuming = (
            not options["restart"] and ProjectionStatus.objects.filter(name__in=names, rebuilding=False).count() == 0
        )
        if not resuming:
            if (
                options["interactive"]
                and input(f"This empties {', '.join(names)} and replays every event. Continue? [y/N] ").lower() != "y"
            ):
                raise CommandError("Rebuild cancelled.")
            try:
                runner.reset(names)
            except RuntimeError as exc:
                raise CommandError(f"{exc}. Stop the other runner or wait for it.") from exc
        else:
            self.stdout.write(f"Resuming the interrupted rebuild of {', '.join(names)}.")

        head = store.head_position()
        done = dict(ProjectionStatus.objects.filter(name__in=names).values_list("name", "position"))
        bars = {
            name: tqdm(
                total=head,
                initial=done[name],
                unit="ev",
                unit_scale=True,
                desc=name,
                position=i,
                file=self.stderr,
                disable=None,
            )
            for i, name in enumerate(names)
        }
        try:
            report = runner.catch_up_each(
                names,
                wait_seconds=30,
                batch_size=options["batch_size"],
                progress=lambda name, count: bars[name].update(count),
            )
        finally:
            for bar in bars.values():
                bar.close()
        if report.skipped:
            raise CommandError(f"{', '.join(report.skipped)} stayed busy in another runner; run this again")
        if report.failed:
            for name, error in report.failed.items():
                self.stderr.write(self.style.ERROR(f"{name}: {error}"))
            raise CommandError("rebuild stopped at a failing event; fix it and run this again to resume")
        # The rebuilt tables are all new rows (and, from the summary's updates span by span, dead ones):
        # tidied and measured now, the screens' queries are planned from their real size even where
        # autovacuum is off or far behind, instead of from the statistics of the emptied tables.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(t for p in projectors for t in p.tables)}")
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {', '.join(names)} from {report.applied} events."))
