"""Profile the two hot paths under py-spy: `python -m bench.profile [write|rebuild] [--events N]`.

- write: one process executing deposits round-robin over 20 accounts (load, decide, append,
  commit, nudge), in bench_tally;
- rebuild: `manage.py rebuild_projections --no-input` over a generated log of N events (default
  200,000), in bench_rebuild.

Each writes bench-results/profile-<name>.speedscope.json (open it at speedscope.app, or any
speedscope viewer) and prints the functions with the most samples, on their own and with what
they call. Both databases are created anew, as in `python -m bench`.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common

DEPOSITS = 5000


def _deposit_loop(count: int) -> None:
    """The profiled program for `write` (run as `python -m bench.profile _deposits N`)."""
    common.setup_django(common.TALLY_DB)
    from uuid import uuid4

    from ledger.domain.commands import Deposit, OpenAccount
    from ledger.execute import execute

    accounts = [uuid4() for _ in range(20)]
    for account in accounts:
        execute(OpenAccount(account_id=account, owner="Ada Lovelace", currency="EUR"), actor="teller", source="bench")
    started = time.perf_counter()
    for i in range(count):
        execute(
            Deposit(account_id=accounts[i % 20], amount=1 + i % 5000, currency="EUR"), actor="teller", source="bench"
        )
    print(f"{count / (time.perf_counter() - started):,.0f} deposits/s (under the profiler)", file=sys.stderr)


def _record(name: str, command: list[str], database: str, out_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": common.database_url(database)}
    raw = Path(tempfile.mkdtemp(prefix="bench-profile-")) / f"{name}.txt"
    speedscope = out_dir / f"profile-{name}.speedscope.json"
    for fmt, path in (("raw", raw), ("speedscope", speedscope)):
        subprocess.run(
            [_py_spy(), "record", "--rate", "250", "--format", fmt, "-o", str(path), "--", *command],
            cwd=common.ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    summarize(raw, name)
    print(f"flame graph: {speedscope}")


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"  # installed into the venv by requirements-bench.txt
    return str(beside) if beside.exists() else "py-spy"


def summarize(raw: Path, name: str, top: int = 25) -> None:
    """Self and inclusive sample shares per function, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"\n{name}: {total} samples")
    print("  on their own:")
    for frame, n in own.most_common(top):
        print(f"    {n / total:6.1%}  {frame}")
    print("  with what they call:")
    for frame, n in inclusive.most_common(top * 2):
        print(f"    {n / total:6.1%}  {frame}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["_deposits"]:
        _deposit_loop(int(argv[1]))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", choices=["write", "rebuild"], default=["write", "rebuild"])
    parser.add_argument("--events", type=int, default=200_000, help="log size for the rebuild profile")
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench-results")
    args = parser.parse_args(argv)
    os.environ.update(common.bench_environment())
    args.out.mkdir(parents=True, exist_ok=True)
    common.recreate_database(common.TALLY_DB)
    common.manage("migrate", "--no-input", database=common.TALLY_DB)
    try:
        if "write" in args.paths:
            _record(
                "write", [sys.executable, "-m", "bench.profile", "_deposits", str(DEPOSITS)], common.TALLY_DB, args.out
            )
        if "rebuild" in args.paths:
            import psycopg

            from bench import eventgen

            common.recreate_database(common.REBUILD_DB, template=common.TALLY_DB)
            with psycopg.connect(common.database_url(common.REBUILD_DB), autocommit=True) as conn:
                eventgen.generate_and_load(conn, eventgen.LedgerGenerator(total=args.events), args.events)
            _record(
                "rebuild",
                [sys.executable, "manage.py", "rebuild_projections", "--no-input"],
                common.REBUILD_DB,
                args.out,
            )
    finally:
        common.drop_database(common.TALLY_DB)
        common.drop_database(common.REBUILD_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
