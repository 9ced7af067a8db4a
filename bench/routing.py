"""Commands spread over web-like processes the way gunicorn spreads requests.

A pool is W worker processes (W = cores + 1, config/gunicorn.py's sync workers) that share one
listening socket, each serving one connection at a time as a sync worker does: accept whatever
is waiting, handle it, close it, and wait in select() on the listener when nothing is. Which
worker takes the next command is the kernel's choice, as in production, so a worker's state
cache holds an account only as often as that worker happens to have written it last. Submitters
(client threads in the harness's own process) connect anew for each command, as a sync worker's
clients do (it keeps no connection alive).

Each process also listens on a private socket of its own, which only the harness uses: to start
the "always cached" loops (each process executing commands directly on accounts of its own, the
figure the harness took before), and to stop it. A pool has max(W, 4) processes (unless told
otherwise) so that four of them can run those loops together; only the first W listen on the
shared socket.

`handler` names a class ("module:Class") built once in each process (its set-up: Django, the
connections); `handle(op, args)` executes one request and returns something small and picklable.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import pickle
import queue
import select
import shutil
import socket
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

WORKERS = (os.cpu_count() or 1) + 1  # as config/gunicorn.py: sync workers, one more than the cores
DIRECT = 4  # processes of the "always cached" 4-process figure
_HEADER = struct.Struct("!I")


# --- one message each way per connection ---------------------------------------------------------


def _send(sock: socket.socket, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _receive(sock: socket.socket) -> Any:
    def exactly(n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = sock.recv(min(left, 1 << 20))
            if not chunk:
                raise ConnectionError("the other side closed the connection mid-message")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    (size,) = _HEADER.unpack(exactly(_HEADER.size))
    return pickle.loads(exactly(size))  # noqa: S301 - only the harness's own processes talk on these sockets


def _call(path: str, request: Any) -> Any:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        _send(sock, request)
        return _receive(sock)


# --- the worker process --------------------------------------------------------------------------


def _serve(
    spec: str, options: dict[str, Any], index: int, shared: socket.socket | None, private_path: str, ready: Any
) -> None:
    try:
        module, name = spec.split(":")
        handler = getattr(importlib.import_module(module), name)(**options)
        private = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        private.bind(private_path)
        private.listen(16)
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        ready.put((index, traceback.format_exc()))
        return
    listeners = [private] + ([shared] if shared is not None else [])
    for listener in listeners:
        listener.setblocking(False)
    ready.put((index, None))
    parent = os.getppid()
    while True:
        served = False
        for listener in listeners:  # as gunicorn's sync worker: accept until nothing waits, then select
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue
            served = True
            with conn:
                conn.setblocking(True)
                op, args = _receive(conn)
                if op == "stop":
                    _send(conn, (index, True, None))
                    return
                try:
                    reply = (index, True, handler.handle(op, args))
                except Exception:  # noqa: BLE001 - the harness reports it and fails the figure
                    reply = (index, False, traceback.format_exc())
                _send(conn, reply)
        if not served:
            select.select(listeners, [], [], 1.0)
            if os.getppid() != parent:  # the harness died: do not linger
                return


class Pool:
    """W processes behind one shared socket (plus private ones), each with `handler` built once."""

    def __init__(
        self, spec: str, options: dict[str, Any] | None = None, *, workers: int = WORKERS, processes: int | None = None
    ) -> None:
        self.spec, self.options, self.workers = spec, options or {}, workers
        self.processes = processes or max(workers, DIRECT)
        self._dir = tempfile.mkdtemp(prefix="bench-routing-")
        self.shared_path = os.path.join(self._dir, "shared")
        self._procs: list[Any] = []

    def private_path(self, index: int) -> str:
        return os.path.join(self._dir, f"private-{index}")

    def launch(self) -> Pool:
        """Start the processes (their set-up runs on; wait() for it), so several pools set up at once."""
        # Forked, as gunicorn forks its workers from its master (each imports the app after the fork;
        # here the harness has not set Django up, so each sets itself up in _serve). Launched before
        # any thread of the harness starts.
        ctx = mp.get_context("fork")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.shared_path)
        listener.listen(128)  # gunicorn's default backlog is 2048; 128 is far above 4 submitters
        self._ready = ctx.Queue()
        for i in range(self.processes):
            shared = listener if i < self.workers else None
            p = ctx.Process(
                target=_serve,
                args=(self.spec, self.options, i, shared, self.private_path(i), self._ready),
                daemon=True,
            )
            p.start()
            self._procs.append(p)
        listener.close()  # the workers hold their own copies
        return self

    def wait(self, timeout: float = 180) -> Pool:
        deadline = time.monotonic() + timeout
        waiting = self.processes
        while waiting:
            try:
                index, error = self._ready.get(timeout=0.5)
            except queue.Empty:
                dead = [i for i, p in enumerate(self._procs) if p.exitcode is not None]
                if dead or time.monotonic() > deadline:
                    self.stop()
                    why = f"process {dead[0]} died" if dead else f"not ready in {timeout:.0f} s"
                    raise RuntimeError(f"pool {self.spec}: {why} (its output is above)") from None
                continue
            if error:
                self.stop()
                raise RuntimeError(f"pool process {index} ({self.spec}) failed to start:\n{error}")
            waiting -= 1
        return self

    def start(self, timeout: float = 180) -> Pool:
        return self.launch().wait(timeout)

    def call(self, op: str, *args: Any) -> tuple[int, Any]:
        """One request through the shared socket: (the worker that served it, its answer)."""
        return self._answer(_call(self.shared_path, (op, args)))

    def call_process(self, index: int, op: str, *args: Any) -> Any:
        return self._answer(_call(self.private_path(index), (op, args)))[1]

    @staticmethod
    def _answer(reply: tuple[int, bool, Any]) -> tuple[int, Any]:
        index, ok, value = reply
        if not ok:
            raise RuntimeError(f"pool process {index} failed a request:\n{value}")
        return index, value

    def on_processes(self, indexes: Sequence[int], op: str, args: Callable[[int], tuple[Any, ...]]) -> list[Any]:
        """The same request to several processes at once (through their private sockets)."""
        answers: list[Any] = [None] * len(indexes)
        errors: list[BaseException] = []

        def one(k: int, index: int) -> None:
            try:
                answers[k] = self.call_process(index, op, *args(index))
            except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(k, i)) for k, i in enumerate(indexes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return answers

    def stop(self) -> None:
        for i, p in enumerate(self._procs):
            if p.is_alive():
                with contextlib.suppress(OSError):  # already gone
                    _call(self.private_path(i), ("stop", ()))
        for p in self._procs:
            p.join(10)
            if p.is_alive():
                p.terminate()
                p.join(5)
        self._procs.clear()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Pool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- submitters: closed loops through the shared socket --------------------------------------------


@dataclass(frozen=True)
class Request:
    op: str
    args: tuple[Any, ...]
    streams: tuple[str, ...] = ()  # the accounts it writes, for the same-worker share
    opens: bool = False  # its answer is a new account, written by the worker that answered


@dataclass
class Phase:
    """What the submitters of one timed window did."""

    latencies: list[float] = field(default_factory=list)  # seconds, the counted commands only
    seconds: float = 0.0  # the counted window (shorter when the supply of requests ran out)
    answers: list[Any] = field(default_factory=list)  # every answer received, warm-up included, in order
    same_worker: int = 0  # counted commands served by the worker that wrote all their accounts last
    known: int = 0  # counted commands whose accounts had been written before
    ran_out: bool = False
    client_cpu_share: float = 0.0  # CPU of the harness's process (the submitters), share of one core

    @property
    def count(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "seconds": self.seconds,
            "per_second": self.count / self.seconds if self.seconds else 0.0,
            "same_worker_share": self.same_worker / self.known if self.known else None,
            "ran_out": self.ran_out,
            "client_cpu_share": self.client_cpu_share,
        }


def closed_loops(
    pool: Pool,
    sources: Sequence[Iterable[Request]],
    *,
    warmup: float,
    seconds: float,
    last_writer: dict[str, int] | None = None,
    tail: float = 0.0,
) -> Phase:
    """One submitter thread per source, each sending its requests one after the other (the next
    once the last is answered) for warm-up + seconds. A command counts when it starts after the
    warm-up and is answered before the end. `last_writer` (account -> worker) carries over from
    phase to phase, so the same-worker share says how often a worker's cache could have held the
    account. The submitters go on for `tail` seconds after the window, uncounted, where a later
    figure needs what they make (accounts to freeze, to unfreeze, to close)."""
    last = last_writer if last_writer is not None else {}
    lock = threading.Lock()
    phase = Phase()
    per_thread: list[list[tuple[float, float, Any]]] = [[] for _ in sources]
    finished_early = [False] * len(sources)
    errors: list[BaseException] = []
    start = time.perf_counter() + 0.05
    warm_until, stop_at = start + warmup, start + warmup + seconds
    until = stop_at + tail

    def submit(k: int, source: Iterator[Request]) -> None:
        time.sleep(max(start - time.perf_counter(), 0))
        try:
            for request in source:
                t0 = time.perf_counter()
                if t0 >= until:
                    return
                worker, answer = pool.call(request.op, *request.args)
                t1 = time.perf_counter()
                with lock:
                    counted = t0 >= warm_until and t1 < stop_at
                    if counted and request.streams and all(s in last for s in request.streams):
                        phase.known += 1
                        phase.same_worker += all(last[s] == worker for s in request.streams)
                    for s in request.streams:
                        last[s] = worker
                    if request.opens:
                        last[answer] = worker
                per_thread[k].append((t0, t1, answer))
                if t1 >= until:
                    return
            finished_early[k] = True
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            errors.append(exc)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=submit, args=(k, iter(s))) for k, s in enumerate(sources)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    if errors:
        raise errors[0]
    done = [x for samples in per_thread for x in samples]
    last_answer = max((t1 for _, t1, _ in done), default=warm_until)
    if all(finished_early) and last_answer < stop_at:  # out of requests: the window ends with the last answer
        end = last_answer
        phase.ran_out = True
    else:
        end = stop_at
    phase.seconds = max(end - warm_until, 0.0)
    phase.latencies = [t1 - t0 for t0, t1, _ in done if t0 >= warm_until and t1 <= end]
    phase.answers = [a for samples in per_thread for _, _, a in samples]
    phase.client_cpu_share = (cpu1 - cpu0) / (wall1 - wall0)  # over the whole phase, tail included
    return phase
