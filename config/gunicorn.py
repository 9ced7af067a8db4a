"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi`.

Sync workers, each serving one request at a time, one more of them than there are cores: a page
is mostly Python, so threads in one process take turns on its interpreter lock while a core may
stand idle. On 2 cores with 10 busy clients, 4 processes of 2 threads gave the account page a p95
twice its median; 3 sync workers kept it within a third of it (README, Performance). As gunicorn
requires of sync workers, run it behind a buffering proxy (nginx, or the platform's router), which
also terminates TLS here.

WEB_CONCURRENCY sets the number of workers; WEB_THREADS above 1 makes them threaded (gthread).
"""

from __future__ import annotations

import os
from typing import Any

from config import log_format

bind = os.environ.get("TALLY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("WEB_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"

# A line per request on standard output, with how long it took (%(M)s, milliseconds): who asked for
# what and how it went, beside the app's own lines on standard error. `--access-logfile /dev/null` on
# the command line turns it off where the proxy in front already logs every request.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'

# TALLY_LOG_FORMAT=json: gunicorn's own lines as JSON too, so that every line of the web process parses.
if log_format.chosen() == "json":
    logconfig_dict = log_format.gunicorn_logging()


def child_exit(server: Any, worker: Any) -> None:
    """In prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR), a worker that died stops
    counting in the gauges kept per live process: the library's documented set-up for gunicorn. The
    counts of a dead worker's counters and histograms stay in the sum, so they never go backwards."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
