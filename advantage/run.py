"""`advantage run`, `advantage show` and `advantage plan`."""

from __future__ import annotations

import argparse

from advantage.common import (
    add_run_options,
    console,
    engine_options,
    estimate_table,
    make_adversary,
    make_game,
    pairs,
    print_json,
    progress,
    show_first_error,
)
from games import runlog, stats
from games.engine import estimate, estimate_from

__all__ = ["add"]


def add(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="play a game against an adversary and estimate its advantage",
        description="Play GAME against the adversary TRIALS times and report its advantage with a "
        "confidence interval. Example: advantage run otp -p key_reuse=true --adversary two-time-pad",
    )
    add_run_options(run)
    run.add_argument("--adversary", required=True, help="adversary name (see `advantage list adversaries`)")
    run.add_argument("--log", help="write a JSON-lines run log here (resumable)")
    run.add_argument("--resume", action="store_true", help="continue the run recorded in --log")
    run.set_defaults(handler=run_command)

    show = sub.add_parser("show", help="print the estimate recorded in a run log", description="Print the "
                          "estimate that a run log supports, from the log alone (no game is played).")
    show.add_argument("log", help="a run log written by `advantage run --log`")
    show.add_argument("--level", type=float, default=None, help="confidence level (default: the run's)")
    show.add_argument("--method", default=None, help="interval method (default: the run's)")
    show.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    show.set_defaults(handler=show_command)

    plan = sub.add_parser(
        "plan", help="trials needed to tell advantage 0 from eps",
        description="How many trials a fixed-size run needs to tell advantage 0 from advantage EPS "
        "(one-sided exact binomial test at the level, with the power asked for).",
    )
    plan.add_argument("--eps", type=float, required=True, help="the advantage to detect, in (0, 1)")
    plan.add_argument("--level", type=float, default=0.95, help="confidence level (default: 0.95)")
    plan.add_argument("--power", type=float, default=0.9, help="chance of detecting eps (default: 0.9)")
    plan.add_argument("--shape", default="hidden-bit", choices=("hidden-bit", "search"))
    plan.add_argument("--baseline", type=float, default=None, help="search games: the trivial win rate")
    plan.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    plan.set_defaults(handler=plan_command)


def run_command(args: argparse.Namespace) -> int:
    game = make_game(args.game, pairs(args.param, "-p"))
    adversary = make_adversary(args.adversary, pairs(args.adv_param, "-a"), args.game)
    with progress(not args.json, f"{args.adversary} vs {args.game}") as update:
        result = estimate(
            game, adversary, trials=args.trials, seed=args.seed, level=args.level, method=args.method,
            log=args.log, resume=args.resume, progress=update, **engine_options(args),
        )
    report(result, args.json)
    return 0


def report(result, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print_json(result.to_json())
    else:
        console.print(estimate_table(result))
        show_first_error(result)


def show_command(args: argparse.Namespace) -> int:
    spec, total = runlog.read(args.log)
    level = args.level if args.level is not None else spec.get("level", 0.95)
    method = args.method or spec.get("method", "clopper-pearson")
    result = estimate_from(spec, total, level=level, method=method)
    if not args.json and total.trials < spec["trials"]:
        console.print(f"[yellow]incomplete run:[/] {total.trials} of {spec['trials']} trials logged")
    report(result, args.json)
    return 0


def plan_command(args: argparse.Namespace) -> int:
    result = stats.plan(args.eps, args.level, args.power, shape=args.shape, baseline=args.baseline)
    if args.json:
        print_json({"eps": result.eps, "level": result.level, "power": result.power,
                    "trials": result.trials, "shape": result.shape, "method": result.method})
    else:
        console.print(
            f"[bold]{result.trials}[/] trials tell advantage 0 from {result.eps} "
            f"({result.level:.0%} confidence, power {result.power:.0%}, {result.method})"
        )
    return 0
