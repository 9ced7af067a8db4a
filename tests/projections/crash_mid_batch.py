"""Fault injection, run as its own process: catch up, and SIGKILL the process right after the
first projector has written its tables for a batch but before the transaction commits."""

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

original = runner._advance


def advance_then_die(*args, **kwargs):
    original(*args, **kwargs)
    print("applied, about to commit", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


runner._advance = advance_then_die
runner.catch_up()
print("not killed")
