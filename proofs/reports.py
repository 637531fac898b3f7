"""The reports the two checkers return, as records, as text and as plain JSON.

:class:`SymbolicReport` (with its :class:`Finding` records) is what
:func:`proofs.check_symbolic` returns; :class:`EmpiricalReport` (with an
:class:`AssumptionCheck` per assumption and a :class:`HopCheck` per hop) is what
:func:`proofs.check_empirical` returns. Each has ``to_json()``, the record ``advantage
check --json`` prints, and a ``str()`` for people. The records only hold and show what the
checkers decided; the deciding is in :mod:`proofs.symbolic` and :mod:`proofs.verdict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import attrs
import sympy

if TYPE_CHECKING:
    from games.engine import Estimate

__all__ = [
    "AssumptionCheck",
    "EmpiricalReport",
    "Finding",
    "GameKey",
    "HopCheck",
    "Status",
    "SymbolicReport",
    "format_point",
    "game_key",
    "symbolic_json",
]

Status = Literal["proven", "refuted", "undecided", "unchecked"]

GameKey = tuple[str, tuple[tuple[str, str], ...]]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def game_key(game: str, params: Mapping[str, Any]) -> GameKey:
    """A game as played, by name and parameters: two hop ends with one key are one game."""
    return game, tuple(sorted((str(k), repr(v)) for k, v in params.items()))


def _plain(value: Any) -> Any:
    from games.engine import plain  # games is loaded only once a check runs

    return plain(value)


# -- the symbolic check ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Finding:
    """A part of the chain that the claimed bound does not cover.

    Attributes:
        hops: the hops concerned, by index (from 1).
        term: their combined cost that is not covered.
        message: what is wrong, in words.
        counterexample: a point of the domain that shows it, if one was found.
    """

    hops: tuple[int, ...]
    term: sympy.Expr
    message: str
    counterexample: Mapping[str, Any] | None = attrs.field(default=None, hash=False)


@attrs.frozen(kw_only=True)
class SymbolicReport:
    """The result of :func:`proofs.check_symbolic`.

    Attributes:
        proof: the proof's name.
        status: ``proven`` (the bound covers the chain everywhere in the domain),
            ``refuted`` (a counterexample is given), ``undecided`` (no decider could
            tell; Hypothesis found no counterexample in ``samples`` points), or
            ``unchecked`` (the file gives no hops to check against).
        method: the decider that settled it, if any.
        claimed: the theorem's bound.
        chain: the sum of the hops' terms.
        difference: ``claimed − chain``, simplified.
        equal: whether the two are identical expressions (difference 0).
        detail: one line on how it was decided.
        counterexample: a point where the bound is below the chain, with both values.
        samples: points Hypothesis tried.
        findings: the hops whose terms the bound fails to cover.
    """

    proof: str
    status: Status
    method: str | None
    claimed: sympy.Expr
    chain: sympy.Expr
    difference: sympy.Expr
    equal: bool
    detail: str
    counterexample: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    samples: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the bound is proven to cover the chain."""
        return self.status == "proven"

    def to_json(self) -> dict[str, Any]:
        """Everything as plain JSON values (the ``symbolic`` part of ``advantage check --json``):
        every field but the proof's name, expressions and exact numbers as text."""
        data = attrs.asdict(self, recurse=False, filter=lambda field, _: field.name != "proof")
        point = self.counterexample
        data.update(
            claimed=str(self.claimed),
            chain=str(self.chain),
            difference=str(self.difference),
            counterexample={k: str(v) for k, v in point.items()} if point else None,
            findings=[
                {"hops": list(f.hops), "term": str(f.term), "message": f.message}
                for f in self.findings
            ],
        )
        return data

    def __str__(self) -> str:
        lines = [f"{self.proof}: {self.status}" + (f" ({self.method})" if self.method else "")]
        lines.append(f"  claimed bound: {self.claimed}")
        lines.append(f"  sum of hops:   {self.chain}")
        lines.append(f"  {self.detail}")
        if self.counterexample:
            lines.append(f"  counterexample: {format_point(self.counterexample)}")
        for finding in self.findings:
            lines.append(f"  - {finding.message}")
        return "\n".join(lines)


def symbolic_json(report: SymbolicReport) -> dict[str, Any]:
    """A symbolic report as plain JSON values: ``report.to_json()``."""
    return report.to_json()


def format_point(point: Mapping[str, Any]) -> str:
    """``q=3, n=8``: a point of the domain, exact values shortened."""
    return ", ".join(f"{name}={_show(value)}" for name, value in point.items())


