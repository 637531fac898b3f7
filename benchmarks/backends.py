"""Backends against serial play: the process pool and Ray on trials of about 20 ms.

Prints trials/s of each backend on the same trials (the wins must be equal), the speedup
against serial, Ray's overhead per chunk measured on trials that cost nothing, and what
a session saves: ``--runs`` short runs one after another, each starting its own workers
against all of them inside one ``games.engine.backends.session()`` (as a command with
several adversaries, a sweep or a proof plays them). ``--torch`` loads torch first, as
the ML games do, so that the process backend's workers are spawned rather than forked.

    python benchmarks/backends.py [--trials 200] [--workers 2] [--runs 4] [--torch] [--no-ray]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import time

import attrs
import numpy as np
from rich.console import Console
from rich.table import Table

import games
from adversaries import Guess
from games.engine.backends import session
from games.otp import OneTimePad


@attrs.frozen(kw_only=True)
class Busy(games.HiddenBit):
    """A hidden-bit game whose challenger works for about ``ms`` milliseconds per trial."""

    ms: float = 20.0

    def setup(self, b, rng):
        deadline = time.thread_time() + self.ms / 1000
        x = rng.random(64)
        while time.thread_time() < deadline:  # CPU time, so the work is the same in any process
            x = np.sin(x)
        return games.Challenge(public={"noise": float(x[0])})


def timed(**kwargs):
    start = time.perf_counter()
    result = games.estimate(**kwargs)
    return result, time.perf_counter() - start


def in_a_row(runs: int, keep: bool, **kwargs) -> float:
    """Seconds for ``runs`` runs one after another, inside one session or each on its own."""
    start = time.perf_counter()
    with session() if keep else contextlib.nullcontext():
        for _ in range(runs):
            games.estimate(**kwargs)
    return time.perf_counter() - start


def sessions(base: dict, runs: int, workers: int, backends: list[str]) -> list[str]:
    """One line a backend: ``runs`` short runs, each starting its workers, against one session."""
    lines = []
    short = {**base, "trials": 8 * workers}
    for backend in backends:
        alone = in_a_row(runs, False, **short, backend=backend, workers=workers)
        kept = in_a_row(runs, True, **short, backend=backend, workers=workers)
        lines.append(
            f"{backend}: {runs} runs of {short['trials']} trials, each starting its workers "
            f"{alone:.2f} s, in one session {kept:.2f} s ([bold]{alone / kept:.1f}×[/])"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=4, help="runs in a row for the session")
    parser.add_argument("--torch", action="store_true", help="load torch first (ML games do)")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    if args.torch:
        import torch  # noqa: F401
    console = Console()
    table = Table(title=f"{args.trials} trials of ~20 ms, {args.workers} workers")
    for column in ("backend", "seconds", "trials/s", "speedup vs serial", "wins"):
        table.add_column(column)
    base = {"game": Busy(), "adversary": Guess(), "trials": args.trials, "seed": 0, "chunk_size": 4}
    serial, t_serial = timed(**base)
    table.add_row(
        "serial", f"{t_serial:.2f}", f"{args.trials / t_serial:.1f}", "1.00", str(serial.wins)
    )
    process, t_process = timed(**base, backend="process", workers=args.workers)
    assert process.wins == serial.wins
    table.add_row(
        "process",
        f"{t_process:.2f}",
        f"{args.trials / t_process:.1f}",
        f"{t_serial / t_process:.2f}",
        str(process.wins),
    )
    ray_here = not args.no_ray and importlib.util.find_spec("ray") is not None
    rows = sessions(base, args.runs, args.workers, ["process", "ray"] if ray_here else ["process"])
    if ray_here:
        import ray

        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        try:
            timed(**{**base, "trials": 8}, backend="ray")  # warm the workers up
            remote, t_ray = timed(**base, backend="ray")
            assert remote.wins == serial.wins
            table.add_row(
                "ray (local)",
                f"{t_ray:.2f}",
                f"{args.trials / t_ray:.1f}",
                f"{t_serial / t_ray:.2f}",
                str(remote.wins),
            )
            # Overhead per chunk: chunks of one trivial trial, ray against serial.
            chunks = 400
            cheap = {
                "game": OneTimePad(),
                "adversary": Guess(),
                "trials": chunks,
                "seed": 0,
                "chunk_size": 1,
                "batched": False,
            }
            _, t_cheap_serial = timed(**cheap)
            _, t_cheap_ray = timed(**cheap, backend="ray")
            rows.append(
                f"Ray overhead per chunk: {(t_cheap_ray - t_cheap_serial) / chunks * 1e3:.2f} ms "
                f"({chunks} chunks of one trivial trial)"
            )
        finally:
            ray.shutdown()
    console.print(table)
    for row in rows:
        console.print(row)
    console.print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
