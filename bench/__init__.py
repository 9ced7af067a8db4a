"""Tally's benchmark harness: `python -m bench [--quick]`.

Every figure is taken on this machine, against the Postgres named by DATABASE_URL, in databases of
the harness's own (bench_tally, bench_peer, bench_limit, bench_rebuild: dropped and created anew
on each run) and Redis database 9, so it never touches the app's or the tests' data.

One module per family of figures:
  limit    plain psycopg on the event table's shape: what Postgres itself can do
  write    Tally's write side: execute() in 1 and 4 processes, latency, cost of a long history
  peer     the same workload on the `eventsourcing` library (benchmark-only dependency)
  rebuild  replaying every projection from 1,000,000 generated events, with peak memory
  latency  commit -> read model visible, through Redis and a real Celery worker
  http     gunicorn and 10 concurrent clients on the screens and the admin event browser
  report   the table on stdout, bench-results/latest.json and bench-results/latest.md
"""
