"""Trials saved by certifying with a confidence sequence instead of a fixed-size experiment.

For each case the confidence sequence (``games.stats.sequential``, wrong-decision chance ≤ 5%)
looks after every trial and stops when decided; the table gives the median and 90th
percentile of its stopping trials over ``--sims`` simulated runs. It is compared with

(a) the fixed n that ``games.stats.plan`` chooses (one-sided exact test at 95%, power 0.9),
    with the chance that a one-sided 95% Clopper–Pearson bound decides at that n (plan
    sizes the test of advantage 0 against eps, the mirror image of certifying; for a search
    game with baseline 0 that test is much easier, so CP also gets its own n: the smallest,
    found by bisection, at which it decides with probability at least 0.9); and
(b) the smallest fixed n at which a two-sided 95% Hoeffding interval decides with
    probability at least 0.9.

    COLUMNS=160 python benchmarks/certify_savings.py [--sims 1000] [--seed 0]

With ``--through-engine`` a second table runs ``games.certify`` itself on synthetic games
with the same win probabilities (``games.synthetic``: a biased coin for the hidden bit, a
lottery for search), ``--engine-runs`` runs with seeds 0, 1, ... on the batched path and a
quarter as many on the per-trial path, and compares its stopping times with the simulation's.
"Same stop" replays the first runs' trials with ``games.engine.certify.play_outcomes`` and checks that
certify stopped exactly where the confidence sequence's thresholds
(``Certifier.boundaries``) are first crossed.

    COLUMNS=160 python benchmarks/certify_savings.py --through-engine [--engine-runs 200]
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from scipy import special
from scipy import stats as sps

from games import stats
from games.engine.certify import certify, play_outcomes
from games.stats import sequential, stopping
from games.synthetic import Coin, Draw, Hint, Lottery

ALPHA = 0.05
POWER = 0.9

# (label, shape, baseline, eps, true advantage, target on the median, target text)
CASES = [
    ("hidden bit, adv 0, eps 0.05", "hidden-bit", None, 0.05, 0.0, "ratio", "≤ 1.7 × (a)"),
    ("hidden bit, adv 0.5, eps 0.1", "hidden-bit", None, 0.1, 0.5, 200, "< 200"),
    ("search, Pr[win] 0, eps 0.01", "search", 0.0, 0.01, 0.0, 500, "< 500"),
]


def cp_power_at(n: int, p: float, p_eps: float, below: bool) -> float:
    """Chance that a one-sided 95% Clopper–Pearson bound decides at n when the truth is p."""
    k = np.arange(n + 1)
    if below:  # upper bound ≤ p_eps
        upper = np.where(k < n, special.betaincinv(k + 1, np.maximum(n - k, 1), 1 - ALPHA), 1.0)
        decided = upper <= p_eps
    else:  # lower bound > p_eps
        lower = np.where(k > 0, special.betaincinv(np.maximum(k, 1), n - k + 1, ALPHA), 0.0)
        decided = lower > p_eps
    return float(sps.binom.pmf(k, n, p)[decided].sum())


def cp_n(p: float, p_eps: float, below: bool) -> int:
    """About the smallest n at which the one-sided 95% CP bound decides with chance ≥ POWER."""
    low, high = 0, 1
    while cp_power_at(high, p, p_eps, below) < POWER:
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if cp_power_at(mid, p, p_eps, below) >= POWER else (mid, high)
    return high


def hoeffding_n(p: float, p_eps: float, below: bool) -> int:
    """Smallest n at which the two-sided 95% Hoeffding interval decides with chance ≥ POWER."""
    gap = abs(p_eps - p)
    guess = math.log(2 / ALPHA) / (2 * gap**2)
    n = np.arange(1, int(4 * guess) + 100)
    half = np.sqrt(math.log(2 / ALPHA) / (2 * n))
    if below:  # k/n + half ≤ p_eps
        most = np.floor(n * (p_eps - half) + 1e-9)
        chance = np.where(most >= 0, sps.binom.cdf(most, n, p), 0.0)
    else:  # k/n − half > p_eps
        least = np.floor(n * (p_eps + half) + 1e-9) + 1
        chance = sps.binom.sf(least - 1, n, p)
    return int(n[np.argmax(chance >= POWER)])


def synthetic(shape: str, baseline: float | None, adv: float):  # type: ignore[no-untyped-def]
    """A game and adversary whose win probability is that of the case."""
    if shape == "hidden-bit":
        return Coin(advantage=adv), Hint()
    # baseline 2^-62: zero to double precision next to the eps of the cases
    return Lottery(p=(baseline or 0.0) + adv, queries=1, n=62), Draw()


def replayed_stop(game, adversary, cert, seed: int, batched: bool, chunk: int, horizon: int) -> int:  # type: ignore[no-untyped-def]
    """Where the thresholds are first crossed on the engine's own trials of this seed."""
    outcomes = np.concatenate(
        [
            play_outcomes(game, adversary, seed, a, min(a + chunk, horizon), batched)[1]
            for a in range(0, horizon, chunk)
        ]
    )
    wins = np.cumsum(outcomes == 1)
    most_below, least_above = cert.boundaries(horizon)
    hit = (wins <= most_below) | (wins >= least_above)
    return int(np.argmax(hit)) + 1 if hit.any() else horizon


