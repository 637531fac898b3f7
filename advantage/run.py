"""`advantage run` and `advantage show`."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from advantage.common import (
    add_adversary_option,
    add_json_option,
    add_run_options,
    console,
    estimate_json,
    estimate_table,
    make_adversary,
    make_game,
    pairs,
    play_options,
    print_json,
    progress,
    show,
    show_first_error,
    split_spec,
    subcommand,
)
from advantage.layout import Column, Stacked, fitted
from games.engine import Estimate, estimate, estimate_from, runlog
from games.engine.ensemble import CORRECTIONS, Ensemble, estimate_best
from games.registry import ADVERSARIES, cost_of, name_of, parameters
from games.stats.intervals import percent
from oracles import InvalidArgument

__all__ = ["add", "read_log"]

DESCRIPTION = """\
Play GAME against the adversary TRIALS times and report its advantage with a confidence
interval. Several --adversary play the same trials; the ensemble's worst case is reported
with its interval corrected for the choice.

Example: advantage run otp -p key_reuse=true --adversary two-time-pad"""


def add(sub: argparse._SubParsersAction) -> None:
    run = subcommand(
        sub, "run", "play a game against an adversary and estimate its advantage", DESCRIPTION
    )
    add_run_options(run)
    add_adversary_option(run, several=True)
    run.add_argument(
        "--correction",
        choices=CORRECTIONS,
        default="bonferroni",
        help="several adversaries: how the best one's interval accounts for choosing it "
        "(default: bonferroni)",
    )
    run.add_argument(
        "--utility",
        action="store_true",
        help="also play the defense's cost game on honest input (clean-error for evasion, "
        "benign-refusal for jailbreak: `advantage list games NAME` names it) with the same "
        "parameters, trials and seed, and report the utility, 1 - its win rate, with its "
        "interval next to the advantage",
    )
    run.add_argument("--log", help="write a JSON-lines run log here (resumable)")
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the run recorded in --log (with its seed when --seed is not given)",
    )
    run.set_defaults(handler=run_command)

    show_ = subcommand(
        sub,
        "show",
        "print the estimate recorded in a run log",
        "Print the estimate that a run log supports, from the log alone (no game is played).",
    )
    show_.add_argument("log", help="a run log written by `advantage run --log`")
    show_.add_argument(
        "--level", type=float, default=None, help="confidence level (default: the run's)"
    )
    show_.add_argument("--method", default=None, help="interval method (default: the run's)")
    add_json_option(show_)
    show_.set_defaults(handler=show_command)


def run_command(args: argparse.Namespace) -> int:
    game = make_game(args.game, pairs(args.param, "-p"))
    cost = _cost(args, game)  # before the run: a wrong flag should not wait for it
    if len(args.adversary) > 1:
        return ensemble_command(args, game, cost)
    (spec,) = args.adversary
    adversary = make_adversary(spec, pairs(args.adv_param, "-a"), args.game)
    with progress(args.json, f"{split_spec(spec)[0]} vs {args.game}") as update:
        result = estimate(
            game, adversary, log=args.log, resume=args.resume, progress=update,
            **play_options(args),
        )  # fmt: skip
    return _report(args, result, cost, estimate_table)


def _cost(args: argparse.Namespace, game: Any) -> Any:
    """The game's cost game when ``--utility`` asks for it (else None)."""
    if not args.utility:
        return None
    cost = cost_of(game)
    if args.log or args.resume:
        raise InvalidArgument(
            f"--utility plays a second game, {name_of(cost)}, which --log would not record: "
            f"log it in a run of its own (advantage run {name_of(cost)} --adversary constant "
            "--log ...)"
        )
    return cost


def _utility(args: argparse.Namespace, cost: Any, seed: int) -> Estimate:
    """The cost game played as the run was (its trials, seed, level and engine options),
    by ``constant``: its adversary is given nothing and its answer is not read."""
    name = name_of(cost)
    constant = make_adversary("constant", {}, name)
    with progress(args.json, f"utility: {name}") as update:
        return estimate(cost, constant, progress=update, **{**play_options(args), "seed": seed})


def _utility_json(cost: Estimate) -> dict[str, Any]:
    """The utility, 1 − the cost game's win rate, its interval, and the cost game's run."""
    low, high = _utility_interval(cost)
    return {
        "utility": 1 - cost.win_rate,
        "ci_low": low,
        "ci_high": high,
        "cost": estimate_json(cost),
    }


def _utility_interval(cost: Estimate) -> tuple[float, float]:
    # The cost game's win rate is its advantage above its baseline: 1 − that, flipped.
    return 1 - (cost.ci_high + cost.baseline), 1 - (cost.ci_low + cost.baseline)


def _utility_table(cost: Estimate) -> Any:
    """Two rows under a run's table: the utility with its interval, and how it was measured."""
    low, high = _utility_interval(cost)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", min_width=len("queries per trial"))
    table.add_column()
    table.add_row(
        "utility",
        Text.assemble(
            (f"{1 - cost.win_rate:.4f}", "bold"),
            f"  [{low:.4f}, {high:.4f}]  ({percent(cost.level)} {cost.method})",
        ),
    )
    failed = f"{cost.wins} of {cost.trials} honest trials failed"
    table.add_row("measured by", f"{cost.game}: {failed} (1 - utility), seed {cost.seed}")
    if cost.errors:
        kinds = ", ".join(f"{k}: {v}" for k, v in cost.errors.items())
        table.add_row("errors", f"{cost.error_count} ({kinds})")
    return table


