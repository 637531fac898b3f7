"""`advantage certify`: play until an anytime-valid confidence sequence decides advantage ≤ eps."""

from __future__ import annotations

import argparse
from typing import Any

from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from advantage.common import (
    PlainProgress,
    add_adversary_option,
    add_run_options,
    engine_options,
    show,
    stderr,
    subcommand,
    subject,
)
from games.engine.certify import Certificate, certify
from games.stats.intervals import percent

__all__ = ["add"]

DESCRIPTION = """\
Play GAME against the adversary until an anytime-valid confidence sequence decides whether
its advantage is at most EPS ("below") or above it ("above"), or MAX_TRIALS is reached
("undecided", with the current interval). The chance of a wrong decision is at most ALPHA
however early the run stops. Trials are those of `advantage run` with the same seed.

Example: advantage certify otp --adversary guess --eps 0.05"""


def add(sub: argparse._SubParsersAction) -> None:
    parser = subcommand(
        sub,
        "certify",
        "play until advantage ≤ eps or > eps is decided (anytime-valid)",
        DESCRIPTION,
    )
    add_run_options(parser, trials=None, interval=False)
    add_adversary_option(parser)
    parser.add_argument(
        "--eps", type=float, required=True, help="the advantage to certify against, in (0, 1)"
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="chance of a wrong decision (default: 0.05)"
    )
    parser.add_argument(
        "--max-trials",
        type=int,
        default=100_000,
        help="stop undecided after this many trials (default: 100000)",
    )
    parser.set_defaults(handler=certify_command)


def _picture(c: Certificate, width: int = 41) -> str:
    """The interval on the advantage axis [-1, 1] as text, with eps marked."""

    def at(value: float) -> int:
        return min(width - 1, max(0, round((value + 1) / 2 * (width - 1))))

    cells = ["·"] * width
    for i in range(at(c.ci_low), at(c.ci_high) + 1):
        cells[i] = "━"
    cells[at(c.eps)] = "┃"
    return "-1 " + "".join(cells) + " +1"


def _line(c: Certificate) -> Text:
    return Text.from_markup(
        f"[bold]{c.trials:,}[/] trials  advantage in "
        + escape(f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]")
        + f"  {_picture(c)}  eps {c.eps:g}: [bold]{c.decision}[/]"
    )


def certify_command(args: argparse.Namespace) -> int:
    game, adversary = subject(args)
    live: Live | None = None
    plain = None if stderr.is_terminal else PlainProgress()

    def update(so_far: Certificate) -> None:  # as common.progress shows a run's progress
        nonlocal live
        if plain is not None:
            if not args.json:
                plain.say(lambda: f"certify: {_line(so_far).plain}")
            return
        if live is None:
            live = Live(_line(so_far), console=stderr, transient=True, auto_refresh=False)
            live.start()
        live.update(_line(so_far), refresh=True)

    try:
        result = certify(
            game,
            adversary,
            eps=args.eps,
            alpha=args.alpha,
            max_trials=args.max_trials,
            seed=args.seed,
            progress=update,
            **engine_options(args),
        )
    finally:
        if live is not None:
            live.stop()
    show(result, args.json, certificate_table)
    return 0


def played_note(trials: int, played: int) -> str:
    """Why a certify run played more trials than it counts."""
    return (
        f"{played:,}: trials run in waves and a wave is played to its end, but the decision "
        f"is read trial by trial, so it rests on the first {trials:,} alone"
    )


def certificate_table(c: Certificate) -> Table:
    """A person-readable table of a certificate."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()

    def described(name: str, params: Any) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{name} ({inner})" if inner else name

    colour = {"below": "green", "above": "red", "undecided": "yellow"}[c.decision]
    verdict = {
        "below": f"advantage ≤ {c.eps:g}",
        "above": f"advantage > {c.eps:g}",
        "undecided": f"undecided after {c.max_trials:,} trials",
    }[c.decision]
    table.add_row("game", escape(described(c.game, c.params)))
    table.add_row("adversary", escape(described(c.adversary, c.adversary_params)))
    table.add_row("decision", f"[bold {colour}]{c.decision}[/]: {escape(verdict)}")
    table.add_row("trials", f"{c.trials:,}, seed {c.seed}, {c.path} path")
    if c.played != c.trials:
        table.add_row("played", played_note(c.trials, c.played))
    table.add_row("wins", f"{c.wins:,} (boundary win rate {c.p_eps:.4g})")
    table.add_row(
        "advantage",
        f"[bold]{c.advantage:+.4f}[/]  "
        + escape(f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]")
        + f"  (each end anytime-valid at {percent(1 - c.alpha)}; {escape(c.method)})",
    )
    table.add_row("wrong decision", f"chance at most alpha = {c.alpha:g}, whenever the run stops")
    if c.errors:
        kinds = ", ".join(f"{k}: {v}" for k, v in c.errors.items())
        table.add_row(
            "errors",
            f"[red]{sum(c.errors.values())}[/] ({kinds}); adversary failures count as losses",
        )
    table.add_row("time", f"{c.seconds:.2f} s")
    return table