def _show(value: Any) -> str:
    if isinstance(value, Fraction | sympy.Rational) and value != int(value):
        try:
            return f"{float(value):.6g}"
        except OverflowError:
            return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# -- the empirical check -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AssumptionCheck:
    """One assumption's side of the check: B = R(A) against the assumption's game.

    Attributes:
        name: the assumption's name (its advantage is ``adv_NAME``).
        game, params: the assumption game as played (its params plus what B spends).
        reduction: the reduction's import path.
        claim: the claimed bound as written; ``claim_value`` at the resources.
        estimate: Adv_H(B) as the engine measured it.
        low, high: the interval of |Adv_H(B)|.
        violated: whether ``low`` exceeds the claim.
    """

    name: str
    game: str
    params: Mapping[str, Any] = attrs.field(converter=_frozen, hash=False)
    reduction: str
    claim: str
    claim_value: float
    estimate: Estimate = attrs.field(hash=False)
    low: float
    high: float
    violated: bool


@attrs.frozen(kw_only=True)
class HopCheck:
    """One hop of the chain: what its justification allows and, if playable, its measured gap.

    Attributes:
        index, source, target, by: the hop as written in the file.
        allowance: count × term at the resources, with each ``adv_NAME`` at the upper end of
            its interval.
        measured: whether both ends were measured (played, or an advantage the proof states).
        reason: why it was not measured.
        source_estimate, target_estimate: A's advantage in the two games (None for an end
            that states its advantage: it counts as exact).
        gap, gap_low, gap_high: |Adv_target(A) − Adv_source(A)| and its interval.
        violated: whether ``gap_low`` exceeds the allowance.
    """

    index: int
    source: str
    target: str
    by: str
    allowance: float
    measured: bool
    reason: str = ""
    source_estimate: Estimate | None = attrs.field(default=None, hash=False)
    target_estimate: Estimate | None = attrs.field(default=None, hash=False)
    gap: float = math.nan
    gap_low: float = math.nan
    gap_high: float = math.nan
    violated: bool = False

    @property
    def label(self) -> str:
        return f"hop {self.index} ({self.source} → {self.target})"

    def to_json(self) -> dict[str, Any]:
        """The hop as plain JSON values (a gap is None when it was not measured)."""
        return {
            "index": self.index,
            "from": self.source,
            "to": self.target,
            "by": self.by,
            "allowance": self.allowance,
            "measured": self.measured,
            "reason": self.reason,
            "gap": self.gap if self.measured else None,
            "gap_low": self.gap_low if self.measured else None,
            "gap_high": self.gap_high if self.measured else None,
            "violated": self.violated,
        }

    def __str__(self) -> str:
        allows = f"allows {self.allowance:.4g}"
        if not self.measured:
            return f"{self.label} [{self.by}] {allows}: not measured ({self.reason})"
        flag = "  VIOLATED" if self.violated else ""
        return (
            f"{self.label} [{self.by}] gap {self.gap:.4f} [{self.gap_low:.4f}, "
            f"{self.gap_high:.4f}] {allows}{flag}"
        )


