"""Tally's benchmark harness: `python -m bench [--quick]`.

Every figure is taken on this machine, against the Postgres named by DATABASE_URL, in databases of
the harness's own (bench_tally, bench_peer, bench_limit, bench_rebuild, ...: dropped and created
anew on each run) and Redis database 9, so it never touches the app's or the tests' data.

Each family module measures its own figures (`measure(run)`) and builds its rows of the table
(`rows(results)`):
  limit    ceilings, each labelled: Tally's own append statement from plain psycopg, the single-row
           INSERT, the server's capacity by pgbench
  write    every command type through execute(), Tally and the peer (in its best documented
           configuration and in its defaults) behind the same gunicorn-like routing (routing.py),
           the always-cached figures beside them, the cost of a long history
  latency  commit -> read model visible, through Redis and a real Celery worker, against the peer
           keeping the same three read models current; the hops of Tally's path (hops.py)
  rebuild  every projection replayed from 1,000,000 generated events (eventgen.py), with peak
           memory, against the peer's batched projector doing the same projections
           (peer_readmodels.py, peer_ledger.py) and set-based SQL over the same log (rebuild_sql.py)
  http     gunicorn serving the screens: capacity, open-loop load at 50 % and 80 % of it against
           /healthz at the same rates (http_load.py), and the screens at two sizes (http_scale.py)
  report   the table on stdout, bench-results/latest.json and bench-results/latest.md
The peer is the `eventsourcing` library (a benchmark-only dependency): peer.py, peer_model.py and
peer_projection*.py.
"""
