"""Fault injection, run as its own process on the test database named in DATABASE_NAME: catch up,
and SIGKILL this process at the moment named by the first argument:

- before-commit: the projectors have written their tables for a batch and moved their checkpoints
  (all together, or the first of them one by one), the transaction has not committed yet;
- after-commit: the first batch (of BATCH_SIZE events) has committed, as a worker dies before
  acknowledging its Celery message (the broker then delivers the same work again).
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402 - after django.setup()
from django.db import connections  # noqa: E402 - after django.setup()

settings.DATABASES["default"]["NAME"] = os.environ["DATABASE_NAME"]
connections["default"].settings_dict["NAME"] = os.environ["DATABASE_NAME"]

from projections import runner  # noqa: E402 - after django.setup() and the database named


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if sys.argv[1] == "before-commit":

    def then_die(advance):
        def advance_then_die(*args, **kwargs):
            advance(*args, **kwargs)
            print("applied, about to commit", flush=True)
            die()

        return advance_then_die

    runner._advance = then_die(runner._advance)
    runner._advance_together = then_die(runner._advance_together)
    runner.catch_up()
else:

    def die_after_commit(count: int) -> None:  # the runner reports progress after each committed batch
        print(f"committed a batch of {count}", flush=True)
        die()

    runner.catch_up(batch_size=int(os.environ["BATCH_SIZE"]), progress=die_after_commit)
print("not killed")