def _report(args: argparse.Namespace, result: Any, cost: Any, table: Any) -> int:
    """Print a run's result; with ``--utility`` (``cost`` given), play the cost game and
    print the defense's utility under it."""
    if cost is None:
        show(result, args.json, table)
        return 0
    if not args.json:  # the attack's result first: the cost game plays as long again
        console.print(table(result))
        show_first_error(result)
    measured = _utility(args, cost, result.seed)
    if args.json:
        record = estimate_json(result) if isinstance(result, Estimate) else result.to_json()
        print_json({**record, "utility": _utility_json(measured)})
    else:
        console.print(_utility_table(measured))
    return 0


def ensemble_command(args: argparse.Namespace, game: Any, cost: Any = None) -> int:
    """Several adversaries on the same trials: each one's advantage and the ensemble's."""
    if args.log or args.resume:
        raise InvalidArgument("--log and --resume record one adversary's run; give one --adversary")
    # -a applies to every adversary that has the parameter (it must fit at least one);
    # NAME:k=v,... sets a parameter of that adversary alone.
    given = pairs(args.adv_param, "-a")
    names = [split_spec(spec)[0] for spec in args.adversary]
    adversaries = [
        make_adversary(spec, {k: given[k] for k in _accepted(name, given)}, args.game)
        for name, spec in zip(names, args.adversary, strict=True)
    ]
    unused = set(given) - {k for name in names for k in _accepted(name, given)}
    if unused:
        raise InvalidArgument(
            f"-a {', '.join(sorted(unused))}: no adversary given has this parameter"
        )
    what = f"{len(adversaries)} adversaries vs {args.game}"
    with progress(args.json, what) as update:
        result = estimate_best(
            game, adversaries, correction=args.correction, progress=update, **play_options(args)
        )
    return _report(args, result, cost, ensemble_table)


def _accepted(name: str, given: dict[str, str]) -> list[str]:
    fields = parameters(ADVERSARIES.get(name))
    return [k for k in given if k in fields or k.replace("-", "_") in fields]


ENSEMBLE_COLUMNS = [
    Column("adversary"),
    *(Column(header, justify="right") for header in ("trials", "wins", "advantage", "interval")),
    Column("method"),
]


def _ensemble_row(label: str, e: Any, wins: str, method: str, bold: bool = False) -> list[Text]:
    advantage = Text(f"{e.advantage:+.4f}", style="bold" if bold else "")
    interval = f"[{e.ci_low:+.4f}, {e.ci_high:+.4f}]"
    return [Text(label), Text(str(e.trials)), Text(wins), advantage, Text(interval), Text(method)]


def _ensemble_stacked(row: list[Text]) -> Stacked:
    label, trials, wins, advantage, interval, method = row
    counted = f"{trials.plain} trials" + (f", {wins.plain} wins" if wins.plain else "")
    return Stacked(
        heading=Text(label.plain, style="bold"),
        status=advantage,
        details=[("interval", interval), ("method", method), ("trials", Text(counted))],
    )


def ensemble_table(result: Ensemble) -> RenderableType:
    """One row per adversary, then the ensemble's rows; within the console's width, stacked
    where the columns cannot fit (a label or a method is never cut)."""
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    if result.correction == "bonferroni":
        note = f"per-adversary intervals at {result.adversaries[0].level:.2%} (bonferroni over {len(result.labels)})"
    else:
        note = "per-adversary intervals on the selection split, not corrected"
    rows = [
        _ensemble_row(label, e, str(e.wins), f"{e.level:.2%} {e.method}")
        for label, e in zip(result.labels, result.adversaries, strict=True)
    ]
    best = result.best
    method = f"{percent(best.level)} {best.method}; {best.correction}"
    rows.append(_ensemble_row(f"best: {best.adversary}", best, "", method, bold=True))
    if result.union is not None:
        u, label = result.union, f"any of {len(result.labels)} wins"
        rows.append(_ensemble_row(label, u, str(u.wins), f"{percent(u.level)} {u.method}", True))
    title = f"{len(result.labels)} adversaries vs {result.game} ({params})"
    caption = f"{result.trials} trials, seed {result.seed}, the same trials for every adversary"
    caption += f"; {note}"
    stack = [_ensemble_stacked(row) for row in rows]
    table = fitted(ENSEMBLE_COLUMNS, rows, console.width, title=title, stack=stack)
    return Group(table, Text(caption, style="dim"))


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
    complete = result.trials >= spec["trials"]
    if args.json:
        # The table says when a run is incomplete; so does the JSON.
        print_json(
            {**estimate_json(result), "planned_trials": spec["trials"], "complete": complete}
        )
        return 0
    if not complete:
        console.print(
            f"[yellow]incomplete run:[/] {result.trials} of {spec['trials']} trials logged"
        )
    show(result, False, estimate_table)
    return 0
