"""Fault injection, run as its own process on the test database named in DATABASE_NAME: catch up,
and SIGKILL this process in the approval process manager between its reaction (the movement made,
the hold released) and recording the request's outcome: the worker dies mid-reaction."""

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

from ledger.domain.approval import SettleRequest  # noqa: E402 - after django.setup()
from projections import runner  # noqa: E402 - after django.setup() and the database named
from projections.projectors.approval_process import ApprovalProcess  # noqa: E402

act = ApprovalProcess.act


def act_or_die(self, command, **kwargs):
    if isinstance(command, SettleRequest):
        print("reacted, about to record the outcome", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return act(self, command, **kwargs)


ApprovalProcess.act = act_or_die  # type: ignore[method-assign]  # the fault being injected
runner.catch_up(["approval_process"])
print("not killed")
