"""Where chunks of trials run: in this process, in a process pool, or on a Ray cluster.

Every backend runs the same task (:class:`games.engine.Chunks`) on the same chunks and
yields each chunk's tally as it completes; tallies add up the same in any order, so the
answer never depends on the backend.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import re
import socket
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Sized
from queue import Empty
from typing import Any, Protocol

from games.engine.children import die_with
from games.engine.options import BACKENDS, RunOptions
from oracles import InvalidArgument

__all__ = ["BACKENDS", "ChunkFailed", "run_chunks", "session"]


class Task(Protocol):
    """What every backend plays (:class:`games.engine.Chunks`): a chunk of trials, and the
    end of a worker's use of it."""

    @property
    def isolated(self) -> bool:
        """Whether its adversary runs in a process of its own, which a worker keeps."""
        ...

    def __call__(self, start: int, stop: int) -> Any: ...

    def close(self) -> None: ...


SLACK = 30.0  # seconds a worker's chunk may take beyond its trials' timeouts


class ChunkFailed(RuntimeError):
    """A worker died or broke while playing a chunk; the run stops and names the chunk."""

    def __init__(self, start: int, stop: int, why: str) -> None:
        what = f"trials {start}-{stop - 1} failed" if stop > start else "a worker failed at start"
        super().__init__(
            f"{what}: {why}. Finished chunks are in the run log, if one was given; rerun with "
            "--resume to play only what is missing"
        )
        self.start, self.stop, self.why = start, stop, why

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.start, self.stop, self.why))


def check_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0:
        raise InvalidArgument(f"workers={workers!r} must be a positive integer")
    return workers


def run_chunks(task: Task, work: Iterable[tuple[int, int]], options: RunOptions) -> Iterator[Any]:
    """Yield ``task(start, stop)`` for each chunk of ``work``, in the order they finish."""
    if options.backend == "serial":
        for start, stop in work:
            yield task(start, stop)
    elif options.backend == "process":
        yield from _process(task, work, check_workers(options.workers), options.trial_timeout)
    else:
        yield from _ray(task, work, options.workers, options.address)


def _worker(
    slot: int, parent: int, playing: Any, started: Any, inbox: Any, results: Any, task: Task
) -> None:
    """A worker process: play the chunks it is sent with the task it was started with, or
    sent last (pickled), noting each chunk in its slot first."""
    die_with(parent)
    try:
        while (message := inbox.get()) is not None:
            if message[0] == "task":
                task.close()  # the last run's isolated adversary, if it had one
                playing[2 * slot] = playing[2 * slot + 1] = 0  # dying now: "at start"
                task = pickle.loads(message[1])
                continue
            _, start, stop = message
            # Shared memory, written before play: it survives the process dying mid-chunk,
            # where a queued message might never leave the process.
            playing[2 * slot], playing[2 * slot + 1] = start, stop
            started[slot] = time.monotonic()
            try:
                results.put(("done", slot, task(start, stop)))
            except BaseException as error:  # the game itself failed: the parent re-raises it
                try:
                    pickle.dumps(error)
                except Exception:  # it could never reach the parent: send its text instead
                    text = "".join(traceback.format_exception_only(type(error), error)).strip()
                    error = ChunkFailed(start, stop, f"{text} (raised in a worker)")
                results.put(("error", slot, error))
            started[slot] = 0.0
    finally:
        task.close()


class _Pool:
    """Worker processes, each with its own inbox, started with a run's task; the chunks go
    two at a time to whichever has room. A session keeps a pool between runs, sending each
    worker the next run's task, so that its workers start (and load what the games cache)
    once."""

    def __init__(self, count: int, task: Task) -> None:
        # Forking a process whose torch thread pools are running can deadlock the child, so
        # a pool made once torch has loaded starts fresh interpreters instead.
        context: Any = multiprocessing.get_context("spawn" if "torch" in sys.modules else "fork")
        self.count = count
        self.results = context.Queue()
        self.inboxes = [context.Queue() for _ in range(count)]
        # Which chunk each worker is playing, so that a worker that dies is named with it.
        self.playing = context.Array("q", 2 * count, lock=False)
        self.started = context.Array("d", count, lock=False)
        self.processes = [
            context.Process(
                target=_worker,
                # The first task as an argument: a forked worker inherits it unpickled.
                args=(slot, os.getpid(), self.playing, self.started, inbox, self.results, task),
                # Not daemonic, so that a worker may start an isolated adversary's process; it
                # dies with this one all the same (see games.engine.children) and is ended below.
                daemon=False,
            )
            for slot, inbox in enumerate(self.inboxes)
        ]
        for process in self.processes:
            process.start()

    def usable(self, count: int) -> bool:
        return self.count >= count and all(p.is_alive() for p in self.processes)

    def close(self, wait: bool = True) -> None:
        """End the workers: once they are idle (``wait``, each ending its adversary's
        process), or at once (a run that stopped with chunks in flight)."""
        if wait:
            for inbox in self.inboxes:
                inbox.put(None)
            deadline = time.monotonic() + 5
            for process in self.processes:
                process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(timeout=5)


