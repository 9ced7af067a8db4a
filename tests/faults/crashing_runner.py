"""Fault injection, run as its own process: catch up in small batches and SIGKILL the process right
after the first batch has committed, as a worker dies before acknowledging its Celery message (the
broker then delivers the same work again)."""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

settings.DATABASES["default"]["NAME"] = os.environ["DATABASE_NAME"]
connections["default"].settings_dict["NAME"] = os.environ["DATABASE_NAME"]

from projections import runner  # noqa: E402


def die_after_commit(count: int) -> None:  # the runner reports progress after each committed batch
    print(f"committed a batch of {count}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


runner.catch_up(batch_size=int(os.environ["BATCH_SIZE"]), progress=die_after_commit)
print("not killed")
