"""run_projections: the projection runner in the foreground, without Celery."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from projections import runner


class Command(BaseCommand):
    help = "Keep the read models up to date in the foreground (no Celery needed). Ctrl-C stops it."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Projections to run (default: all).")
        parser.add_argument("--once", action="store_true", help="Catch up to the end of the log, then exit.")
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Seconds to wait between polls when caught up (default 0.5)."
        )

    def handle(self, *args, **options):
        try:
            while True:
                report = runner.catch_up(options["names"] or None)
                if report.applied or report.failed:
                    self.stdout.write(
                        f"applied {report.applied} event{pluralize(report.applied)} "
                        f"in {report.batches} batch{pluralize(report.batches, 'es')}"
                    )
                for name, error in report.failed.items():
                    self.stderr.write(self.style.ERROR(f"{name} stopped at a failing event: {error}"))
                if report.skipped:
                    self.stdout.write(f"busy in another runner: {', '.join(report.skipped)}")
                if options["once"]:
                    if report.failed:
                        raise CommandError("some projections failed; see projection status")
                    return
                time.sleep(options["interval"])
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from exc
        except KeyboardInterrupt:
            self.stdout.write("stopped")
