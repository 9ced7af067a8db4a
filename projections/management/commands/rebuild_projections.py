"""rebuild_projections: build read models anew beside the live ones, check them, swap them in."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.template.defaultfilters import pluralize
from tqdm import tqdm

from ledger import store
from projections import bluegreen, partitions, runner
from projections.models import ProjectionStatus
from projections.projectors import get_projectors

BACKGROUND_NICENESS = 10  # os.nice: below every process started at the default priority


class Command(BaseCommand):
    help = (
        "Rebuild the named read models (all by default) blue/green: new tables are filled from the first "
        "event beside the live ones, caught up, checked against a replay of the events and only then swapped "
        "in, in one short transaction. The screens keep reading the complete live tables throughout. An "
        "interrupted rebuild resumes where it stopped; the replaced tables are kept for --rollback."
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
        parser.add_argument(
            "--rollback",
            action="store_true",
            help="Return to the tables the last rebuild replaced (caught up with the log first) instead of rebuilding.",
        )
        parser.add_argument(
            "--outdated",
            action="store_true",
            help="Only the projections whose tables were built by another version of their projector (for deploys).",
        )
        parser.add_argument(
            "--pace",
            type=float,
            default=None,
            help="Share of the time a blue/green rebuild works, resting between batches so that the screens keep the "
            "machine (default TALLY_REBUILD_PACE, 0.5); 1 goes flat out, the projections side by side.",
        )
        parser.add_argument(
            "--in-place",
            action="store_true",
            help="Empty the live tables and replay into them: only for an empty or development database, since "
            "the screens show partial figures until it ends.",
        )

    def handle(self, *args, **options):
        names = options["names"]
        if options["pace"] is not None and not 0 < options["pace"] <= 1:
            raise CommandError("--pace is the share of the time the rebuild works: more than 0, at most 1.")
        try:
            if options["outdated"]:
                names = [n for n in bluegreen.outdated() if not names or n in names]
                if not names:
                    self.stdout.write("Every projection's tables were built by its current version: nothing to do.")
                    return
            names = [p.name for p in get_projectors(names)]
        except KeyError as exc:
            raise CommandError(exc.args[0]) from exc
        if options["rollback"]:
            self._rollback(names, options["interactive"])
        elif options["in_place"]:
            self._in_place(names, options)
        else:
            self._blue_green(names, options)

    def _confirm(self, interactive: bool, question: str) -> None:
        if interactive and input(f"{question} Continue? [y/N] ").lower() != "y":
            raise CommandError("Cancelled; nothing was changed.")

    def _bars(self, names: list[str], done: dict[str, int], head: int) -> dict[str, tqdm]:
        return {
            name: tqdm(
                total=max(head, done.get(name, 0)),
                initial=done.get(name, 0),
                unit="ev",
                unit_scale=True,
                desc=name,
                position=i,
                file=self.stderr,
                disable=None,
            )
            for i, name in enumerate(names)
        }

    def _blue_green(self, names: list[str], options) -> None:
        self._confirm(
            options["interactive"],
            f"This builds {', '.join(names)} anew beside the live tables and swaps them in once they match a "
            "replay of the events; the tables kept from the rebuild before are dropped.",
        )
        if (settings.TALLY_REBUILD_PACE if options["pace"] is None else options["pace"]) < 1:
            # A paced rebuild is background work: this process yields the CPU to the web workers
            # serving meanwhile. Its Python replay is most of the check's cost: the account page's p95
            # during a rebuild / without, make bench --quick, 4.3x and 11.6x at the default priority,
            # 1.6x and 2.6x niced.
            os.nice(BACKGROUND_NICENESS)
        shadows = {p.name: p for p in bluegreen.progress()}
        head = store.head_position()
        units = partitions.unit_names(get_projectors(names))  # a bar per partition
        bars = self._bars(units, {n: shadows[n].position for n in units if n in shadows}, head)

        def phase(name: str, step: bluegreen.Phase) -> None:
            for unit, bar in bars.items():
                if partitions.base_name(unit) == name:
                    bar.set_postfix_str(step, refresh=True)

        try:
            outcome = bluegreen.rebuild(
                names,
                restart=options["restart"],
                batch_size=options["batch_size"],
                progress=lambda name, count: bars[name].update(count),
                on_phase=phase,
                pace=options["pace"],
            )
        except bluegreen.RebuildBusy as exc:
            raise CommandError(f"{exc}. Wait for it, or stop it, and run this again.") from exc
        finally:
            for bar in bars.values():
                bar.close()
        if outcome.resumed:
            self.stdout.write(f"Resumed the interrupted rebuild of {', '.join(outcome.resumed)}.")
        if outcome.failed:
            for name, error in outcome.failed.items():
                self.stderr.write(self.style.ERROR(f"{name}: {error}"))
            raise CommandError(
                "the rebuild stopped at a failing event; the live tables are untouched. Fix it (or skip the event "
                "for that projection in the admin's projection status) and run this again to resume."
            )
        if outcome.differences:
            for verdict in outcome.differences.values():
                self.stderr.write(self.style.ERROR(f"{verdict.name}: {bluegreen.describe(verdict)}"))
            raise CommandError(
                f"the new tables of {', '.join(outcome.differences)} do not match a replay of the events, so they "
                "were not swapped in; the live tables are untouched. The next rebuild starts them over."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {', '.join(outcome.swapped)} from {outcome.applied} event{pluralize(outcome.applied)}, "
                "checked them against a replay "
                "and swapped them in. The replaced tables are kept: rebuild_projections --rollback returns to them."
            )
        )

    def _rollback(self, names: list[str], interactive: bool) -> None:
        self._confirm(
            interactive,
            f"This puts back the tables of {', '.join(names)} that the last rebuild replaced (the live ones are "
            "kept in their place).",
        )
        try:
            bluegreen.rollback(names)
        except (bluegreen.RollbackRefused, bluegreen.RebuildBusy) as exc:
            raise CommandError(f"Nothing was changed: {exc}.") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Rolled {', '.join(names)} back to the tables the last rebuild replaced.")
        )

    def _in_place(self, names: list[str], options) -> None:
        units = partitions.unit_names(get_projectors(names))  # as many partitions as configured
        resuming = (
            not options["restart"]
            and sorted(partitions.rows_of(names)) == sorted(units)
            and not ProjectionStatus.objects.filter(name__in=units, rebuilding=False).exists()
        )
        if not resuming:
            self._confirm(
                options["interactive"],
                f"This EMPTIES the live tables of {', '.join(names)} and replays every event into them; until it "
                "ends the screens show partial figures. Use it only on an empty or development database.",
            )
            try:
                runner.reset(names)
            except RuntimeError as exc:
                raise CommandError(f"{exc}. Stop the other runner or wait for it.") from exc
        else:
            self.stdout.write(f"Resuming the interrupted in-place rebuild of {', '.join(names)}.")
        done = dict(ProjectionStatus.objects.filter(name__in=units).values_list("name", "position"))
        bars = self._bars(units, done, store.head_position())
        try:
            report = runner.catch_up_each(
                units,
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
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(t for p in get_projectors(names) for t in p.tables)}")
        applied = f"{report.applied} event{pluralize(report.applied)}"
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {', '.join(names)} in place from {applied}."))
