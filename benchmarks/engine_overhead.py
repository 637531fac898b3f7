"""Per-trial engine overhead: `games.estimate` on the per-trial path against a bare loop.

The bare loop does the game's and the adversary's own work and what every trial requires,
and nothing else: it makes each trial's two generators the same way (one-way streams from
the seed), hands each trial a fresh copy of the adversary, draws the hidden bit from the
challenger's coins, calls ``setup``, gives the adversary each oracle behind the cheapest
hand-written budget (a counter in a closure: a game's budget is part of the game, so a loop
without it plays another game), and judges the answer by the game's ``judge``. The engine
adds its oracle handles (accounts read on the challenger's side), error capture, tallies and
chunking; the difference per trial is its overhead (target: within 1.2× the bare loop).
For comparison the table also gives the loop that hands over the raw oracle functions. The
ratio of best times moves with a noisy machine, so the ratio within each repeat (both loops
back to back) is given too, as its median and quartiles.

    python benchmarks/engine_overhead.py [--trials 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import machine, paired, timings
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


def budgeted(answer, budget):
    """The cheapest handle that keeps a budget: a counter in a closure (None: unlimited)."""
    if budget is None:
        return answer
    left = budget

    def call(*args):
        nonlocal left
        if left <= 0:
            raise RuntimeError("over budget")
        left -= 1
        return answer(*args)

    return call


def bare(game, adversary, trials: int, seed: int, budgets: bool = True) -> int:
    wins = 0
    fresh = renewer(adversary)  # the engine's copier: the same fresh copy per trial
    for index in range(trials):
        challenger, attacker = seeds.pair(seed, index)
        player = fresh()
        b = int(challenger.integers(2))
        challenge = game.setup(b, challenger)
        oracles = Raw(challenge.oracles)
        if budgets:
            limits = challenge.budgets
            oracles = Raw({k: budgeted(f, limits.get(k)) for k, f in challenge.oracles.items()})
        oracles.public = challenge.public
        wins += game.judge(challenge, b, player(oracles, attacker))
    return wins


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
    times = timings(
        [
            lambda: bare(game, adversary, n, 0),
            lambda: bare(game, adversary, n, 0, budgets=False),
            lambda: games.estimate(game, adversary, trials=n, seed=0, batched=False),
            lambda: games.estimate(game, adversary, trials=n, seed=0),
        ],
        args.repeats,
    )
    t_bare, t_raw, t_engine, t_batch = map(min, times)
    overhead = (t_engine - t_bare) / n * 1e6
    table = Table(
        title=f"engine overhead, otp key_reuse=True vs two-time-pad, {n} trials (best of {args.repeats})"
    )
    for column in ("loop", "µs/trial", "ratio to bare loop"):
        table.add_column(column)
    table.add_row("bare Python loop (budgeted oracles)", f"{t_bare / n * 1e6:.2f}", "1.00")
    table.add_row(
        "bare loop, raw oracles (no budget)", f"{t_raw / n * 1e6:.2f}", f"{t_raw / t_bare:.2f}"
    )
    table.add_row(
        "games.estimate, per-trial path", f"{t_engine / n * 1e6:.2f}", f"{t_engine / t_bare:.2f}"
    )
    table.add_row(
        "games.estimate, batched path", f"{t_batch / n * 1e6:.3f}", f"{t_batch / t_bare:.3f}"
    )
    Console().print(
        table,
        f"engine overhead: [bold]{overhead:.2f} µs/trial[/], {t_engine / t_bare:.2f}× the bare "
        f"loop, {t_engine / t_raw:.2f}× the raw one (target ≤ 1.2×); within each repeat, "
        f"median and quartiles: {paired(times[2], times[0])}× the bare loop",
        f"{machine()}, numpy {np.__version__}",
        sep="\n",
    )


if __name__ == "__main__":
    main()