def _process(
    task: Task, work: Iterable[tuple[int, int]], workers: int, timeout: float | None
) -> Iterator[Any]:
    total = len(work) if isinstance(work, Sized) else workers
    count = max(1, min(workers, total))
    held = _SESSIONS[-1] if _SESSIONS else None
    pool = held.pool if held is not None else None
    blob = _pickled(task) if pool is not None and pool.usable(count) else None
    if pool is None or blob is None:  # a task that does not pickle may still be forked
        if pool is not None:
            pool.close()
        pool = _Pool(count, task)
    else:
        for inbox in pool.inboxes:
            inbox.put(("task", blob))
    if held is not None:
        held.pool = None  # given back below only if the run leaves it clean
    load = [0] * pool.count
    queue = iter(work)

    def feed() -> None:
        for slot in range(pool.count):  # one chunk playing and one waiting per worker
            while load[slot] < 2:
                chunk = next(queue, None)
                if chunk is None:
                    return
                pool.inboxes[slot].put(("chunk", *chunk))
                load[slot] += 1

    clean = False
    try:
        feed()
        while any(load):
            try:
                kind, slot, payload = pool.results.get(timeout=0.2)
            except Empty:
                _check_workers(pool.processes, pool.playing, pool.started, timeout)
                continue
            load[slot] -= 1
            if kind == "error":
                raise payload
            yield payload
            feed()
        clean = True
    finally:
        # A run that stopped early leaves chunks in flight: its pool is not used again.
        if clean and held is not None:
            held.pool = pool
        else:
            pool.close(wait=clean)


def _pickled(task: Task) -> bytes | None:
    try:
        return pickle.dumps(task)
    except Exception:
        return None


def _check_workers(processes: list[Any], playing: Any, started: Any, timeout: float | None) -> None:
    """Name the chunk of a worker that died, or that ran past its trials' timeouts."""
    for slot, process in enumerate(processes):
        start, stop = playing[2 * slot], playing[2 * slot + 1]
        if process.exitcode is not None:
            why = f"a worker process died (exit code {process.exitcode})"
            raise ChunkFailed(start, stop, why) from None
        since = started[slot]
        if timeout is not None and since:
            limit = timeout * (stop - start) + SLACK
            if time.monotonic() - since > limit:
                process.kill()
                why = f"the chunk ran past its limit of {limit:g} s (trial timeout × trials + {SLACK:g} s)"
                raise ChunkFailed(start, stop, why) from None


class _Player:
    """A Ray actor holding an isolated run's task, so that its adversary's process (and
    what that process prepares, a model say) serves every chunk the actor plays. The run
    kills its actors when it ends, and their adversaries' processes die with them."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def play(self, start: int, stop: int) -> Any:
        return self.task(start, stop)


class _Session:
    """What a session keeps between runs: a process pool, and whether it started Ray."""

    def __init__(self) -> None:
        self.pool: _Pool | None = None
        self.ray = False


_SESSIONS: list[_Session] = []


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Keep the workers that the runs inside start until the session ends: the process
    backend's pool, and a local Ray instance (or a connection to a cluster). A command
    that plays several runs (an ensemble, a sweep, a proof's games) so starts them once,
    and only if it plays at all. Results do not change. Inside another session, the outer
    one keeps them."""
    if _SESSIONS:  # the session already open keeps them
        yield
        return
    held = _Session()
    _SESSIONS.append(held)
    try:
        yield
    finally:
        _SESSIONS.pop()
        if held.pool is not None:
            held.pool.close()
        if held.ray:
            import ray

            ray.shutdown()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidArgument(
            "backend='ray' needs Ray, which is not installed: pip install -e '.[ray]'"
        ) from None
    return ray


