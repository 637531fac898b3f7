"""Trials per second of the ``unlearning`` game: the batched path against model-by-model training.

For each method, the same game is played by the engine on both paths against ``guess`` (an
adversary that costs nothing, so the figures are the challenger's: training A, running U,
publishing):

- batched: a chunk of trials (both worlds) trains in a few calls of the privacy domain's
  batched trainer: A for every trial, U for the real ones;
- model by model: the per-trial path, which trains each trial's models alone (A, then U in
  the real world; A on D \\ S in the ideal one), as a Python loop over models would.

Both paths run in the same process, one after the other; the ratio is of their trials/s.

    python benchmarks/unlearning.py [--trials 1024] [--loop-trials 64] [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import machine
from rich.console import Console
from rich.table import Table

import games
from adversaries.generic import Guess
from games.unlearning import Unlearning

# Breast cancer (569 records, 30 features), logistic regression, |D| = 128, |S| = 8.
COMMON = {"dataset": "breast-cancer", "model": "logreg", "training_size": 128, "forget_size": 8}
METHODS = {
    "retrain": {"method": "retrain", "epochs": 10, "batch_size": 32},
    "sisa": {"method": "sisa", "shards": 4, "epochs": 10, "batch_size": 32},
    "finetune": {"method": "finetune", "epochs": 10, "batch_size": 32, "unlearn_epochs": 2},
    "gradient-ascent": {"method": "gradient-ascent", "epochs": 10, "unlearn_epochs": 2},
    "noisy-descent": {
        "method": "noisy-descent",
        "epochs": 40,
        "unlearn_epochs": 2,
        "l2": 0.5,
        "noise": 0.125,
        "delta": 0.01,
    },
}


def rate(game: Unlearning, trials: int, batched: bool, device: str) -> float:
    """Trials per second of the engine on one path (the best of the runs asked for)."""
    start = time.perf_counter()
    result = games.estimate(
        game, Guess(), trials=trials, seed=0, batched=batched, chunk_size=trials, device=device
    )
    seconds = time.perf_counter() - start
    if result.trials != trials:
        raise RuntimeError(f"{result.trials} of {trials} trials played: {result.errors}")
    return trials / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1024, help="trials on the batched path")
    parser.add_argument(
        "--loop-trials", type=int, default=64, help="trials on the model-by-model path"
    )
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="runs of each path; the best counts")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    table = Table(
        title=f"unlearning: trials/s, batched ({args.trials} trials in one chunk) against "
        f"model by model ({args.loop_trials} trials)"
    )
    for column in ("method", "models per real / ideal trial", "batched", "model by model", "ratio"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name in args.methods:
        game = Unlearning(**COMMON, **METHODS[name])
        # Warm up (population, scheme, torch kernels) outside the timings.
        games.estimate(game, Guess(), trials=4, seed=1, device=args.device)
        games.estimate(game, Guess(), trials=2, seed=1, batched=False, device=args.device)
        ours = max(rate(game, args.trials, True, args.device) for _ in range(args.repeats))
        theirs = max(rate(game, args.loop_trials, False, args.device) for _ in range(args.repeats))
        models = "4+≤4 / 4" if name == "sisa" else "2 / 1"
        table.add_row(name, models, f"{ours:,.1f}", f"{theirs:,.1f}", f"{ours / theirs:.1f}×")
    Console().print(
        table,
        f"{machine(torch)}, device {args.device}; adversary: guess (the figures are the challenger's)",
        sep="\n",
    )


if __name__ == "__main__":
    main()
