"""`advantage run`, `advantage show` and `advantage plan`."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table

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
from games import stats
from games.engine import estimate, estimate_from, runlog
from games.engine.ensemble import CORRECTIONS, Ensemble, estimate_best
from games.registry import ADVERSARIES, parameters
from games.stats import stopping
from oracles import InvalidArgument

__all__ = ["add", "read_log"]


def add(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="play a game against an adversary and estimate its advantage",
        description="Play GAME against the adversary TRIALS times and report its advantage with a "
        "confidence interval. Example: advantage run otp -p key_reuse=true --adversary two-time-pad",
    )
    add_run_options(run)
    run.add_argument(
        "--adversary",
        required=True,
        action="append",
        metavar="NAME[:K=V,...]",
        help="adversary name (see `advantage list adversaries`), optionally with its own "
        "parameters; repeat it to play several on the same trials and report the ensemble's "
        "worst case (-a then sets a parameter of every adversary that has it)",
    )
    run.add_argument(
        "--correction",
        choices=CORRECTIONS,
        default="bonferroni",
        help="several adversaries: how the best one's interval accounts for choosing it "
        "(default: bonferroni)",
    )
    run.add_argument("--log", help="write a JSON-lines run log here (resumable)")
    run.add_argument("--resume", action="store_true", help="continue the run recorded in --log")
    run.set_defaults(handler=run_command)

    show = sub.add_parser(
        "show",
        help="print the estimate recorded in a run log",
        description="Print the "
        "estimate that a run log supports, from the log alone (no game is played).",
    )
    show.add_argument("log", help="a run log written by `advantage run --log`")
    show.add_argument(
        "--level", type=float, default=None, help="confidence level (default: the run's)"
    )
    show.add_argument("--method", default=None, help="interval method (default: the run's)")
    show.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    show.set_defaults(handler=show_command)

    plan = sub.add_parser(
        "plan",
        help="trials needed to tell advantage 0 from eps",
        description="How many trials a fixed-size run needs to tell advantage 0 from advantage EPS "
        "(one-sided exact binomial test at the level, with the power asked for).",
    )
    plan.add_argument("--eps", type=float, required=True, help="the advantage to detect, in (0, 1)")
    plan.add_argument("--level", type=float, default=0.95, help="confidence level (default: 0.95)")
    plan.add_argument(
        "--power", type=float, default=0.9, help="chance of detecting eps (default: 0.9)"
    )
    plan.add_argument("--shape", default="hidden-bit", choices=("hidden-bit", "search"))
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
    plan.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    plan.set_defaults(handler=plan_command)


def run_command(args: argparse.Namespace) -> int:
    game = make_game(args.game, pairs(args.param, "-p"))
    if len(args.adversary) > 1:
        return ensemble_command(args, game)
    name, inline = split_adversary(args.adversary[0])
    adversary = make_adversary(name, {**pairs(args.adv_param, "-a"), **inline}, args.game)
    with progress(not args.json, f"{name} vs {args.game}") as update:
        result = estimate(
            game,
            adversary,
            trials=args.trials,
            seed=args.seed,
            level=args.level,
            method=args.method,
            log=args.log,
            resume=args.resume,
            progress=update,
            **engine_options(args),
        )
    report(result, args.json)
    return 0


def ensemble_command(args: argparse.Namespace, game: Any) -> int:
    """Several adversaries on the same trials: each one's advantage and the ensemble's."""
    if args.log or args.resume:
        raise InvalidArgument("--log and --resume record one adversary's run; give one --adversary")
    # -a applies to every adversary that has the parameter (it must fit at least one);
    # NAME:k=v,... sets a parameter of that adversary alone.
    given = pairs(args.adv_param, "-a")
    named = [split_adversary(text) for text in args.adversary]
    adversaries = [
        make_adversary(name, {**{k: given[k] for k in _accepted(name, given)}, **inline}, args.game)
        for name, inline in named
    ]
    unused = set(given) - {k for name, _ in named for k in _accepted(name, given)}
    if unused:
        raise InvalidArgument(
            f"-a {', '.join(sorted(unused))}: no adversary given has this parameter"
        )
    what = f"{len(adversaries)} adversaries vs {args.game}"
    with progress(not args.json, what) as update:
        result = estimate_best(
            game,
            adversaries,
            trials=args.trials,
            seed=args.seed,
            level=args.level,
            method=args.method,
            correction=args.correction,
            progress=update,
            **engine_options(args),
        )
    if args.json:
        print_json(result.to_json())
    else:
        console.print(ensemble_table(result))
        for estimate_ in result.adversaries:
            show_first_error(estimate_)
    return 0


def split_adversary(text: str) -> tuple[str, dict[str, str]]:
    """``"birthday:q=16,x=1"`` as ``("birthday", {"q": "16", "x": "1"})``."""
    name, _, rest = text.partition(":")
    items = [item for item in rest.split(",") if item.strip()] if rest else []
    return name.strip(), pairs(items, f"--adversary {name}:")


def _accepted(name: str, given: dict[str, str]) -> list[str]:
    fields = parameters(ADVERSARIES.get(name))
    return [k for k in given if k in fields or k.replace("-", "_") in fields]


def ensemble_table(result: Ensemble) -> Table:
    """One row per adversary, then the ensemble's rows."""
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    if result.correction == "bonferroni":
        note = f"per-adversary intervals at {result.adversaries[0].level:.2%} (bonferroni over {len(result.labels)})"
    else:
        note = "per-adversary intervals on the selection split, not corrected"
    table = Table(
        title=escape(f"{len(result.labels)} adversaries vs {result.game} ({params})"),
        caption=escape(
            f"{result.trials} trials, seed {result.seed}, the same trials for every adversary; {note}"
        ),
    )
    for column in ("adversary", "trials", "wins", "advantage", "interval", "method"):
        table.add_column(column, justify="left" if column in ("adversary", "method") else "right")
    for label, e in zip(result.labels, result.adversaries, strict=True):
        table.add_row(
            escape(label),
            str(e.trials),
            str(e.wins),
            f"{e.advantage:+.4f}",
            escape(f"[{e.ci_low:+.4f}, {e.ci_high:+.4f}]"),
            escape(f"{e.level:.2%} {e.method}"),
        )
    best = result.best
    table.add_row(
        escape(f"best: {best.adversary}"),
        str(best.trials),
        "",
        f"[bold]{best.advantage:+.4f}[/]",
        escape(f"[{best.ci_low:+.4f}, {best.ci_high:+.4f}]"),
        escape(f"{best.level:.0%} {best.method}; {best.correction}"),
        end_section=result.union is None,
    )
    if result.union is not None:
        u = result.union
        table.add_row(
            escape(f"any of {len(result.labels)} wins"),
            str(u.trials),
            str(u.wins),
            f"[bold]{u.advantage:+.4f}[/]",
            escape(f"[{u.ci_low:+.4f}, {u.ci_high:+.4f}]"),
            escape(f"{u.level:.0%} {u.method}"),
        )
    return table


