"""`advantage audit`: how much privacy a membership attack proves is lost, next to the claim.

The command parses its arguments, calls the library and prints what it found:
:func:`games.privacy.audit.run_audit` (many trials against a scoring adversary: the
adversary's advantage, TPR at a low FPR and an ε lower bound, next to the ε the trainer's
accountant claims, the three figures together at ``--level``) or, with ``--one-run
CANARIES``, :func:`games.privacy.one_run.one_run_audit` (one training run with CANARIES
mislabeled records, each included with probability 1/2, and ``--guesses`` of each side fixed
before training). Exit status: 0, 1 when the measurements refute the claim, 2 for bad input.

``run_audit``, ``AuditReport``, ``Claims``, ``Thresholded`` and ``FIGURES`` moved to
:mod:`games.privacy.audit`; they are still importable from here (loaded on first use: the
privacy domain imports torch, the command line does not until an audit runs).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from advantage.common import (
    console,
    make_adversary,
    make_game,
    pairs,
    print_json,
    progress,
    subcommand,
)
from games.privacy.accounting import DELTA
from games.registry import GAMES
from games.stats.intervals import percent
from oracles import InvalidArgument

if TYPE_CHECKING:
    from games.privacy.audit import AuditReport
    from games.privacy.one_run import OneRunAudit

# The moved names are served by __getattr__ below.
__all__ = ["FIGURES", "AuditReport", "Claims", "Thresholded", "add", "run_audit"]  # noqa: F822

_MOVED = ("FIGURES", "AuditReport", "Claims", "Thresholded", "run_audit")


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module 'advantage.audit' has no attribute {name!r}")
    return getattr(importlib.import_module("games.privacy.audit"), name)


_DESCRIPTION = (
    "Play GAME (membership) TRIALS times against ADV, collect its membership "
    "scores, and report its advantage, its TPR at a low FPR and a lower bound on ε from "
    "(TPR, FPR), next to the ε the trainer's accountant claims. Thresholds are chosen on a "
    "random calibration split and the rates measured on the held-out rest with "
    "Clopper-Pearson bounds, so the ε bound is valid; the three figures hold together at "
    "--level (Bonferroni). Exit status: 0, or 1 when the ε lower bound exceeds the claimed "
    "ε (or the advantage exceeds what it allows), 2 for bad input. Example (a noise "
    "multiplier large enough for the claim to say something): advantage audit membership "
    "-p trainer=dp-sgd-noclip -p target=adversary -p training_size=64 -p epochs=2 "
    "-p batch_size=16 -p noise_multiplier=3 --adversary gradient-canary --trials 1000. "
    "With --one-run CANARIES (instead of --adversary) the audit trains ONE model "
    "(Steinke, Nasr and Jagielski 2023): the game's training set plus CANARIES "
    "mislabeled records, each included with probability 1/2; it guesses 'in' for the "
    "--guesses canaries with the lowest loss and 'out' for the --guesses with the highest, "
    "abstains on the rest, and turns the number of right guesses into an ε lower bound at "
    "--level (a binomial p-value; the numbers of guesses are fixed before training, which "
    "keeps it valid). One model instead of thousands, a looser bound. Example: advantage "
    "audit membership -p trainer=dp-sgd-noclip -p training_size=64 -p epochs=2 "
    "-p batch_size=16 -p noise_multiplier=3 --one-run 1000 --guesses 100"
)

_DELTA_TEXT = f"{DELTA:g}".replace("e-0", "e-")  # 1e-5, as people write it

#: Options of the many-run audit (None on the command line: not given).
_DEFAULTS: dict[str, Any] = {"trials": 1000, "fpr": 0.01, "calibration": 0.5}

# (flags, keyword arguments) of each option, in the order --help lists them.
_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--adversary",),
        {
            "help": "a scoring attack: lira, loss-threshold, gradient-canary (required "
            "without --one-run)"
        },
    ),
    (
        ("-p", "--param"),
        {"action": "append", "metavar": "KEY=VALUE", "help": "set a game parameter (repeatable)"},
    ),
    (
        ("-a", "--adv-param"),
        {
            "action": "append",
            "metavar": "KEY=VALUE",
            "help": "set an adversary parameter (repeatable)",
        },
    ),
    (("--trials",), {"type": int, "help": f"trials to play (default: {_DEFAULTS['trials']})"}),
    (("--seed",), {"type": int, "default": 0, "help": "the run's seed (default: 0)"}),
    (
        ("--delta",),
        {
            "type": float,
            "default": DELTA,
            "help": f"δ of the claim and the bound (default: {_DELTA_TEXT})",
        },
    ),
    (
        ("--fpr",),
        {"type": float, "help": f"FPR at which TPR is reported (default: {_DEFAULTS['fpr']})"},
    ),
    (
        ("--level",),
        {"type": float, "default": 0.95, "help": "family confidence level (default: 0.95)"},
    ),
    (
        ("--calibration",),
        {
            "type": float,
            "help": "fraction of trials thresholds are chosen on (default: "
            f"{_DEFAULTS['calibration']})",
        },
    ),
    (
        ("--accountant",),
        {"default": "rdp", "choices": ("rdp", "pld"), "help": "accountant of the claimed ε"},
    ),
    (("--json",), {"action": "store_true", "help": "print one JSON object on stdout"}),
)

_ONE_RUN: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--one-run",),
        {
            "type": int,
            "metavar": "CANARIES",
            "help": "audit with one training run on the game's training set plus CANARIES "
            "mislabeled records, each included with probability 1/2 (they come from the "
            "population, outside the training set)",
        },
    ),
    (
        ("--guesses",),
        {
            "type": int,
            "metavar": "K",
            "help": "canaries guessed on each side: 'in' for the K lowest-loss, 'out' for the "
            "K highest-loss (default: CANARIES/10)",
        },
    ),
    (
        ("--guesses-in",),
        {"type": int, "metavar": "K", "help": "'in' guesses, overriding --guesses"},
    ),
    (
        ("--guesses-out",),
        {"type": int, "metavar": "K", "help": "'out' guesses, overriding --guesses"},
    ),
)


def add(sub: argparse._SubParsersAction) -> None:
    audit = subcommand(
        sub,
        "audit",
        "audit a DP claim: TPR at low FPR and an ε lower bound next to the claimed ε",
        _DESCRIPTION,
        handler=audit_command,
    )
    audit.add_argument("game", help="game name (membership)")
    for flags, options in _OPTIONS:
        audit.add_argument(*flags, **options)
    one = audit.add_argument_group("one training run (instead of --adversary and --trials)")
    for flags, options in _ONE_RUN:
        one.add_argument(*flags, **options)


def _shared(args: argparse.Namespace) -> dict[str, Any]:
    """The options both audits take."""
    return {key: getattr(args, key) for key in ("seed", "level", "delta", "accountant")}


def _finish(args: argparse.Namespace, result: Any, show: Callable[[Any], None]) -> int:
    """Print ``result`` (JSON with ``--json``); exit status 1 when it refutes the claim."""
    if args.json:
        print_json(result.to_json())
    else:
        show(result)
    return 1 if result.refuted else 0


def _interval(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"


def audit_command(args: argparse.Namespace) -> int:
    GAMES.entry(args.game)  # first: a mistyped name is the first thing to hear about
    if args.one_run is not None:
        return one_run_command(args)
    for flag in ("guesses", "guesses_in", "guesses_out"):
        if getattr(args, flag) is not None:
            raise InvalidArgument(
                f"--{flag.replace('_', '-')} goes with --one-run CANARIES (a one-training-run audit)"
            )
    if args.adversary is None:
        raise InvalidArgument(
            "give --adversary ADV (a scoring attack: lira, loss-threshold, gradient-canary), "
            "or --one-run CANARIES for an audit with one training run"
        )
    # The privacy domain imports torch: loaded when an audit runs, not when the CLI starts.
    from games.privacy.audit import run_audit

    given = {key: getattr(args, key) for key in _DEFAULTS}
    options = {key: _DEFAULTS[key] if value is None else value for key, value in given.items()}
    game = make_game(args.game, pairs(args.param, "-p"))
    adversary = make_adversary(args.adversary, pairs(args.adv_param, "-a"), args.game)
    with progress(args.json, f"audit {args.game} with {args.adversary}") as update:
        report = run_audit(
            game,
            adversary,
            game_name=args.game,
            adversary_name=args.adversary,
            progress=update,
            **options,
            **_shared(args),
        )
    return _finish(args, report, show)


def _row(table: Table, name: str, text: str) -> None:
    table.add_row(name, escape(text))


def _facts(title: str) -> Table:
    """A two-column table of named figures, the names in bold, long values folded."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    return table


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def show(report: AuditReport) -> None:
    from games.privacy.audit import FIGURES

    table = _facts(
        f"audit of {report.game} ({_params(report.params)}) with {report.adversary}: "
        f"{report.kept} of {report.trials} trials kept, seed {report.seed}"
    )
    adv = report.advantage
    if adv.get("estimate") is not None:
        _row(
            table,
            "advantage",
            f"{adv['estimate']:+.4f} [{adv['ci_low']:+.4f}, {adv['ci_high']:+.4f}]",
        )
    else:
        _row(table, "advantage", f"not measured: {adv['reason']}")
    rates = report.tpr_at_fpr
    _row(
        table,
        f"TPR at FPR ≤ {report.fpr_target:g}",
        f"TPR {rates['tpr']:.4f} {_interval(rates['tpr_low'], rates['tpr_high'])}, "
        f"FPR {rates['fpr']:.4f} {_interval(rates['fpr_low'], rates['fpr_high'])} "
        f"(held out: {rates['members']} members, {rates['non_members']} non-members)",
    )
    low = report.epsilon_lower
    _row(
        table,
        "ε lower bound",
        f"ε ≥ {low['epsilon']:.4f} at δ = {report.delta:g} (held-out TPR {low['tpr']:.4f}, "
        f"FPR {low['fpr']:.4f}; threshold chosen on {low['calibration']} trials, measured "
        f"on {low['evaluation']})",
    )
    claim = report.claimed
    if claim.get("epsilon") is not None:
        _row(
            table,
            "claimed ε",
            f"{claim['epsilon']:.4f} at δ = {report.delta:g} ({claim['accountant']} accountant, "
            f"{claim['library']}); allows advantage ≤ {claim['advantage_bound']:.4f}; the audit "
            f"reaches {claim['tightness']:.0%} of it",
        )
    else:
        _row(table, "claimed ε", f"none: {claim['reason']}")
    console.print(table)
    for refutation in report.refutations:
        console.print(f"[bold red]the claim is refuted:[/] {escape(refutation)}")
    console.print(
        escape(
            f"Family level {percent(report.level)}: Bonferroni over {FIGURES} figures, each at "
            f"{report.each:.4%} (TPR and FPR split their share); Clopper-Pearson; thresholds "
            "chosen on the calibration split, rates measured on the held-out split."
        ),
        soft_wrap=True,
    )


