"""Where chunks of trials run: in this process, in a process pool, or on a Ray cluster.

Every backend runs the same function on the same chunks and yields each chunk's tally as it
completes; tallies add up the same in any order, so the answer never depends on the backend.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from queue import Empty
from typing import Any

from oracles import InvalidArgument

__all__ = ["BACKENDS", "ChunkFailed", "run_chunks"]

BACKENDS = ("serial", "process", "ray")


class ChunkFailed(RuntimeError):
    """A worker died or broke while playing a chunk; the run stops and names the chunk."""

    def __init__(self, start: int, stop: int, why: str) -> None:
        super().__init__(
            f"trials {start}-{stop - 1} failed: {why}. Finished chunks are in the run log, if one "
            "was given; rerun with --resume to play only what is missing"
        )
        self.start, self.stop = start, stop


def check_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0:
        raise InvalidArgument(f"workers={workers!r} must be a positive integer")
    return workers


def run_chunks(
    play: Callable[..., Any],
    game: Any,
    adversary: Any,
    seed: int,
    work: Sequence[tuple[int, int]],
    batched: bool,
    *,
    backend: str = "serial",
    workers: int | None = None,
    address: str | None = None,
) -> Iterator[Any]:
    """Yield ``play(game, adversary, seed, start, stop, batched)`` for each chunk of ``work``."""
    if backend not in BACKENDS:
        raise InvalidArgument(f"backend={backend!r} must be one of: {', '.join(BACKENDS)}")
    count = check_workers(workers)
    if address is not None and backend != "ray":
        raise InvalidArgument("address is for backend='ray' only")
    if backend == "serial":
        for start, stop in work:
            yield play(game, adversary, seed, start, stop, batched)
    elif backend == "process":
        yield from _process(play, game, adversary, seed, work, batched, count)
    else:
        yield from _ray(play, game, adversary, seed, work, batched, workers, address)


def _worker(
    slot: int,
    playing: Any,
    tasks: Any,
    results: Any,
    play: Callable[..., Any],
    game: Any,
    adversary: Any,
    seed: int,
    batched: bool,
) -> None:
    """A worker process: play the chunks it is sent, noting each in its slot first."""
    while (chunk := tasks.get()) is not None:
        start, stop = chunk
        # Shared memory, written before play: it survives the process dying mid-chunk,
        # where a queued message might never leave the process.
        playing[2 * slot], playing[2 * slot + 1] = start, stop
        try:
            results.put(("done", play(game, adversary, seed, start, stop, batched)))
        except BaseException as error:  # the game itself failed: the parent re-raises it
            results.put(("error", error))


def _process(
    play: Callable[..., Any],
    game: Any,
    adversary: Any,
    seed: int,
    work: Sequence[tuple[int, int]],
    batched: bool,
    workers: int,
) -> Iterator[Any]:
    # Forking a process whose torch thread pools are running can deadlock the child, so a
    # run that has loaded torch starts fresh interpreters instead.
    context: Any = multiprocessing.get_context("spawn" if "torch" in sys.modules else "fork")
    tasks, results = context.Queue(), context.Queue()
    # The pool is the engine's own so that it knows which chunk each worker is playing, and
    # a worker that dies is named with its chunk. Game and adversary are sent once per worker.
    count = min(workers, len(work)) or 1
    playing = context.Array("q", 2 * count, lock=False)
    processes = [
        context.Process(
            target=_worker,
            args=(slot, playing, tasks, results, play, game, adversary, seed, batched),
            daemon=True,
        )
        for slot in range(count)
    ]
    for process in processes:
        process.start()
    queue = iter(work)
    pending = 0

    def feed() -> None:
        nonlocal pending
        for chunk in queue:
            tasks.put(chunk)
            pending += 1
            if pending >= 2 * len(processes):  # enough queued to keep every worker busy
                return

    try:
        feed()
        while pending:
            try:
                kind, payload = results.get(timeout=0.2)
            except Empty:
                for slot, process in enumerate(processes):
                    if process.exitcode is not None:
                        start, stop = playing[2 * slot], playing[2 * slot + 1]
                        why = f"a worker process died (exit code {process.exitcode})"
                        raise ChunkFailed(start, stop, why) from None
                continue
            pending -= 1
            if kind == "error":
                raise payload
            yield payload
            feed()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)


def _ray(
    play: Callable[..., Any],
    game: Any,
    adversary: Any,
    seed: int,
    work: Sequence[tuple[int, int]],
    batched: bool,
    workers: int | None,
    address: str | None,
) -> Iterator[Any]:
    try:
        import ray
    except ImportError:
        raise InvalidArgument(
            "backend='ray' needs Ray, which is not installed: pip install -e '.[ray]'"
        ) from None
    started = False
    if not ray.is_initialized():
        if address is not None and address != "auto":
            _reachable(address)
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            kwargs["num_cpus"] = workers
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError) as error:
            raise InvalidArgument(f"cannot join the Ray cluster at {address}: {error}") from None
        started = True
    try:
        remote = ray.remote(play)
        game_ref, adversary_ref = ray.put(game), ray.put(adversary)
        window = 4 * int(ray.cluster_resources().get("CPU", 1))
        queue = iter(work)
        running: dict[Any, tuple[int, int]] = {}

        def submit() -> None:
            for start, stop in queue:
                ref = remote.remote(game_ref, adversary_ref, seed, start, stop, batched)
                running[ref] = (start, stop)
                if len(running) >= window:
                    return

        submit()
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            start, stop = running.pop(done[0])
            try:
                yield ray.get(done[0])
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as error:
                raise ChunkFailed(start, stop, f"a Ray worker died ({error})") from None
            submit()
    finally:
        if started:
            ray.shutdown()


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
