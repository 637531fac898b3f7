"""`advantage sweep`: advantage against a budget, a fitted curve, its band and a plot."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from rich.markup import escape
from rich.table import Table

from advantage.common import (
    add_adversary_option,
    add_run_options,
    console,
    output_path,
    pairs,
    play_options,
    print_json,
    progress,
    split_spec,
    subcommand,
    subject,
)
from games.engine.sweep import MODELS, Sweep, budget_target, sweep
from games.registry import coerce
from games.stats.intervals import percent
from oracles import InvalidArgument

__all__ = ["add", "curve", "parse_budget"]

DESCRIPTION = """\
Estimate the adversary's advantage at each value of a budget (a game parameter such as
`queries`, or an adversary parameter; the game is tried first), optionally fit a curve of
success against budget by maximum likelihood, with a confidence band, and extrapolate it.

Models: best-of-n (1 − (1 − p)^N), power-law (a·N^b, clipped to 1),
logistic-in-log-budget (sigmoid(a + b·log N)). When a curve is fitted the per-budget
intervals are Bonferroni-corrected across the budgets.

Example: advantage sweep collision -p n=16 --adversary birthday
         --budget queries=8,16,32,64,128 --fit power-law --extrapolate 256 --plot curve.png"""


def add(sub: argparse._SubParsersAction) -> None:
    parser = subcommand(
        sub, "sweep", "advantage against a budget, with a fitted curve and its band", DESCRIPTION
    )
    add_run_options(parser)
    add_adversary_option(parser)
    parser.add_argument(
        "--budget",
        required=True,
        metavar="NAME=V1,V2,...",
        help="the parameter to sweep and its values, increasing (e.g. queries=1,2,4,8)",
    )
    parser.add_argument(
        "--fit", choices=MODELS, default=None, help="fit this model of success against budget"
    )
    parser.add_argument(
        "--extrapolate", type=float, default=None, help="read the fit and its band at this budget"
    )
    parser.add_argument(
        "--simultaneous",
        action="store_true",
        help="Bonferroni-correct the per-budget intervals even without a fit (to read off a maximum)",
    )
    parser.add_argument(
        "--plot", default=None, metavar="OUT.png", help="draw points, intervals, fit and band here"
    )
    parser.add_argument(
        "--assumption",
        default=None,
        metavar="OUT.toml",
        help="write the fitted upper band as a behavioural assumption for a proof file",
    )
    parser.add_argument(
        "--assumption-name",
        default=None,
        help="the assumption's name (default: ADVERSARY_BUDGET_scaling)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write --assumption even when the goodness-of-fit test rejects the model (the "
        "file then says so in a comment)",
    )
    parser.set_defaults(handler=sweep_command)


def parse_budget(text: str) -> tuple[str, list[str]]:
    """``"queries=1,2,4"`` as ``("queries", ["1", "2", "4"])``."""
    name, sep, rest = text.partition("=")
    items = [item.strip() for item in rest.split(",") if item.strip()]
    if not sep or not name.strip():
        raise InvalidArgument(
            f"--budget {text!r} must look like name=v1,v2,... (e.g. queries=1,2,4)"
        )
    if not items:
        raise InvalidArgument(f"--budget {text!r} gives no values: the budget list is empty")
    return name.strip(), items


def _refuse_fixed(args: argparse.Namespace, name: str, target: str) -> None:
    """Refuse a fixed value of the swept parameter: the sweep would drop it without a word."""
    if target == "game":
        given = pairs(args.param, "-p")
        if name in given:
            raise InvalidArgument(f"--budget {name} sweeps {name}; drop -p {name}={given[name]}")
        return
    adversary, inline = split_spec(args.adversary)
    if name in inline:
        raise InvalidArgument(
            f"--budget {name} sweeps {name}; drop {name}={inline[name]} from --adversary "
            f"{args.adversary}"
        )
    given = pairs(args.adv_param, "-a")
    if name in given:
        raise InvalidArgument(f"--budget {name} sweeps {name}; drop -a {name}={given[name]}")


def sweep_command(args: argparse.Namespace) -> int:
    if args.assumption is not None and args.fit is None:
        raise InvalidArgument("--assumption writes a fitted curve: give --fit MODEL")
    plot = output_path(args.plot, "--plot", ".png") if args.plot is not None else None
    assumption = (
        output_path(args.assumption, "--assumption", ".toml")
        if args.assumption is not None
        else None
    )
    game, adversary = subject(args)
    name, texts = parse_budget(args.budget)
    target = budget_target(game, adversary, name)
    _refuse_fixed(args, name, target)
    cls = type(game) if target == "game" else type(adversary)
    what = f"budget value of {target} parameter"
    values = [coerce(cls, {name: text}, what=what)[name] for text in texts]
    with progress(args.json, f"{args.adversary} vs {args.game}, {name} sweep") as update:
        result = sweep(
            game,
            adversary,
            budget=name,
            values=values,
            fit=args.fit,
            extrapolate=args.extrapolate,
            simultaneous=True if args.simultaneous else None,
            progress=update,
            **play_options(args),
        )
    written = {}
    if plot is not None:
        written["plot"] = str(result.plot(plot))
    refused = None
    if assumption is not None:
        try:
            assumption.write_text(assumption_text(result, args.assumption_name, force=args.force))
            written["assumption"] = str(assumption)
        except InvalidArgument as error:  # the results are shown first, then the refusal
            refused = error
    if args.json:
        print_json({**result.to_json(), **curve(result), **written})
    else:
        console.print(sweep_table(result))
        for line in summary(result):
            console.print(line, soft_wrap=True)
        for kind, where in written.items():
            console.print(f"{kind} written to {escape(where)}")
    if refused is not None:
        raise refused
    return 0


def fit_rejected(result: Sweep) -> bool:
    """Whether the goodness-of-fit test rejects the fitted model (at 5%)."""
    p = result.fit.fit_pvalue if result.fit is not None else float("nan")
    return p == p and p < 0.05


def assumption_text(result: Sweep, name: str | None, *, force: bool) -> str:
    """The fitted upper band as an assumption file; a fit the goodness-of-fit test rejects is
    refused, or (``force``) written with a comment that says so.

    Raises:
        InvalidArgument: the fit is poor and ``force`` is not given.
    """
    text = result.assumption(name=name)
    if not fit_rejected(result):
        return text
    p = result.fit.fit_pvalue  # type: ignore[union-attr]
    if not force:
        raise InvalidArgument(
            f"--assumption: the goodness-of-fit test rejects {result.fit.model} (p = {p:.3g}), "  # type: ignore[union-attr]
            "so its band says little about larger budgets; try another --fit, or give --force "
            "to write it with a comment saying so"
        )
    warning = (
        f"# WARNING: the goodness-of-fit test rejects this {result.fit.model} fit "  # type: ignore[union-attr]
        f"(p = {p:.3g}).\n# The band below is only as good as the model, which does not "
        "describe the measured points.\n"
    )
    return warning + text


#: Budgets at which `--json` reads the fitted curve and its band, for plots made later.
CURVE_POINTS = 60


def curve(result: Sweep) -> dict[str, Any]:
    """``{"curve": [[budget, fit, band_low, band_high], ...]}`` on a log grid from the smallest
    budget to the largest (or the extrapolation), or nothing without a fit."""
    if result.fit is None:
        return {}
    values = [float(v) for v in result.values]
    right = max(values + ([result.extrapolation[0]] if result.extrapolation else []))
    grid = np.geomspace(min(values), right, CURVE_POINTS)
    low, high = result.fit.advantage_band(grid)
    centre = result.fit.advantage(grid)
    return {
        "curve": [
            [float(x), float(c), float(a), float(b)]
            for x, c, a, b in zip(grid, centre, low, high, strict=True)
        ]
    }


def sweep_table(result: Sweep) -> Table:
    params = ", ".join(f"{k}={v}" for k, v in result.params.items() if k != result.budget)
    table = Table(
        title=escape(f"{result.adversary} vs {result.game} ({params})"),
        caption=escape(
            f"{result.trials} trials per budget; intervals {result.point_level:.2%} {result.method} "
            f"({result.correction}; family-wise {percent(result.level)})"
        ),
    )
    for column in (result.budget, "wins", "advantage", "interval"):
        table.add_column(column, justify="right")
    if result.fit is not None:
        table.add_column("fit", justify="right")
        table.add_column(f"{percent(result.fit.level)} band", justify="right")
    for point in result.points:
        e = point.estimate
        row = [
            str(point.value),
            f"{e.wins}/{e.trials}",
            f"{e.advantage:+.4f}",
            escape(f"[{e.ci_low:+.4f}, {e.ci_high:+.4f}]"),
        ]
        if result.fit is not None:
            low, high = result.fit.advantage_band(float(point.value))
            row += [
                f"{result.fit.advantage(float(point.value))[0]:+.4f}",
                escape(f"[{low[0]:+.4f}, {high[0]:+.4f}]"),
            ]
        table.add_row(*row)
    return table


def summary(result: Sweep) -> list[str]:
    lines = []
    if result.correction.startswith("bonferroni"):
        top = result.largest()
        e = top.estimate
        lines.append(
            f"largest advantage: {e.advantage:+.4f} at {result.budget}={top.value} "
            + escape(f"[{e.ci_low:+.4f}, {e.ci_high:+.4f}]")
            + f" ({result.correction})"
        )
    fit = result.fit
    if fit is not None:
        fitted = ", ".join(f"{k} = {v:.4g}" for k, v in fit.params.items())
        quality = (
            f"goodness of fit p = {fit.fit_pvalue:.3g}"
            if fit.fit_pvalue == fit.fit_pvalue
            else "no spare points to test the fit"
        )
        lines.append(
            f"fit: {fit.model}, {fitted} ({fit.method}; band {percent(fit.level)}, simultaneous over budgets; {quality})"
        )
        if fit_rejected(result):
            lines.append(
                "[yellow]the model does not describe these points well; its band is only as good as the model[/]"
            )
    if result.extrapolation is not None:
        value, centre, low, high = result.extrapolation
        lines.append(
            f"extrapolated to {result.budget}={value:g}: advantage {centre:+.4f} "
            + escape(f"[{low:+.4f}, {high:+.4f}]")
            + f" ({percent(fit.level)} band, if the model holds)"  # type: ignore[union-attr]
        )
    return lines