@attrs.frozen(kw_only=True)
class EmpiricalReport:
    """The result of :func:`proofs.check_empirical`.

    Attributes:
        proof: the proof's name.
        adversary, adversary_params: A.
        params: the theorem game's parameters as played; ``overrides`` the caller's part.
        resources: the resources' values in that play.
        trials, seed: of every estimate (all play ``trials`` trials with ``seed``).
        level: the family level: every interval holds together with this probability.
        interval_level: the level of each interval, ``1 − (1 − level)/intervals``.
        intervals: the number of estimates made (the Bonferroni count).
        theorem: Adv_G(A); ``low``/``high`` the interval of its magnitude.
        bound_text: the theorem's bound; ``bound`` its value at the resources and the
            upper ends of the assumption advantages; ``bound_at_estimates`` at the
            estimates themselves.
        max_advantage: the largest advantage G allows (1, or 1 − baseline for search).
        assumptions, hops: the checks of each part.
        verdicts: ``("consistent",)``, ``("inconclusive",)`` or some of ``algorithm`` and
            ``assumption:NAME``.
        reasons: why, one sentence each.
        trials_needed: for an inconclusive check, the trials that would likely decide it
            (None when no number of trials would, at these estimates).
        blamed_hops: the hops whose measured gap exceeds their justification.
    """

    proof: str
    adversary: str
    adversary_params: Mapping[str, Any] = attrs.field(converter=_frozen, hash=False)
    params: Mapping[str, Any] = attrs.field(converter=_frozen, hash=False)
    overrides: Mapping[str, Any] = attrs.field(converter=_frozen, hash=False)
    resources: Mapping[str, Any] = attrs.field(converter=_frozen, hash=False)
    trials: int
    seed: int
    level: float
    interval_level: float
    intervals: int
    method: str
    theorem: Estimate = attrs.field(hash=False)
    low: float
    high: float
    bound_text: str
    bound: float
    bound_at_estimates: float
    max_advantage: float
    assumptions: tuple[AssumptionCheck, ...] = ()
    hops: tuple[HopCheck, ...] = ()
    verdicts: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    trials_needed: int | None = None
    blamed_hops: tuple[int, ...] = ()

    @property
    def verdict(self) -> str:
        """The verdicts joined by ", " (``algorithm, assumption:prf``)."""
        return ", ".join(self.verdicts)

    @property
    def blames(self) -> bool:
        """Whether a verdict blames a part: ``algorithm`` or ``assumption:NAME``."""
        return any(v == "algorithm" or v.startswith("assumption:") for v in self.verdicts)

    @property
    def violated(self) -> bool:
        """Whether the theorem's interval lies above the bound."""
        return self.low > self.bound

    @property
    def correction(self) -> str:
        """The family level and its Bonferroni correction, in words."""
        from games.stats.intervals import percent  # proofs imports no game until one is played

        return (
            f"family level {percent(self.level)}: Bonferroni over {self.intervals} "
            f"interval{'s' if self.intervals != 1 else ''}, each at {percent(self.interval_level)} "
            f"{self.method}; hop gaps follow from their games' intervals"
        )

    def rows(self) -> list[dict[str, Any]]:
        """Every interval reported, in order: the theorem, each assumption, each hop's game."""
        theorem = self.theorem
        out = [
            _row(
                f"Adv_{theorem.game}({self.adversary})",
                "theorem",
                self.proof,
                theorem,
                self.bound,
                f"bound {self.bound_text} at the upper ends",
                self.violated,
            )
        ]
        for check in self.assumptions:
            out.append(
                _row(
                    f"Adv_{check.game}(B_{check.name})",
                    "assumption",
                    check.name,
                    check.estimate,
                    check.claim_value,
                    f"claim {check.claim}",
                    check.violated,
                    reduction=check.reduction,
                )
            )
        seen = {game_key(theorem.game, theorem.params)}
        for hop in self.hops:
            ends = (
                ("from", hop.source, hop.source_estimate),
                ("to", hop.target, hop.target_estimate),
            )
            for side, name, result in ends:
                if result is None or game_key(result.game, result.params) in seen:
                    continue
                seen.add(game_key(result.game, result.params))
                what = f"Adv_{result.game}({self.adversary}), {side} of hop {hop.index}"
                out.append(_row(what, "hop-game", name, result, None, f"hop {hop.index} {side}"))
        return out

    def to_json(self) -> dict[str, Any]:
        """Everything as plain JSON values (the ``--json`` output of ``advantage check``)."""
        return {
            "proof": self.proof,
            "verdict": self.verdict,
            "verdicts": list(self.verdicts),
            "reasons": list(self.reasons),
            "adversary": self.adversary,
            "adversary_params": _plain(self.adversary_params),
            "params": _plain(self.params),
            "overrides": _plain(self.overrides),
            "resources": _plain(self.resources),
            "trials": self.trials,
            "seed": self.seed,
            "level": self.level,
            "interval_level": self.interval_level,
            "intervals_count": self.intervals,
            "correction": "bonferroni",
            "method": self.method,
            "bound": {
                "text": self.bound_text,
                "value": self.bound,
                "at_estimates": self.bound_at_estimates,
                "max_advantage": self.max_advantage,
            },
            "intervals": self.rows(),
            "hops": [hop.to_json() for hop in self.hops],
            "trials_needed": self.trials_needed,
            "blamed_hops": list(self.blamed_hops),
        }

    def __str__(self) -> str:
        lines = [f"{self.proof} with {self.adversary}: {self.verdict}"]
        for row in self.rows():
            threshold = "" if row["threshold"] is None else f" vs {row['threshold']:.4g}"
            flag = "  VIOLATED" if row["violated"] else ""
            lines.append(
                f"  {row['what']}: {row['estimate']:+.4f} "
                f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]{threshold}{flag}"
            )
        lines.extend(f"  {hop}" for hop in self.hops)
        lines.extend(f"  {reason}" for reason in self.reasons)
        lines.append(f"  ({self.correction})")
        return "\n".join(lines)


def _row(
    what: str,
    role: str,
    name: str,
    result: Estimate,
    threshold: float | None,
    threshold_text: str,
    violated: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One interval of the report, with what it is compared with."""
    return {
        "what": what,
        "role": role,
        "name": name,
        "game": result.game,
        "params": _plain(result.params),
        "adversary": result.adversary,
        "shape": result.shape,
        "estimate": result.advantage,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "level": result.level,
        "method": result.method,
        "trials": result.trials,
        "wins": result.wins,
        "worlds": {k: list(v) for k, v in result.worlds.items()} if result.worlds else None,
        "errors": dict(result.errors),
        "threshold": threshold,
        "threshold_text": threshold_text,
        "violated": violated,
        **extra,
    }
