"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi`.

WEB_CONCURRENCY (worker processes) and WEB_THREADS (threads each) override the defaults below.
"""

from __future__ import annotations

import os

bind = os.environ.get("TALLY_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
threads = int(os.environ.get("WEB_THREADS") or 4)
