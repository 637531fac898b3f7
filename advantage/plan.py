"""`advantage plan`: the trials needed to tell advantage 0 from eps, fixed or sequential."""

from __future__ import annotations

import argparse
from typing import Any

from advantage.common import add_json_option, console, make_game, pairs, print_json, subcommand
from games import stats
from games.stats.intervals import percent
from games.stats.stopping import certify_stopping
from oracles import InvalidArgument

__all__ = ["add"]

DESCRIPTION = """\
How many trials a fixed-size run needs to tell advantage 0 from advantage EPS (one-sided
exact binomial test at the level, with the power asked for), and how many `advantage
certify` takes at advantage 0. Name a GAME (with -p) to read its shape and baseline from
it, or give --shape (and --baseline for a search game).

A real-vs-ideal game counts the trials in which the adversary names its world: the world
is drawn at random each trial, so that count is binomial with win rate
(1 + advantage)/2, as for a hidden bit (this is how certify decides; `advantage run`
reports a two-sample interval over the two worlds, which is wider).

Examples: advantage plan --eps 0.05
          advantage plan collision -p n=12 --eps 0.1"""

SHAPES = tuple(stats.SHAPES)


def add(sub: argparse._SubParsersAction) -> None:
    plan = subcommand(sub, "plan", "trials needed to tell advantage 0 from eps", DESCRIPTION)
    plan.add_argument(
        "game", nargs="?", help="read the shape and baseline from this game (NAME or NAME:K=V,...)"
    )
    plan.add_argument(
        "-p", "--param", action="append", metavar="KEY=VALUE", help="set a game parameter"
    )
    plan.add_argument("--eps", type=float, required=True, help="the advantage to detect, in (0, 1)")
    plan.add_argument("--level", type=float, default=0.95, help="confidence level (default: 0.95)")
    plan.add_argument(
        "--power", type=float, default=0.9, help="chance of detecting eps (default: 0.9)"
    )
    plan.add_argument("--shape", default=None, choices=SHAPES, help="default: hidden-bit")
    plan.add_argument(
        "--baseline", type=float, default=None, help="search games: the trivial win rate"
    )
    plan.add_argument(
        "--sims",
        type=int,
        default=400,
        help="simulated certify runs for its stopping time (default: 400)",
    )
    plan.add_argument("--seed", type=int, default=0, help="seed of the simulation (default: 0)")
    add_json_option(plan)
    plan.set_defaults(handler=plan_command)


def _shape_and_baseline(args: argparse.Namespace) -> tuple[str, float | None]:
    """The shape and (for a search game) baseline: the game's, or as given."""
    if args.game is None:
        if args.param:
            raise InvalidArgument("-p sets a parameter of the game: name a GAME too")
        shape = stats.shape_of(args.shape or "hidden-bit")
        if args.baseline is not None and shape != "search":
            raise InvalidArgument(
                f"--baseline is the trivial win rate of a search game; a {shape} game's is "
                "fixed (1/2): drop --baseline, or give --shape search"
            )
        return shape, None if shape.hidden else args.baseline
    game = make_game(args.game, pairs(args.param, "-p"))
    if args.shape not in (None, game.shape):
        raise InvalidArgument(f"--shape {args.shape}: {args.game} is a {game.shape} game")
    if args.baseline is not None:
        raise InvalidArgument(f"--baseline: {args.game} states its own ({game.baseline:.6g})")
    return game.shape, None if game.shape.hidden else game.baseline


def _certify_line(eps: float, certify: dict[str, Any]) -> str:
    head = f"certify (advantage ≤ {eps}, alpha {certify['alpha']:g}) at advantage 0"
    if "wald" in certify:
        return (
            f"{head} needs about [bold]{certify['wald']:,.0f}[/] trials or more (Wald's "
            "approximation; runs this long are not simulated)"
        )
    undecided = (
        f"; {certify['undecided']:.0%} undecided at {certify['max_trials']:,}"
        if certify["undecided"]
        else ""
    )
    return (
        f"{head} stops after [bold]{certify['median']:,.0f}[/] trials, median "
        f"({certify['quantile_90']:,.0f} 90th percentile) by simulation of {certify['sims']} "
        f"runs (seed {certify['seed']}){undecided}"
    )


def plan_command(args: argparse.Namespace) -> int:
    shape, baseline = _shape_and_baseline(args)
    # A real-vs-ideal trial is won by naming its world: binomial at (1 + advantage)/2.
    counted = "hidden-bit" if shape == "real-vs-ideal" else shape
    result = stats.plan(args.eps, args.level, args.power, shape=counted, baseline=baseline)
    # certify "advantage <= eps" with alpha = 1 - level, at true advantage 0: the mirror image
    # of the fixed test (which tells advantage 0 from eps).
    alpha = round(1 - result.level, 12)
    certify = certify_stopping(
        result.eps, alpha, counted, baseline, sims=args.sims, seed=args.seed, trials=result.trials
    )
    counts = "trials in which the adversary names its world" if shape == "real-vs-ideal" else "wins"
    if args.json:
        print_json(
            {
                "eps": result.eps,
                "level": result.level,
                "power": result.power,
                "trials": result.trials,
                "shape": shape,
                "game": args.game,
                "baseline": result.p0 if shape == "search" else None,
                "counts": counts,
                "method": result.method,
                "certify": certify,
            }
        )
        return 0
    named = f"{args.game}, a {shape} game" if args.game else shape
    console.print(
        f"[bold]{result.trials:,}[/] trials tell advantage 0 from {result.eps} "
        f"({percent(result.level)} confidence, power {result.power:.0%}, {result.method}; "
        f"{named}, counting {counts})"
    )
    console.print(_certify_line(result.eps, certify))
    return 0
