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
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
from rich.markup import escape
from rich.table import Table

from advantage.common import console, make_adversary, make_game, pairs, print_json
from games import stats
from oracles import InvalidArgument

__all__ = ["FIGURES", "AuditReport", "Claims", "Scorer", "Thresholded", "add", "run_audit"]

#: The figures that share the family level: the advantage, TPR at FPR, the ε lower bound.
FIGURES = 3
# The split draws from a key no trial (two entries) or batched chunk (three) uses.
_SPLIT_KEY = (0, 0, 0, 2)


@runtime_checkable
class Scorer(Protocol):
    """An adversary that gives a membership score per trial (higher: member)."""

    def scores(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray: ...


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
        adversary: a :class:`Scorer`; its advantage is measured too when it is
            :class:`Thresholded`.
        trials, seed: the trials played (diverged models are left out) and their seed.
        delta: the δ of the ε bound and of the claim.
        fpr: the false-positive rate at which TPR is reported.
        level: the family level of the three figures.
        calibration: the fraction of trials on which thresholds are chosen.
        accountant: ``rdp`` or ``pld``, for the claimed ε.
    """
    from games.privacy.audit import audit, membership_scores
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
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_SPLIT_KEY))

    found = audit(scores, bits, delta=delta, level=each, calibration=calibration, rng=split_rng())
    # The same permutation as the audit's, so both figures are measured on one held-out half.
    order = split_rng().permutation(kept)
    cut = int(round(calibration * kept))
    rates = _held_out_rates(scores, members, order[:cut], order[cut:], fpr, each)

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
        "-p batch_size=16 -p noise_multiplier=3 --adversary gradient-canary --trials 1000",
    )
    audit.add_argument("game", help="game name (membership)")
    audit.add_argument(
        "--adversary", required=True, help="a scoring attack: lira, loss-threshold, gradient-canary"
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
    audit.add_argument("--trials", type=int, default=1000, help="trials to play (default: 1000)")
    audit.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    audit.add_argument(
        "--delta", type=float, default=1e-5, help="δ of the claim and the bound (default: 1e-5)"
    )
    audit.add_argument(
        "--fpr", type=float, default=0.01, help="FPR at which TPR is reported (default: 0.01)"
    )
    audit.add_argument(
        "--level", type=float, default=0.95, help="family confidence level (default: 0.95)"
    )
    audit.add_argument(
        "--calibration",
        type=float,
        default=0.5,
        help="fraction of trials thresholds are chosen on (default: 0.5)",
    )
    audit.add_argument(
        "--accountant", default="rdp", choices=("rdp", "pld"), help="accountant of the claimed ε"
    )
    audit.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    audit.set_defaults(handler=audit_command)


def _interval(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"


def audit_command(args: argparse.Namespace) -> int:
    game = make_game(args.game, pairs(args.param, "-p"))
    adversary = make_adversary(args.adversary, pairs(args.adv_param, "-a"), args.game)
    report = run_audit(
        game,
        adversary,
        trials=args.trials,
        seed=args.seed,
        delta=args.delta,
        fpr=args.fpr,
        level=args.level,
        calibration=args.calibration,
        accountant=args.accountant,
        game_name=args.game,
        adversary_name=args.adversary,
    )
    if args.json:
        print_json(report.to_json())
    else:
        show(report)
    return 1 if report.refuted else 0


def show(report: AuditReport) -> None:
    params = ", ".join(f"{k}={v}" for k, v in report.params.items())
    table = Table(
        title=f"audit of {report.game} ({params}) with {report.adversary}: {report.kept} of "
        f"{report.trials} trials kept, seed {report.seed}",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="bold")
    table.add_column(overflow="fold")
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
