"""`advantage audit`: how much privacy a membership attack proves is lost, next to the claim.

An (ε, δ)-DP trainer forces every membership test to satisfy TPR ≤ e^ε·FPR + δ (and the
mirror inequality), so a test's measured rates give a lower bound on the ε the trainer
really has. The audit plays the game, collects the adversary's membership score per
trial, splits the trials at random into a calibration half (where thresholds are chosen)
and a held-out half (where rates are measured with Clopper–Pearson bounds), and prints

- the adversary's advantage, with its own answers (its threshold was fixed before these
  trials, so every trial counts);
- TPR at a low FPR: the threshold whose calibration FPR is at most ``--fpr``, with its
  held-out TPR and FPR;
- the ε lower bound (:func:`games.privacy.audit.audit`);
- the ε the trainer claims, from its accountant, and the advantage that claim allows.

The three figures hold together at ``--level`` (Bonferroni: each at 1 − (1 − level)/3).

With ``--one-run CANARIES`` the command audits with one training run instead (Steinke,
Nasr and Jagielski 2023; :func:`games.privacy.audit.one_run_audit`): one model is trained
with the game's trainer on its training set plus CANARIES mislabeled records, each
included with probability 1/2; the canaries with the lowest loss are guessed "in", those
with the highest "out" (``--guesses`` of each, fixed before training), and the number of
right guesses gives an ε lower bound at ``--level``, next to the ε the trainer claims.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import numpy as np
from rich.markup import escape
from rich.table import Table

from advantage.common import console, make_adversary, make_game, pairs, print_json
from games import stats
from games.engine import seeds
from oracles import InvalidArgument

if TYPE_CHECKING:
    from games.privacy.audit import OneRunAudit

__all__ = ["FIGURES", "AuditReport", "Claims", "Thresholded", "add", "run_audit"]

#: The figures that share the family level: the advantage, TPR at FPR, the ε lower bound.
FIGURES = 3
# The split draws from a key no trial (two entries) or batched chunk (three) uses.


@runtime_checkable
class Thresholded(Protocol):
    """A scorer that answers 1 when its score exceeds ``cutoff(game)``."""

    def cutoff(self, game: Any) -> float: ...


@runtime_checkable
class Claims(Protocol):
    """A game whose scheme claims an ε at a given δ (the membership game)."""

    def epsilon(self, delta: float, *, accountant: str = "rdp") -> float: ...


@attrs.frozen(kw_only=True)
class AuditReport:
    """Everything `advantage audit` prints, as plain values (see :meth:`to_json`)."""

    game: str
    params: dict[str, Any]
    adversary: str
    adversary_params: dict[str, Any]
    trials: int
    kept: int
    seed: int
    level: float
    each: float
    delta: float
    fpr_target: float
    advantage: dict[str, Any]
    tpr_at_fpr: dict[str, Any]
    epsilon_lower: dict[str, Any]
    claimed: dict[str, Any]
    roc: dict[str, Any] = attrs.field(factory=dict)

    @property
    def refutations(self) -> tuple[str, ...]:
        """How the measurements refute the claim, if they do: each sentence one way."""
        eps = self.claimed.get("epsilon")
        if eps is None:
            return ()
        out = []
        if self.epsilon_lower["epsilon"] > eps:
            out.append(f"ε ≥ {self.epsilon_lower['epsilon']:.4f} exceeds the claimed ε = {eps:.4f}")
        adv = self.advantage
        if adv.get("estimate") is not None and adv["ci_low"] > self.claimed["advantage_bound"]:
            out.append(
                f"the advantage is at least {adv['ci_low']:.4f}, above the "
                f"{self.claimed['advantage_bound']:.4f} that the claimed ε allows"
            )
        return tuple(out)

    @property
    def refuted(self) -> bool:
        """Whether a figure contradicts the claimed ε (at the family level)."""
        return bool(self.refutations)

    def to_json(self) -> dict[str, Any]:
        return {
            **attrs.asdict(self),
            "refuted": self.refuted,
            "refutations": list(self.refutations),
        }


def _held_out_rates(
    s: np.ndarray, m: np.ndarray, fit: np.ndarray, held: np.ndarray, fpr: float, each: float
) -> dict[str, Any]:
    """TPR and FPR on the held-out trials of the threshold whose calibration FPR ≤ ``fpr``."""
    from games.privacy.audit import tpr_at_fpr

    _, threshold = tpr_at_fpr(s[fit], m[fit], fpr)
    guess = s[held] > threshold
    inside, outside = m[held], ~m[held]
    tp, fp = int((guess & inside).sum()), int((guess & outside).sum())
    n_in, n_out = int(inside.sum()), int(outside.sum())
    # Two intervals share this figure's part of the family.
    level = 1 - (1 - each) / 2
    tpr_low, tpr_high = stats.binomial_interval(tp, n_in, level)
    fpr_low, fpr_high = stats.binomial_interval(fp, n_out, level)
    return {
        "threshold": threshold,
        "tpr": tp / n_in,
        "tpr_low": tpr_low,
        "tpr_high": tpr_high,
        "fpr": fp / n_out,
        "fpr_low": fpr_low,
        "fpr_high": fpr_high,
        "members": n_in,
        "non_members": n_out,
        "level": level,
        "method": "clopper-pearson, threshold chosen on the calibration split",
    }


def _roc(scores: np.ndarray, members: np.ndarray) -> dict[str, Any]:
    """The ROC curve of "member when the score exceeds a threshold", over every threshold:
    the best TPR at each FPR reached (a staircase from (0, 0) to (1, 1))."""
    order = np.argsort(-scores, kind="stable")
    s, m = scores[order], members[order]
    # A threshold falls between distinct scores only: keep the last of each run of ties.
    last = np.append(s[1:] != s[:-1], True)
    tp = np.concatenate([[0], np.cumsum(m)[last]])
    fp = np.concatenate([[0], np.cumsum(~m)[last]])
    n_in, n_out = int(m.sum()), int((~m).sum())
    fpr, first = np.unique(fp, return_index=True)
    best = np.maximum.reduceat(tp, first)
    return {
        "fpr": (fpr / n_out).tolist(),
        "tpr": (best / n_in).tolist(),
        "members": n_in,
        "non_members": n_out,
        "split": "held-out",
    }


def run_audit(
    game: Any,
    adversary: Any,
    *,
    trials: int,
    seed: int,
    delta: float = 1e-5,
    fpr: float = 0.01,
    level: float = 0.95,
    calibration: float = 0.5,
    accountant: str = "rdp",
    game_name: str | None = None,
    adversary_name: str | None = None,
) -> AuditReport:
    """Audit ``game``'s DP claim with ``adversary``'s membership scores.

    Args:
        game: a hidden-bit game with a batched path (``membership``).
        adversary: a :class:`games.privacy.audit.Scorer`; its advantage is measured too
            when it is :class:`Thresholded`.
        trials, seed: the trials played (diverged models are left out) and their seed.
        delta: the δ of the ε bound and of the claim.
        fpr: the false-positive rate at which TPR is reported.
        level: the family level of the three figures.
        calibration: the fraction of trials on which thresholds are chosen.
        accountant: ``rdp`` or ``pld``, for the claimed ε.
    """
    # The privacy games import torch: loaded when an audit runs, not when the CLI starts.
    from games.privacy.audit import Scorer, audit, membership_scores
    from games.privacy.membership import dp_advantage_bound
    from games.registry import ADVERSARIES, GAMES

    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 4:
        raise InvalidArgument(f"trials={trials!r} must be an integer >= 4")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be a non-negative integer")
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise InvalidArgument(f"level={level!r} must be in (0, 1)")
    if not isinstance(delta, int | float) or not 0 < delta < 1:
        raise InvalidArgument(f"delta={delta!r} must be in (0, 1)")
    if not isinstance(fpr, int | float) or not 0 <= fpr < 1:
        raise InvalidArgument(f"fpr={fpr!r} must be in [0, 1)")
    if not isinstance(calibration, int | float) or not 0 < calibration < 1:
        raise InvalidArgument(f"calibration={calibration!r} must be in (0, 1)")
    if getattr(game, "shape", None) != "hidden-bit" or not game.batched:
        raise InvalidArgument(
            f"game {game_name or type(game).__name__} cannot be audited: the audit needs a "
            "hidden-bit game with a batched path (membership)"
        )
    if not isinstance(adversary, Scorer):
        raise InvalidArgument(
            f"adversary {adversary_name or type(adversary).__name__} gives no membership scores "
            "(it needs a scores(oracles, rng, size) method): use lira, loss-threshold or "
            "gradient-canary"
        )
    each = 1 - (1 - level) / FIGURES

    scores, bits = membership_scores(game, adversary, trials=trials, seed=seed)
    members = bits.astype(bool)
    kept = len(scores)
    if kept < 4 or members.all() or not members.any():
        raise InvalidArgument(
            f"only {kept} of {trials} trials kept (the others diverged) without both members "
            "and non-members: use more trials or a smaller learning rate"
        )

    # The adversary's own answers: its threshold comes from its own simulated trials.
    advantage: dict[str, Any] = {"level": each, "method": "clopper-pearson"}
    if isinstance(adversary, Thresholded):
        answers = scores > adversary.cutoff(game)
        wins = int((answers == members).sum())
        low, high = stats.advantage_interval("hidden-bit", wins, kept, each)
        advantage.update(
            estimate=2 * wins / kept - 1, ci_low=low, ci_high=high, wins=wins, trials=kept
        )
    else:
        advantage.update(estimate=None, reason="the adversary exposes no threshold (cutoff)")

    def split_rng() -> np.random.Generator:
        return seeds.generator(seed, b"audit-split")

    found = audit(scores, bits, delta=delta, level=each, calibration=calibration, rng=split_rng())
    # The same permutation as the audit's, so both figures are measured on one held-out half.
    order = split_rng().permutation(kept)
    cut = int(round(calibration * kept))
    rates = _held_out_rates(scores, members, order[:cut], order[cut:], fpr, each)
    # The ROC of the held-out half, where the rates above are measured, for plots.
    roc = _roc(scores[order[cut:]], members[order[cut:]])

    claimed: dict[str, Any] = {"delta": delta, "accountant": accountant}
    if isinstance(game, Claims):
        try:
            eps = float(game.epsilon(delta, accountant=accountant))
        except InvalidArgument as error:
            claimed.update(epsilon=None, reason=str(error))
        else:
            from games.privacy import accounting

            claimed.update(
                epsilon=eps,
                advantage_bound=dp_advantage_bound(eps, delta),
                library=accounting.available(),
                tightness=found.epsilon / eps if eps > 0 else math.nan,
            )
    else:
        claimed.update(epsilon=None, reason="the game states no ε")

    return AuditReport(
        game=game_name or GAMES.name_of(type(game)) or type(game).__name__,
        params=game.describe(),
        adversary=adversary_name
        or ADVERSARIES.name_of(type(adversary))
        or type(adversary).__name__,
        adversary_params=attrs.asdict(adversary) if attrs.has(type(adversary)) else {},  # type: ignore[arg-type]
        trials=trials,
        kept=kept,
        seed=seed,
        level=level,
        each=each,
        delta=delta,
        fpr_target=fpr,
        advantage=advantage,
        tpr_at_fpr=rates,
        epsilon_lower={
            "epsilon": found.epsilon,
            "threshold": found.threshold,
            "tpr": found.tpr,
            "fpr": found.fpr,
            "level": found.level,
            "calibration": found.calibration,
            "evaluation": found.evaluation,
            "method": found.method,
        },
        claimed=claimed,
        roc=roc,
    )


def add(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser(
        "audit",
        help="audit a DP claim: TPR at low FPR and an ε lower bound next to the claimed ε",
        description="Play GAME (membership) TRIALS times against ADV, collect its membership "
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
        "-p batch_size=16 -p noise_multiplier=3 --one-run 1000 --guesses 100",
    )
    audit.add_argument("game", help="game name (membership)")
    audit.add_argument(
        "--adversary",
        help="a scoring attack: lira, loss-threshold, gradient-canary (required without --one-run)",
    )
    audit.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="set a game parameter (repeatable)",
    )
    audit.add_argument(
        "-a",
        "--adv-param",
        action="append",
        metavar="KEY=VALUE",
        help="set an adversary parameter (repeatable)",
    )
    audit.add_argument(
        "--trials", type=int, default=None, help=f"trials to play (default: {_DEFAULTS['trials']})"
    )
    audit.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    audit.add_argument(
        "--delta", type=float, default=1e-5, help="δ of the claim and the bound (default: 1e-5)"
    )
    audit.add_argument(
        "--fpr",
        type=float,
        default=None,
        help=f"FPR at which TPR is reported (default: {_DEFAULTS['fpr']})",
    )
    audit.add_argument(
        "--level", type=float, default=0.95, help="family confidence level (default: 0.95)"
    )
    audit.add_argument(
        "--calibration",
        type=float,
        default=None,
        help=f"fraction of trials thresholds are chosen on (default: {_DEFAULTS['calibration']})",
    )
    audit.add_argument(
        "--accountant", default="rdp", choices=("rdp", "pld"), help="accountant of the claimed ε"
    )
    audit.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    one = audit.add_argument_group("one training run (instead of --adversary and --trials)")
    one.add_argument(
        "--one-run",
        type=int,
        metavar="CANARIES",
        help="audit with one training run on the game's training set plus CANARIES mislabeled "
        "records, each included with probability 1/2 (they come from the population, outside "
        "the training set)",
    )
    one.add_argument(
        "--guesses",
        type=int,
        metavar="K",
        help="canaries guessed on each side: 'in' for the K lowest-loss, 'out' for the K "
        "highest-loss (default: CANARIES/10)",
    )
    one.add_argument(
        "--guesses-in", type=int, metavar="K", help="'in' guesses, overriding --guesses"
    )
    one.add_argument(
        "--guesses-out", type=int, metavar="K", help="'out' guesses, overriding --guesses"
    )
    audit.set_defaults(handler=audit_command)


#: Options of the many-run audit (None on the command line: not given).
_DEFAULTS: dict[str, Any] = {"trials": 1000, "fpr": 0.01, "calibration": 0.5}


def _interval(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"


def audit_command(args: argparse.Namespace) -> int:
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
    given = {key: getattr(args, key) for key in _DEFAULTS}
    options = {key: _DEFAULTS[key] if value is None else value for key, value in given.items()}
    game = make_game(args.game, pairs(args.param, "-p"))
    adversary = make_adversary(args.adversary, pairs(args.adv_param, "-a"), args.game)
    report = run_audit(
        game,
        adversary,
        trials=options["trials"],
        seed=args.seed,
        delta=args.delta,
        fpr=options["fpr"],
        level=args.level,
        calibration=options["calibration"],
        accountant=args.accountant,
        game_name=args.game,
        adversary_name=args.adversary,
    )
    if args.json:
        print_json(report.to_json())
    else:
        show(report)
    return 1 if report.refuted else 0


def _facts(title: str) -> Table:
    """A two-column table of named figures, the names in bold, long values folded."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    return table


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def show(report: AuditReport) -> None:
    table = _facts(
        f"audit of {report.game} ({_params(report.params)}) with {report.adversary}: "
        f"{report.kept} of {report.trials} trials kept, seed {report.seed}"
    )
    adv = report.advantage
    if adv.get("estimate") is not None:
        table.add_row(
            "advantage",
            escape(f"{adv['estimate']:+.4f} [{adv['ci_low']:+.4f}, {adv['ci_high']:+.4f}]"),
        )
    else:
        table.add_row("advantage", escape(f"not measured: {adv['reason']}"))
    rates = report.tpr_at_fpr
    table.add_row(
        f"TPR at FPR ≤ {report.fpr_target:g}",
        escape(
            f"TPR {rates['tpr']:.4f} {_interval(rates['tpr_low'], rates['tpr_high'])}, "
            f"FPR {rates['fpr']:.4f} {_interval(rates['fpr_low'], rates['fpr_high'])} "
            f"(held out: {rates['members']} members, {rates['non_members']} non-members)"
        ),
    )
    low = report.epsilon_lower
    table.add_row(
        "ε lower bound",
        escape(
            f"ε ≥ {low['epsilon']:.4f} at δ = {report.delta:g} (held-out TPR {low['tpr']:.4f}, "
            f"FPR {low['fpr']:.4f}; threshold chosen on {low['calibration']} trials, measured "
            f"on {low['evaluation']})"
        ),
    )
    claim = report.claimed
    if claim.get("epsilon") is not None:
        table.add_row(
            "claimed ε",
            escape(
                f"{claim['epsilon']:.4f} at δ = {report.delta:g} ({claim['accountant']} accountant, "
                f"{claim['library']}); allows advantage ≤ {claim['advantage_bound']:.4f}; the audit "
                f"reaches {claim['tightness']:.0%} of it"
            ),
        )
    else:
        table.add_row("claimed ε", escape(f"none: {claim['reason']}"))
    console.print(table)
    for refutation in report.refutations:
        console.print(f"[bold red]the claim is refuted:[/] {escape(refutation)}")
    console.print(
        escape(
            f"Family level {report.level:.0%}: Bonferroni over {FIGURES} figures, each at "
            f"{report.each:.4%} (TPR and FPR split their share); Clopper-Pearson; thresholds "
            "chosen on the calibration split, rates measured on the held-out split."
        ),
        soft_wrap=True,
    )