def one_run_command(args: argparse.Namespace) -> int:
    """`advantage audit GAME --one-run CANARIES`: exit 1 when the bound exceeds the claim."""
    from games.privacy.one_run import one_run_audit

    unused = {
        "--adversary": args.adversary,
        "-a": args.adv_param,
        "--trials": args.trials,
        "--fpr": args.fpr,
        "--calibration": args.calibration,
    }
    for flag, value in unused.items():
        if value is not None:
            raise InvalidArgument(
                f"{flag} does not apply to --one-run, which trains one model and guesses from "
                "its canaries' losses: drop it (or drop --one-run for the many-run audit)"
            )
    canaries = args.one_run
    each = args.guesses if args.guesses is not None else max(1, canaries // 10)
    record = one_run_audit(
        make_game(args.game, pairs(args.param, "-p")),
        canaries=canaries,
        guesses_in=each if args.guesses_in is None else args.guesses_in,
        guesses_out=each if args.guesses_out is None else args.guesses_out,
        **_shared(args),
    )
    return _finish(args, record, show_one_run)


def show_one_run(record: OneRunAudit) -> None:
    table = _facts(
        f"one-run audit of {record.game} ({_params(record.params)}): {record.canaries} "
        f"canaries, seed {record.seed}"
    )
    _row(
        table,
        "canaries",
        f"{record.canaries} mislabeled population records, {record.included} of them "
        f"included (each with probability 1/2); sampling rate and steps set for "
        f"{record.size} records",
    )
    _row(
        table,
        "guesses",
        f"{record.guesses}: 'in' for the {record.guesses_in} lowest-loss canaries, 'out' "
        f"for the {record.guesses_out} highest-loss; abstained on "
        f"{record.canaries - record.guesses}",
    )
    share = record.correct / record.guesses
    _row(
        table,
        "right guesses",
        f"{record.correct} of {record.guesses} ({share:.1%}): {record.correct_in} of "
        f"{record.guesses_in} 'in', {record.correct_out} of {record.guesses_out} 'out'",
    )
    _row(
        table,
        "ε lower bound",
        f"ε ≥ {record.epsilon:.4f} at δ = {record.delta:g}, level {percent(record.level)}",
    )
    if record.claimed_epsilon is not None:
        _row(
            table,
            "claimed ε",
            f"{record.claimed_epsilon:.4f} at δ = {record.delta:g} ({record.claim})",
        )
    else:
        _row(table, "claimed ε", f"none: {record.claim}")
    _row(table, "time", f"{record.seconds:.2f} s on {record.device}, one model")
    console.print(table)
    if record.refuted:
        console.print(
            f"[bold red]the claim is refuted:[/] ε ≥ {record.epsilon:.4f} exceeds the claimed "
            f"ε = {record.claimed_epsilon:.4f}"
        )
    console.print(
        escape(
            f"One training run (Steinke, Nasr and Jagielski 2023): under (ε, δ)-DP, {record.correct} "
            f"or more right guesses out of {record.guesses} has probability at most "
            f"{percent(1 - record.level)} for every ε up to the bound; the numbers of guesses were "
            "fixed before the model was trained."
        ),
        soft_wrap=True,
    )
