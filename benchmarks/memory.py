"""Peak memory of a 10⁶-trial batched run: the engine streams tallies, it holds no outcomes.

Runs the estimate in a fresh interpreter and reports its peak resident memory against that
of the same interpreter after the imports alone.

    python benchmarks/memory.py [--trials 1000000]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys

SNIPPET = """
import resource, sys
import games
from adversaries.otp import TwoTimePad
from games.otp import OneTimePad
trials = int(sys.argv[1])
if trials:
    result = games.estimate(OneTimePad(key_reuse=True), TwoTimePad(), trials=trials, seed=0)
    assert result.trials == trials and result.path == "batch"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_mb(trials: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(trials)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    args = parser.parse_args()
    idle, run = peak_mb(0), peak_mb(args.trials)
    print(
        f"peak RSS: {run:.0f} MB for {args.trials} batched otp trials; {idle:.0f} MB after imports alone; "
        f"the run added {run - idle:.0f} MB (target: total under 500 MB) on {platform.machine()}"
    )


if __name__ == "__main__":
    main()