def through_engine(args: argparse.Namespace, console: Console) -> None:
    table = Table(
        title=f"certify through the engine (games.certify on games.synthetic, α = {ALPHA}, seeds 0..R-1) "
        f"against the simulation ({args.sims} runs)"
    )
    for column in (
        "case",
        "path",
        "runs",
        "median",
        "90%",
        "wrong",
        "sim median",
        "sim 90%",
        "same stop",
        "ms / run",
    ):
        table.add_column(column, justify="left" if column in ("case", "path") else "right")
    for label, shape, baseline, eps, adv, _target, _text in CASES:
        cert = sequential.certifier(eps, alpha=ALPHA, shape=shape, baseline=baseline)
        p_zero = 0.5 if shape == "hidden-bit" else baseline
        p = p_zero + (adv / 2 if shape == "hidden-bit" else adv)
        wrong_side = "above" if p <= cert.p_eps else "below"
        sim = stopping.simulate(
            p,
            cert,
            sims=args.sims,
            max_trials=args.max_trials,
            rng=np.random.default_rng(args.seed),
        )
        game, adversary = synthetic(shape, baseline, adv)
        engine_cert = sequential.certifier(
            eps, alpha=ALPHA, shape=shape, baseline=game.baseline if shape == "search" else None
        )
        for batched, runs in ((True, args.engine_runs), (False, max(1, args.engine_runs // 4))):
            stops, decisions = [], []
            started = time.perf_counter()
            for seed in range(runs):
                c = certify(
                    game,
                    adversary,
                    eps=eps,
                    alpha=ALPHA,
                    max_trials=args.max_trials,
                    seed=seed,
                    batched=batched,
                    chunk_size=256,
                )
                stops.append(c.trials)
                decisions.append(c.decision)
            per_run = (time.perf_counter() - started) / runs * 1000
            checks = min(runs, 10)
            same = sum(
                replayed_stop(game, adversary, engine_cert, seed, batched, 256, stops[seed] + 256)
                == stops[seed]
                for seed in range(checks)
            )
            table.add_row(
                escape(label),
                "batched" if batched else "per trial",
                str(runs),
                f"{np.median(stops):,.0f}",
                f"{np.quantile(stops, 0.9):,.0f}",
                f"{np.mean(np.array(decisions) == wrong_side):.1%}",
                f"{np.median(sim.trials):,.0f}",
                f"{np.quantile(sim.trials, 0.9):,.0f}",
                f"{same}/{checks}",
                f"{per_run:.1f}",
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000, help="simulated runs per case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-trials", type=int, default=200_000)
    parser.add_argument(
        "--through-engine", action="store_true", help="also run games.certify itself"
    )
    parser.add_argument(
        "--engine-runs", type=int, default=200, help="certify runs per case (batched path)"
    )
    args = parser.parse_args()

    table = Table(
        title=f"certify: confidence sequence vs fixed n (α = {ALPHA}, {args.sims} runs, seed {args.seed})"
    )
    for column in (
        "case",
        "decides",
        "CS median",
        "CS 90%",
        "CS wrong",
        "(a) plan n",
        "CP power at (a)",
        "CP n",
        "(b) Hoeffding n",
        "median / (a)",
        "target",
        "met",
    ):
        table.add_column(column, justify="left" if column in ("case", "target") else "right")

    started = time.perf_counter()
    for label, shape, baseline, eps, adv, target, target_text in CASES:
        cert = sequential.certifier(eps, alpha=ALPHA, shape=shape, baseline=baseline)
        p_zero = 0.5 if shape == "hidden-bit" else baseline
        p = p_zero + (adv / 2 if shape == "hidden-bit" else adv)
        below = p <= cert.p_eps
        runs = stopping.simulate(
            p,
            cert,
            sims=args.sims,
            max_trials=args.max_trials,
            rng=np.random.default_rng(args.seed),
        )
        median = float(np.median(runs.trials))
        wrong = float(np.mean(runs.decisions == ("above" if below else "below")))
        planned = stats.plan(eps, 1 - ALPHA, POWER, shape=shape, baseline=baseline).trials
        ratio = median / planned
        met = ratio <= 1.7 if target == "ratio" else median < target
        table.add_row(
            escape(label),
            "below" if below else "above",
            f"{median:,.0f}",
            f"{np.quantile(runs.trials, 0.9):,.0f}",
            f"{wrong:.1%}",
            f"{planned:,}",
            f"{cp_power_at(planned, p, cert.p_eps, below):.0%}",
            f"{cp_n(p, cert.p_eps, below):,}",
            f"{hoeffding_n(p, cert.p_eps, below):,}",
            f"{ratio:.2f}",
            target_text,
            "yes" if met else "NO",
        )
    console = Console()
    console.print(table)
    if args.through_engine:
        through_engine(args, console)
    console.print(
        f"{time.perf_counter() - started:.1f} s on {platform.machine()} "
        f"({platform.processor() or platform.platform()}), Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
