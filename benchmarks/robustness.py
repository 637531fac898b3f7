"""Attack steps per second in the robustness games: batched against per point, ours against torchattacks.

Two comparisons, each measured in the same run:

1. **Batched against per-point attacks.** The engine plays ``evasion`` (digits MLP, ℓ∞
   radius 0.1) against PGD on both paths: batched (every trial's point of a chunk attacked
   in one batch, each step one oracle call for all of them) and per trial (each point
   attacked alone, as a loop over points would). The figure is points × steps per second,
   setup and judging included. Target: batched ≥ 10× per point.
2. **Our PGD against torchattacks' PGD, per step, on the same batch.** The same model and
   points (one batched challenge); ours runs through the game's gradient oracle (budget
   accounting, shape checks, the view's conversions, tracking of misclassified iterates),
   torchattacks' calls the model directly. Same steps, step size and random start. Target:
   ours within 1.5× of torchattacks' time per step. Needs ``pip install --no-deps
   torchattacks``.

    python benchmarks/robustness.py [--points 512] [--loop-points 64] [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import machine
from rich.console import Console
from rich.table import Table

import games
from adversaries.robustness import Pgd
from games.robustness.games import Evasion


def engine_rate(game: Evasion, points: int, steps: int, batched: bool) -> float:
    """Points × PGD steps per second of the engine on one path."""
    start = time.perf_counter()
    result = games.estimate(
        game, Pgd(steps=steps), trials=points, seed=0, batched=batched, chunk_size=points
    )
    seconds = time.perf_counter() - start
    if result.trials != points or result.errors:
        raise RuntimeError(f"{result.trials} of {points} trials played: {result.errors}")
    return points * steps / seconds


def ours_per_step(game: Evasion, size: int, steps: int) -> float:
    """Seconds per step of our PGD on one batched challenge, through the oracles."""
    challenge = game.setup_batch(size, np.random.default_rng(0))
    start = time.perf_counter()
    Pgd(steps=steps).batch(challenge.handles(), np.random.default_rng(1), size)
    return (time.perf_counter() - start) / steps


def theirs_per_step(game: Evasion, size: int, steps: int) -> float | None:
    """Seconds per step of torchattacks' PGD on the same model and points (None: absent)."""
    try:
        import torchattacks
    except ImportError:
        return None
    challenge = game.setup_batch(size, np.random.default_rng(0))
    model = torch.nn.Sequential(torch.nn.Flatten(), game.defended().model)
    x = challenge.public["x"].reshape(size, 1, 8, 8)
    y = challenge.public["y"]
    attack = torchattacks.PGD(model, eps=game.eps, alpha=2.5 * game.eps / steps, steps=steps)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        start = time.perf_counter()
        attack(x, y)
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=512, help="points on the batched path")
    parser.add_argument("--loop-points", type=int, default=64, help="points attacked one by one")
    parser.add_argument("--steps", type=int, default=20, help="PGD steps")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the best counts")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    game = Evasion(eps=0.1)
    # Warm up (data, training, kernels) outside the timings.
    games.estimate(game, Pgd(steps=2), trials=8, seed=1)
    games.estimate(game, Pgd(steps=2), trials=2, seed=1, batched=False)

    console = Console()
    batched = max(engine_rate(game, args.points, args.steps, True) for _ in range(args.repeats))
    alone = max(engine_rate(game, args.loop_points, args.steps, False) for _ in range(args.repeats))
    table = Table(title=f"evasion (digits MLP, ℓ∞ 0.1) against PGD-{args.steps}: the engine")
    for column in ("path", "points", "points × steps / s", "ratio"):
        table.add_column(column, justify="left" if column == "path" else "right")
    table.add_row("per point (per-trial path)", str(args.loop_points), f"{alone:,.0f}", "1.0×")
    table.add_row(
        "batched (one chunk)", str(args.points), f"{batched:,.0f}", f"{batched / alone:.1f}×"
    )
    console.print(table)

    ours = min(ours_per_step(game, args.points, args.steps) for _ in range(args.repeats))
    theirs_runs = [theirs_per_step(game, args.points, args.steps) for _ in range(args.repeats)]
    table = Table(title=f"PGD time per step on one batch of {args.points} points")
    for column in ("implementation", "ms / step", "ratio to torchattacks"):
        table.add_column(column, justify="left" if column == "implementation" else "right")
    if None in theirs_runs:
        table.add_row("ours, through the game's oracles", f"{ours * 1e3:.3f}", "—")
        table.add_row("torchattacks.PGD", "not installed (pip install --no-deps torchattacks)", "")
    else:
        theirs = min(t for t in theirs_runs if t is not None)
        table.add_row("torchattacks.PGD, on the model", f"{theirs * 1e3:.3f}", "1.00")
        table.add_row(
            "ours, through the game's oracles", f"{ours * 1e3:.3f}", f"{ours / theirs:.2f}"
        )
    console.print(table, f"{machine(torch)}; best of {args.repeats}", sep="\n")


if __name__ == "__main__":
    main()