def _ray(
    task: Task, work: Iterable[tuple[int, int]], workers: int | None, address: str | None
) -> Iterator[Any]:
    ray = _import_ray()
    started = not ray.is_initialized() and _join(ray, workers, address)
    actors: list[Any] = []
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        task_ref = ray.put(task)
        if task.isolated:
            # One actor a worker holds the task, so that one adversary process serves all
            # its chunks, where a task per chunk would start one a chunk; one a CPU at most
            # (another would wait for one forever), and no more than there are chunks.
            total = len(work) if isinstance(work, Sized) else cpus
            player = ray.remote(num_cpus=1)(_Player)
            count = max(1, min(cpus, workers or cpus, total))
            actors = [player.remote(task_ref) for _ in range(count)]
            lanes = actors * 2  # a second chunk queued on each actor while it plays one
        else:  # tasks, on Ray's warm workers: nothing to start
            remote = ray.remote(_play_remote)
            lanes = [None] * 4 * cpus
        queue = iter(work)
        running: dict[Any, tuple[Any, int, int]] = {}  # in the order the chunks were sent
        errors = ray.exceptions
        # A worker or node that died, or a task's arguments that could not be unpickled.
        failures = (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError,
                    errors.RaySystemError)  # fmt: skip

        def submit(lane: Any) -> None:
            chunk = next(queue, None)
            if chunk is not None:
                call = remote.remote(task_ref, *chunk) if lane is None else lane.play.remote(*chunk)
                running[call] = (lane, *chunk)

        for lane in lanes:
            submit(lane)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            try:
                result = ray.get(done[0])
            except failures as error:
                raise _failed(error, running, done[0]) from None
            lane = running.pop(done[0])[0]
            yield result
            submit(lane)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started and _SESSIONS:
            _SESSIONS[-1].ray = True  # the session ends it
        elif started:
            ray.shutdown()


def _play_remote(task: Task, start: int, stop: int) -> Any:
    return task(start, stop)


def _failed(
    error: BaseException, running: dict[Any, tuple[Any, int, int]], ref: Any
) -> ChunkFailed:
    """The run's end when Ray could not play a chunk, naming the chunk."""
    import ray.exceptions as errors

    # An actor that could not be made, or a task whose arguments could not be unpickled.
    if getattr(error, "actor_init_failed", False) or isinstance(error, errors.RaySystemError):
        why = f"a Ray worker could not load the game and the adversary ({_plain(error)})"
        return ChunkFailed(0, 0, why)
    lane, start, stop = running[ref]
    if lane is not None:
        # An actor plays its chunks in the order they were sent: the first of its chunks
        # still out is the one it died playing (the others fail with it).
        start, stop = next((a, b) for who, a, b in running.values() if who is lane)
    return ChunkFailed(start, stop, f"a Ray worker died ({_plain(error)})")


def _join(ray: Any, workers: int | None, address: str | None) -> bool:
    """Start a local Ray instance (``address`` None) or join a cluster; True once done."""
    if address is not None and address != "auto":
        _reachable(address)
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address is None:
        kwargs["num_cpus"] = workers
    else:
        kwargs["address"] = address
    try:
        with _search_path(address is None):
            ray.init(**kwargs)
    except (ConnectionError, RuntimeError) as error:
        raise InvalidArgument(f"cannot join the Ray cluster at {address}: {error}") from None
    return True


@contextlib.contextmanager
def _search_path(local: bool) -> Iterator[None]:
    """While a local Ray instance starts: this process's ``sys.path`` as ``PYTHONPATH``.

    Its workers start from its own processes, which inherit the environment, so that they
    import what this process can (a file brought in by ``--import``), as the process
    backend's workers do. (A ``runtime_env`` would do it too, but its workers are started
    afresh for every run instead of the instance's warm ones.)
    """
    before = os.environ.get("PYTHONPATH")
    if local:
        os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p or ".") for p in sys.path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _plain(error: BaseException) -> str:
    """Ray's message for ``error`` without its terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()


def _reachable(address: str, timeout: float = 3.0) -> None:
    """Fail fast, naming the address, when nothing listens there."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidArgument(f"address={address!r} must be 'auto' or HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise InvalidArgument(
            f"cannot reach a Ray cluster at {address} within {timeout:.0f} s: {error}"
        ) from None
