"""Per-trial engine overhead: `games.estimate` on the per-trial path against a bare loop.

The bare loop does the game's and the adversary's own work and what the integrity rules
require of every trial, and nothing else: it makes each trial's two generators the same way
(one-way streams from the seed), hands each trial a fresh copy of the adversary, draws the
hidden bit from the challenger's coins, calls ``setup`` and the adversary with the raw
oracle functions, and counts wins. The engine adds oracle handles with budgets kept on the
challenger's side, answer checks, error capture, tallies and chunking; the difference per
trial is its overhead (target: within 1.2× the bare loop).

    python benchmarks/engine_overhead.py [--trials 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from rich.console import Console
from rich.table import Table

import games
from adversaries.otp import TwoTimePad
from games.engine import seeds
from games.engine.isolation import renewer
from games.otp import OneTimePad


class Raw(dict):
    """The oracle functions as a plain mapping, for the bare loop."""

    public: dict = {}


def bare(game, adversary, trials: int, seed: int) -> int:
    wins = 0
    fresh = renewer(adversary)  # the engine's copier: the same fresh copy per trial
    for index in range(trials):
        challenger, attacker = seeds.pair(seed, index)
        player = fresh()
        b = int(challenger.integers(2))
        challenge = game.setup(b, challenger)
        wins += player(Raw(challenge.oracles), attacker) == b
    return wins


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    game, adversary = OneTimePad(key_reuse=True), TwoTimePad()
    n = args.trials
    reference = bare(game, adversary, n, 0)
    result = games.estimate(game, adversary, trials=n, seed=0, batched=False)
    assert result.wins == reference, "the engine and the bare loop must play the same trials"
    t_bare = best(lambda: bare(game, adversary, n, 0), args.repeats)
    t_engine = best(
        lambda: games.estimate(game, adversary, trials=n, seed=0, batched=False), args.repeats
    )
    t_batch = best(lambda: games.estimate(game, adversary, trials=n, seed=0), args.repeats)
    overhead = (t_engine - t_bare) / n * 1e6
    table = Table(
        title=f"engine overhead, otp key_reuse=True vs two-time-pad, {n} trials (best of {args.repeats})"
    )
    for column in ("loop", "µs/trial", "ratio to bare loop"):
        table.add_column(column)
    table.add_row("bare Python loop", f"{t_bare / n * 1e6:.2f}", "1.00")
    table.add_row(
        "games.estimate, per-trial path", f"{t_engine / n * 1e6:.2f}", f"{t_engine / t_bare:.2f}"
    )
    table.add_row(
        "games.estimate, batched path", f"{t_batch / n * 1e6:.3f}", f"{t_batch / t_bare:.3f}"
    )
    console = Console()
    console.print(table)
    console.print(
        f"engine overhead: [bold]{overhead:.2f} µs/trial[/], {t_engine / t_bare:.2f}× the bare loop "
        f"(target ≤ 1.2×) on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


if __name__ == "__main__":
    main()