def report(result, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print_json(result.to_json())
    else:
        console.print(estimate_table(result))
        show_first_error(result)


def read_log(
    path: str, level: float | None = None, method: str | None = None
) -> tuple[dict[str, Any], Any]:
    """A run log's spec and the estimate it supports (at the run's level and method unless
    given); the log is checked as it is read (see :mod:`games.engine.runlog`)."""
    spec, total = runlog.read(path)
    level = level if level is not None else spec.get("level", 0.95)
    method = method or spec.get("method", "clopper-pearson")
    return spec, estimate_from(spec, total, level=level, method=method)


def show_command(args: argparse.Namespace) -> int:
    spec, result = read_log(args.log, args.level, args.method)
    if not args.json and result.trials < spec["trials"]:
        console.print(
            f"[yellow]incomplete run:[/] {result.trials} of {spec['trials']} trials logged"
        )
    report(result, args.json)
    return 0


SIMULATION_LIMIT = 1_000_000  # trials a certify run may need before plan stops simulating it


def plan_command(args: argparse.Namespace) -> int:
    result = stats.plan(args.eps, args.level, args.power, shape=args.shape, baseline=args.baseline)
    # certify "advantage <= eps" with alpha = 1 - level, at true advantage 0: the mirror image
    # of the fixed test (which tells advantage 0 from eps).
    alpha = round(1 - result.level, 12)
    baseline = args.baseline if args.shape == "search" else None
    wald = stopping.wald_stopping(result.eps, 0.0, alpha, result.shape, baseline)
    certify: dict[str, Any] = {
        "advantage": 0.0,
        "alpha": alpha,
        "method": "beta-mixture confidence sequence",
    }
    if wald > SIMULATION_LIMIT:
        certify |= {
            "wald": wald,
            "how": f"Wald's approximation log(1/alpha)/KL; a simulation of runs this long "
            f"(over {SIMULATION_LIMIT:,} trials each) would take too long",
        }
        line = (
            f"certify (advantage ≤ {result.eps}, alpha {alpha:g}) at advantage 0 needs about "
            f"[bold]{wald:,.0f}[/] trials or more (Wald's approximation; runs this long are not "
            "simulated)"
        )
    else:
        runs = stopping.expected_stopping(
            result.eps, 0.0, alpha, result.shape, baseline, sims=args.sims,
            max_trials=max(100_000, 20 * result.trials), rng=args.seed,
        )  # fmt: skip
        how = f"by simulation of {runs.sims} runs (seed {args.seed})"
        certify |= {
            "median": runs.median,
            "quantile_90": runs.quantile_90,
            "mean": runs.mean,
            "sims": runs.sims,
            "seed": args.seed,
            "undecided": runs.undecided,
            "max_trials": runs.max_trials,
            "how": f"median (90th percentile) {how}",
        }
        undecided = (
            f"; {runs.undecided:.0%} undecided at {runs.max_trials:,}" if runs.undecided else ""
        )
        line = (
            f"certify (advantage ≤ {result.eps}, alpha {alpha:g}) at advantage 0 stops after "
            f"[bold]{runs.median:,.0f}[/] trials, median ({runs.quantile_90:,.0f} 90th "
            f"percentile) {how}{undecided}"
        )
    if args.json:
        print_json(
            {
                "eps": result.eps,
                "level": result.level,
                "power": result.power,
                "trials": result.trials,
                "shape": result.shape,
                "method": result.method,
                "certify": certify,
            }
        )
    else:
        console.print(
            f"[bold]{result.trials:,}[/] trials tell advantage 0 from {result.eps} "
            f"({result.level:.0%} confidence, power {result.power:.0%}, {result.method})"
        )
        console.print(line)
    return 0
