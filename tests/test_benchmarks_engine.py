"""The engine's benchmarks run end to end at small sizes, and their shared timing helpers
(benchmarks/common.py) interleave the sides and pair the ratios as they say."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import paired, timings  # noqa: E402


def test_timings_turn_the_order_so_that_no_side_always_runs_first():
    order: list[str] = []
    times = timings([lambda: order.append("a"), lambda: order.append("b")], 4)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(each) for each in times] == [4, 4]
    # each time is its own function's, whichever ran first: the slow one's are all longer
    slow, quick = timings([lambda: time.sleep(0.02), lambda: None], 3)
    assert min(slow) > 0.02 > max(quick)


def test_paired_ratios_are_taken_within_each_repeat():
    # The sides' best times (2 and 5) give 0.4; within the repeats the ratio is 2 but once.
    assert paired([10.0, 2.0, 10.0, 10.0], [5.0, 10.0, 5.0, 5.0]) == "2.00 (0.65–2.00)"
    assert paired([2.0, 4.0, 8.0, 16.0], [1.0, 2.0, 4.0, 8.0]) == "2.00 (2.00–2.00)"
    assert paired([3.0], [2.0]) == "1.50 (1.50–1.50)"
    median = paired([1.0, 2.0, 3.0, 4.0, 5.0], [1.0] * 5)
    assert median.startswith("3.00 (") and float(median[6:10]) < 3 < float(median[11:15])
    with pytest.raises(ValueError):
        paired([1.0, 2.0], [1.0])  # the repeats must pair up


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_engine_overhead_plays_the_bare_loops_trials_and_prints_both_ratios():
    # The script asserts that the engine and the bare loop win the same trials.
    out = " ".join(_run("engine_overhead.py", "--trials", "300", "--repeats", "3").split())
    assert re.search(r"engine overhead: -?[\d.]+ µs/trial, [\d.]+× the bare loop", out), out
    assert re.search(r"median and quartiles: [\d.]+ \([\d.]+–[\d.]+\)× the bare loop", out), out


def test_batched_prints_a_row_per_game_and_chunk_with_its_paired_ratio():
    out = _run("batched.py", "--trials", "8192", "--chunks", "4096", "--repeats", "3")
    rows = re.findall(
        r"│ (otp|ind-cpa) .*│ 4096 .*│ ([\d.]+) +│ ([\d.]+) \(([\d.]+)–([\d.]+)\)", out
    )
    assert [row[0] for row in rows] == ["otp", "ind-cpa"], out
    for _, best, median, low, high in rows:
        assert float(best) > 0 and float(low) <= float(median) <= float(high)
