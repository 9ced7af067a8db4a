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

bind = os.environ.get("TALLY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("WEB_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"
