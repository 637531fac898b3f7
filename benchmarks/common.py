"""What the benchmarks share: timing with the sides interleaved (best of, and paired ratios),
and the machine line.

Run a benchmark as a script (``python benchmarks/NAME.py``): its folder is then on the
import path, and ``from common import …`` finds this module.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence


def timings(fns: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Each function's wall time in seconds in each repeat. Within a repeat the functions run
    back to back, in an order that turns from one repeat to the next, so that a change of
    load on a shared machine hits every side alike and no side always runs first."""
    times: list[list[float]] = [[] for _ in fns]
    for repeat in range(repeats):
        for k in range(len(fns)):
            i = (repeat + k) % len(fns)
            started = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - started)
    return times


def best_of(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Each function's best wall time in seconds (see :func:`timings`)."""
    return [min(each) for each in timings(fns, repeats)]


def paired(numerator: Sequence[float], denominator: Sequence[float]) -> str:
    """The ratio of two sides' times taken within each repeat, as its median and quartiles.

    On a noisy machine the ratio of two best times moves with the machine from run to run
    (each side's best may come from a quiet moment the other missed); a ratio taken within
    each repeat, where both sides ran back to back, moves much less.
    """
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    q1, median, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return f"{median:.2f} ({q1:.2f}–{q3:.2f})"


def machine(torch: object = None) -> str:
    """``machine: x86_64, 2 CPUs, Python …`` (with torch's version and threads when given),
    and the load average, which matters on a shared machine."""
    parts = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        f"Python {platform.python_version()}",
    ]
    if torch is not None:
        parts.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")  # type: ignore[attr-defined]
    if hasattr(os, "getloadavg"):
        parts.append(f"load average {os.getloadavg()[0]:.1f}")
    return ", ".join(parts)
