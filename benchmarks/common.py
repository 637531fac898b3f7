"""What the benchmarks share: best-of timing with the sides interleaved, and the machine line.

Run a benchmark as a script (``python benchmarks/NAME.py``): its folder is then on the
import path, and ``from common import …`` finds this module.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence


def best_of(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Each function's best wall time in seconds, the repeats interleaved so that a change
    of load on a shared machine hits every side alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best


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
