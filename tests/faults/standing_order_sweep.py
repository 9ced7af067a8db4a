"""A beat's standing-order sweep, run as its own process on the test database named in DATABASE_NAME:
`standing_order_sweep.py <ISO day> <start at, unix time> [kill-at <order id>:<period>]`. It waits
until the start time (so two of them sweep at the same moment), settles what is due on that day and
prints how many periods it recorded. With `kill-at` it SIGKILLs itself inside that period's payment
transaction, after the append and before the commit: a worker dying mid-run."""

import os
import signal
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402 - after django.setup()
from django.db import connections, transaction  # noqa: E402 - after django.setup()

settings.DATABASES["default"]["NAME"] = os.environ["DATABASE_NAME"]
connections["default"].settings_dict["NAME"] = os.environ["DATABASE_NAME"]

from ledger import standing_orders  # noqa: E402 - after django.setup() and the database named
from projections.standing_orders import pay_due  # noqa: E402

day, start_at = date.fromisoformat(sys.argv[1]), float(sys.argv[2])
kill_at = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "kill-at" else ""
real_execute = standing_orders.execute


def execute_or_die(command, **kwargs):
    if f"{command.order_id}:{command.period}" != kill_at:
        return real_execute(command, **kwargs)
    with transaction.atomic():
        real_execute(command, **kwargs)
        print(f"appended period {command.period}, dying before the commit", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return None  # never reached: the process is gone


standing_orders.execute = execute_or_die  # the fault (when asked for)
connections["default"].ensure_connection()
time.sleep(max(0.0, start_at - time.time()))
print(f"settled {pay_due(on=day)}", flush=True)