def one_run_command(args: argparse.Namespace) -> int:
    """`advantage audit GAME --one-run CANARIES`: exit 1 when the bound exceeds the claim."""
    from games.privacy.audit import one_run_audit

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
        seed=args.seed,
        level=args.level,
        delta=args.delta,
        accountant=args.accountant,
    )
    if args.json:
        print_json(record.to_json())
    else:
        show_one_run(record)
    return 1 if record.refuted else 0


def show_one_run(record: OneRunAudit) -> None:
    table = _facts(
        f"one-run audit of {record.game} ({_params(record.params)}): {record.canaries} "
        f"canaries, seed {record.seed}"
    )
    table.add_row(
        "canaries",
        escape(
            f"{record.canaries} mislabeled population records, {record.included} of them "
            f"included (each with probability 1/2); sampling rate and steps set for "
            f"{record.size} records"
        ),
    )
    table.add_row(
        "guesses",
        escape(
            f"{record.guesses}: 'in' for the {record.guesses_in} lowest-loss canaries, 'out' "
            f"for the {record.guesses_out} highest-loss; abstained on "
            f"{record.canaries - record.guesses}"
        ),
    )
    share = record.correct / record.guesses
    table.add_row(
        "right guesses",
        escape(
            f"{record.correct} of {record.guesses} ({share:.1%}): {record.correct_in} of "
            f"{record.guesses_in} 'in', {record.correct_out} of {record.guesses_out} 'out'"
        ),
    )
    table.add_row(
        "ε lower bound",
        escape(f"ε ≥ {record.epsilon:.4f} at δ = {record.delta:g}, level {record.level:.0%}"),
    )
    if record.claimed_epsilon is not None:
        table.add_row(
            "claimed ε",
            escape(f"{record.claimed_epsilon:.4f} at δ = {record.delta:g} ({record.claim})"),
        )
    else:
        table.add_row("claimed ε", escape(f"none: {record.claim}"))
    table.add_row("time", escape(f"{record.seconds:.2f} s on {record.device}, one model"))
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
            f"{1 - record.level:.0%} for every ε up to the bound; the numbers of guesses were "
            "fixed before the model was trained."
        ),
        soft_wrap=True,
    )
