"""The empirical check: play the theorem's game and every reduction, and say which part failed.

For an adversary A and a proof, :func:`check_empirical` estimates

- Adv_G(A), A's advantage in the theorem's game G as played (the file's parameters with
  the caller's overrides);
- Adv_Hi(B_i) for each assumption, where B_i = R_i(A) is built by the reduction the file
  names and plays the assumption's game H_i with what the proof says it spends;
- each hop's gap, when both of its games are playable (see :func:`endpoint`): A's
  advantage in the two games and their difference. An end may instead state A's advantage
  exactly (see :func:`stated_advantage`); the gap is then measured from the other end.

Every interval is at level ``1 − (1 − level)/k`` for the k estimates made (Bonferroni),
so that all of them hold together at ``level``; the hop gaps follow from the intervals of
their two games and need no share of their own. Advantages are compared in magnitude
(an adversary that is reliably wrong in a hidden-bit or real-vs-ideal game can flip its
answer; in a search game only a positive advantage counts).

Verdicts:

- ``algorithm``: the lower end of |Adv_G(A)| exceeds the bound evaluated at the upper
  ends of the assumption advantages and at the resources, or a measured hop's gap
  exceeds what its justification allows. No reading of the assumptions explains A's
  success: the scheme, its implementation or the proof is wrong.
- ``assumption:NAME``: the lower end of |Adv_H(B)| exceeds the assumption's claimed
  bound: the behaviour assumed does not hold.
- ``consistent``: no interval contradicts the bound or a claim, and the interval of
  Adv_G(A) lies under the bound (which is below the largest possible advantage).
- ``inconclusive``: nothing is contradicted, but the interval of Adv_G(A) straddles the
  bound or the bound at the upper ends says nothing (it is at least the largest possible
  advantage); the report gives the number of trials that would likely decide it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from oracles import InvalidArgument
from proofs.errors import ProofError
from proofs.model import Assumption, Hop, Proof

if TYPE_CHECKING:
    from games.engine import Estimate

# The games and the engine are imported when a check runs: `import proofs` stays light.

__all__ = [
    "POWER",
    "AssumptionCheck",
    "EmpiricalReport",
    "HopCheck",
    "check_empirical",
    "endpoint",
    "stated_advantage",
]

#: The power the trial suggestion of an inconclusive check aims for.
POWER = 0.9
# Suggestions beyond this many trials are reported as out of reach.
MAX_SUGGESTION = 10**12

_ENDPOINT = re.compile(
    r"^(?:[^:]*:)?\s*(?P<game>[a-z0-9]+(?:-[a-z0-9]+)*)(?P<rest>(?:\s+[A-Za-z_]\w*=\S+)*)\s*$"
)
_STATED = re.compile(r"^(?:[^:]*:)?\s*advantage\s+(?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+))(?:,.*)?$")


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


# -- records ------------------------------------------------------------------------------


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


@attrs.frozen(kw_only=True)
class EmpiricalReport:
    """The result of :func:`check_empirical`.

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
    def violated(self) -> bool:
        """Whether the theorem's interval lies above the bound."""
        return self.low > self.bound

    @property
    def correction(self) -> str:
        """The family level and its Bonferroni correction, in words."""
        return (
            f"family level {self.level:.0%}: Bonferroni over {self.intervals} "
            f"interval{'s' if self.intervals != 1 else ''}, each at {_pct(self.interval_level)} "
            f"{self.method}; hop gaps follow from their games' intervals"
        )

    def rows(self) -> list[dict[str, Any]]:
        """Every interval reported, in order: the theorem, each assumption, each hop."""
        theorem = self.theorem
        out = [
            _row(
                f"Adv_{theorem.game}({self.adversary})",
                "theorem",
                theorem,
                self.bound,
                f"bound {self.bound_text} at the upper ends",
                self.violated,
                name=self.proof,
            )
        ]
        for check in self.assumptions:
            out.append(
                _row(
                    f"Adv_{check.game}(B_{check.name})",
                    "assumption",
                    check.estimate,
                    check.claim_value,
                    f"claim {check.claim}",
                    check.violated,
                    name=check.name,
                    extra={"reduction": check.reduction},
                )
            )
        seen = {_key(theorem.game, theorem.params)}
        for hop in self.hops:
            for side, endpoint_estimate in (
                ("from", hop.source_estimate),
                ("to", hop.target_estimate),
            ):
                if endpoint_estimate is None:
                    continue
                key = _key(endpoint_estimate.game, endpoint_estimate.params)
                if key in seen:
                    continue
                seen.add(key)
                out.append(
                    _row(
                        f"Adv_{endpoint_estimate.game}({self.adversary}), {side} of hop {hop.index}",
                        "hop-game",
                        endpoint_estimate,
                        None,
                        f"hop {hop.index} {side}",
                        False,
                        name=hop.source if side == "from" else hop.target,
                    )
                )
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
            "hops": [_hop_json(hop) for hop in self.hops],
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
        for hop in self.hops:
            lines.append(f"  {_hop_line(hop)}")
        lines.extend(f"  {reason}" for reason in self.reasons)
        lines.append(f"  ({self.correction})")
        return "\n".join(lines)


def _pct(level: float) -> str:
    text = f"{100 * level:.3f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _key(game: str, params: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return game, tuple(sorted((str(k), repr(v)) for k, v in params.items()))


def _plain(value: Any) -> Any:
    from games.engine import plain  # games is loaded only once a check runs

    return plain(value)


def _row(
    what: str,
    role: str,
    result: Estimate,
    threshold: float | None,
    threshold_text: str,
    violated: bool,
    *,
    name: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
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
        **(extra or {}),
    }


def _hop_json(hop: HopCheck) -> dict[str, Any]:
    return {
        "index": hop.index,
        "from": hop.source,
        "to": hop.target,
        "by": hop.by,
        "allowance": hop.allowance,
        "measured": hop.measured,
        "reason": hop.reason,
        "gap": hop.gap if hop.measured else None,
        "gap_low": hop.gap_low if hop.measured else None,
        "gap_high": hop.gap_high if hop.measured else None,
        "violated": hop.violated,
    }


def _hop_line(hop: HopCheck) -> str:
    if not hop.measured:
        return f"{hop.label} [{hop.by}] allows {hop.allowance:.4g}: not measured ({hop.reason})"
    flag = "  VIOLATED" if hop.violated else ""
    return (
        f"{hop.label} [{hop.by}] gap {hop.gap:.4f} [{hop.gap_low:.4f}, {hop.gap_high:.4f}] "
        f"allows {hop.allowance:.4g}{flag}"
    )


# -- magnitudes and projections -----------------------------------------------------------


def _lost(result: Estimate) -> int:
    """Trials the adversary lost to errors (raising, overspending, an invalid answer)."""
    return sum(v for k, v in result.errors.items() if k != "game-failed")


def _magnitude(result: Estimate) -> tuple[float, float, float]:
    """|Adv| (or max(Adv, 0) for a search game): estimate, interval low and high.

    Flipping a reliably wrong answer turns Adv into −Adv only when every trial was
    answered: trials lost to errors are losses for the flipped adversary too, so a
    negative advantage with errors earns no credit at the lower end.
    """
    advantage = result.advantage if math.isfinite(result.advantage) else 0.0
    if result.shape == "search" or _lost(result):
        return (
            max(advantage, 0.0),
            max(result.ci_low, 0.0),
            max(abs(result.ci_low), result.ci_high, 0.0),
        )
    low = max(0.0, result.ci_low, -result.ci_high)
    high = max(abs(result.ci_low), abs(result.ci_high))
    return abs(advantage), low, high


def _max_advantage(result: Estimate) -> float:
    return 1.0 - result.baseline if result.shape == "search" else 1.0


def _spreads(result: Estimate, each: float) -> tuple[float, float]:
    """The advantage's half-width at level ``each`` and its standard deviation, times sqrt(trials).

    A normal approximation from the current counts, shaped like the engine's intervals: a
    real-vs-ideal game plays half its trials in each world, and its Bonferroni interval adds
    the two worlds' half-widths (each at level 1 − α/2).
    """

    def deviation(ones: int, n: int) -> float:
        p = (ones + 0.5) / (n + 1)  # kept off 0 and 1 so that a perfect run still has a spread
        return math.sqrt(p * (1 - p))

    from scipy import special

    alpha = 1 - each
    if result.shape == "real-vs-ideal" and result.worlds:
        (rn, r1), (i_n, i1) = result.worlds["real"], result.worlds["ideal"]
        real, ideal = deviation(r1, rn) * math.sqrt(2), deviation(i1, i_n) * math.sqrt(2)
        sd = math.hypot(real, ideal)
        if result.method.startswith("bonferroni"):
            return float(special.ndtri(1 - alpha / 4)) * (real + ideal), sd
        return float(special.ndtri(1 - alpha / 2)) * sd, sd
    sd = deviation(result.wins, result.trials) * (2 if result.shape == "hidden-bit" else 1)
    return float(special.ndtri(1 - alpha / 2)) * sd, sd


def _smallest(predicate: Callable[[int], bool], start: int) -> int | None:
    """The smallest n ≥ start for which the (monotone) predicate holds, or None past the cap."""
    if predicate(start):
        return start
    low, high = start, max(2 * start, start + 1)
    while not predicate(high):
        low, high = high, 2 * high
        if high > MAX_SUGGESTION:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle
    return high


# -- playable hops --------------------------------------------------------------------------


def endpoint(text: str) -> tuple[str, dict[str, str]] | None:
    """The game a hop's ``from`` or ``to`` names, if it is playable, else None.

    A playable end reads ``[LABEL:] GAME [key=value ...]`` with GAME a registered game,
    e.g. ``"G1: prp prf=blake2"``. Parameters the text does not set are carried over from
    the theorem's game as played, where GAME has a parameter of that name.
    """
    from games.registry import GAMES

    match = _ENDPOINT.match(text)
    if match is None or match.group("game") not in GAMES.names():
        return None
    params = dict(token.split("=", 1) for token in match.group("rest").split())
    return match.group("game"), params


def stated_advantage(text: str) -> float | None:
    """The advantage a hop's ``from`` or ``to`` states, if it states one, else None.

    An end reading ``[LABEL:] advantage NUMBER[, words]`` (``"G2: advantage 0, the classes
    coincide"``) is a world in which the proof shows every adversary's advantage to be
    exactly NUMBER (a hidden bit independent of the view, say). The checker takes the value
    as exact, so a hop from a playable game to it is measured from that game alone.
    """
    match = _STATED.match(text.strip())
    if match is None:
        return None
    value = float(match.group("value"))
    return value if math.isfinite(value) and -1 <= value <= 1 else None


@attrs.frozen
class _Stated:
    """A hop end whose advantage the proof states exactly."""

    value: float


# -- the check ------------------------------------------------------------------------------


def _typed(cls: type, values: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Values for ``cls``: strings parsed as the parameter's type, other values as they are."""
    from games.registry import coerce, parameters

    strings = {k: v for k, v in values.items() if isinstance(v, str)}
    out = {k: v for k, v in values.items() if not isinstance(v, str)}
    known = parameters(cls)
    unknown = [k for k in out if k not in known]
    if unknown:
        coerce(cls, {unknown[0]: ""}, what=what)  # raises, naming the known parameters
    out.update(coerce(cls, strings, what=what))
    return out


def _game_class(name: str, *, file: str, key: str) -> type:
    from games.registry import GAMES

    try:
        return GAMES.get(name)
    except InvalidArgument as error:
        raise ProofError(str(error), file=file, key=key) from None


def _make(cls: type, params: Mapping[str, Any], *, file: str, key: str) -> Any:
    try:
        return cls(**params)
    except InvalidArgument as error:
        raise ProofError(f"{_class_name(cls)}: {error}", file=file, key=key) from None
    except TypeError as error:
        raise ProofError(f"{_class_name(cls)}: {error}", file=file, key=key) from None


def _class_name(cls: type) -> str:
    from games.registry import GAMES

    return GAMES.name_of(cls) or cls.__name__


def _assumption_params(
    assumption: Assumption, theorem_params: Mapping[str, Any], overrides: Mapping[str, Any]
) -> Assumption:
    """The assumption with the overrides it shares with the theorem.

    A parameter the file sets to the same value in the theorem and in the assumption is one
    instantiation (the PRF under CTR and the PRF assumed secure): overriding it for the
    theorem's game overrides it for the assumption's game too.
    """
    params = dict(assumption.params)
    for key, value in overrides.items():
        if key in params and key in theorem_params and params[key] == theorem_params[key]:
            params[key] = value
    return attrs.evolve(assumption, params=params)


def _engine_options(options: Mapping[str, Any]) -> dict[str, Any]:
    from games.engine.options import RunOptions

    allowed = {"method", *attrs.fields_dict(RunOptions)}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidArgument(
            f"unknown option {unknown[0]!r} for check_empirical; engine options: "
            f"{', '.join(sorted(allowed))}"
        )
    return dict(options)


def check_empirical(
    proof: Proof,
    adversary: Any,
    *,
    params: Mapping[str, Any] | None = None,
    trials: int,
    seed: int,
    level: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
    **engine: Any,
) -> EmpiricalReport:
    """Play the proof's games against A and the reductions' B_i, and assign blame.

    Args:
        proof: a loaded proof (:func:`proofs.load`).
        adversary: A, an adversary against the theorem's game (an instance, or a registered
            adversary's name for its default parameters).
        params: overrides of the theorem game's parameters (strings are parsed as the
            parameter's type). A parameter the file sets to the same value in the theorem
            and in an assumption is overridden in both; the reductions receive the theorem
            game's parameters as played.
        trials, seed: trials of every game played, and their seed (the theorem's game is
            played exactly as ``advantage run`` would play it with this seed).
        level: the family level: every interval reported holds together at this level.
        progress: called as ``progress(done, total)`` over all the games played.
        engine: ``method``, ``backend``, ``workers``, ``address``, ``chunk_size``,
            ``batched``, ``isolate``, ``device``, as for :func:`games.estimate`
            (``batched`` applies to A's games; the reductions play trial by trial).

    Returns:
        An :class:`EmpiricalReport` with the verdicts.

    Raises:
        ProofError: an unknown game in the file, a reduction that cannot be imported, that
            raises, or whose B fails in its trials.
        InvalidArgument: bad arguments or overrides (an unknown parameter, a resource
            outside the proof's domain).
    """
    if not isinstance(proof, Proof):
        raise InvalidArgument(f"proof={proof!r} must be a Proof (see proofs.load)")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials <= 0:
        raise InvalidArgument(f"trials={trials!r} must be a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be a non-negative integer")
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise InvalidArgument(f"level={level!r} must be in (0, 1)")
    from games.engine import estimate
    from games.registry import ADVERSARIES, parameters

    options = _engine_options(engine)
    method = options.get("method", "clopper-pearson")
    if isinstance(adversary, str):
        adversary = ADVERSARIES.get(adversary)()
    file = proof.file

    # The theorem's game as played.
    theorem_cls = _game_class(proof.theorem.game, file=file, key="theorem.game")
    overrides = _typed(theorem_cls, params or {}, f"parameter of game {proof.theorem.game}")
    try:
        game = theorem_cls(**{**proof.theorem.params, **overrides})
    except (InvalidArgument, TypeError) as error:
        if overrides:  # the caller's values may be at fault: not the file's
            raise InvalidArgument(
                f"game {proof.theorem.game} with the proof's parameters and the overrides "
                f"{', '.join(f'{k}={v!r}' for k, v in overrides.items())}: {error}"
            ) from None
        raise ProofError(
            f"{proof.theorem.game}: {error}", file=file, key="theorem.params"
        ) from None
    effective = game.describe()
    resources = proof.resource_values(params=effective)

    # The assumption games and the reductions' adversaries, built before anything is played.
    plans = []
    for assumption in proof.assumptions:
        assumption = _assumption_params(assumption, proof.theorem.params, overrides)
        cls = _game_class(assumption.game, file=file, key=f"{assumption.key}.game")
        played = assumption.game_params(resources)
        h_game = _make(cls, played, file=file, key=f"{assumption.key}.params")
        reduction = assumption.resolve_reduction()
        try:
            b = reduction(adversary, MappingProxyType(dict(effective)))
        except Exception as error:
            raise ProofError(
                f"reduction {assumption.reduction!r} raised {type(error).__name__}: {error}",
                file=file,
                key=f"{assumption.key}.reduction",
            ) from error
        plans.append((assumption, h_game, b))

    # The hops' games, where both ends are playable.
    theorem_key = _key(proof.theorem.game, effective)
    endpoint_games: dict[Any, Any] = {theorem_key: game}
    hop_plans: list[tuple[Hop, Any, Any, str]] = []
    for hop in proof.hops:
        ends: list[Any] = []
        reason = ""
        for side, text in (("from", hop.source), ("to", hop.target)):
            stated = stated_advantage(text)
            if stated is not None:
                ends.append(_Stated(stated))
                continue
            parsed = endpoint(text)
            if parsed is None:
                reason = (
                    f"{text!r} names no registered game (GAME key=value ...) "
                    "nor states an advantage (advantage NUMBER)"
                )
                break
            name, strings = parsed
            cls = _game_class(name, file=file, key=f"{hop.key}.{side}")
            fields = parameters(cls)
            carried = {k: v for k, v in effective.items() if k in fields}
            try:
                own = _typed(cls, strings, f"parameter of game {name}")
            except InvalidArgument as error:
                raise ProofError(str(error), file=file, key=f"{hop.key}.{side}") from None
            end = _make(cls, {**carried, **own}, file=file, key=f"{hop.key}.{side}")
            key = _key(name, end.describe())
            endpoint_games.setdefault(key, end)
            ends.append(key)
        if len(ends) == 2:
            hop_plans.append((hop, ends[0], ends[1], ""))
        else:
            hop_plans.append((hop, None, None, reason))
    extra_games = [key for key in endpoint_games if key != theorem_key]
    needed = {k for _, a, b, _ in hop_plans for k in (a, b) if k is not None}
    extra_games = [key for key in extra_games if key in needed]

    count = 1 + len(plans) + len(extra_games)
    each = 1 - (1 - level) / count
    total = trials * count
    played_so_far = [0]

    def run(game_: Any, player: Any, a_side: bool) -> Estimate:
        opts = dict(options)
        if not a_side:
            opts.pop("batched", None)
        update = None
        if progress is not None:
            base = played_so_far[0]

            def update(done: int, _total: int) -> None:
                progress(base + done, total)

        result = estimate(
            game_, player, trials=trials, seed=seed, level=each, progress=update, **opts
        )
        played_so_far[0] += trials
        return result

    theorem = run(game, adversary, True)
    adversary_name = theorem.adversary

    assumption_results: list[tuple[Assumption, Estimate]] = []
    for assumption, h_game, b in plans:
        result = run(h_game, b, False)
        failed = {k: v for k, v in result.errors.items() if k != "game-failed"}
        if failed:
            also = (
                f"; A lost {theorem.error_count} of {theorem.trials} trials of the theorem's game "
                "to errors too"
                if theorem.error_count
                else ""
            )
            kinds = ", ".join(f"{k}: {v}" for k, v in failed.items())
            last = (result.first_error or "").strip().splitlines()
            raise ProofError(
                f"reduction {assumption.reduction!r}: B failed in {sum(failed.values())} of "
                f"{trials} trials ({kinds}){also}; first: {last[-1] if last else 'no traceback'}",
                file=file,
                key=f"{assumption.key}.reduction",
            )
        assumption_results.append((assumption, result))

    endpoint_results = {theorem_key: theorem}
    for key in extra_games:
        endpoint_results[key] = run(endpoint_games[key], adversary, True)

    return _judge(
        proof,
        adversary_name,
        effective,
        overrides,
        resources,
        theorem,
        assumption_results,
        hop_plans,
        endpoint_results,
        trials=trials,
        seed=seed,
        level=level,
        each=each,
        count=count,
        method=method,
    )


def _judge(
    proof: Proof,
    adversary_name: str,
    effective: Mapping[str, Any],
    overrides: Mapping[str, Any],
    resources: Mapping[str, Any],
    theorem: Estimate,
    assumption_results: list[tuple[Assumption, Estimate]],
    hop_plans: list[tuple[Hop, Any, Any, str]],
    endpoint_results: Mapping[Any, Estimate],
    *,
    trials: int,
    seed: int,
    level: float,
    each: float,
    count: int,
    method: str,
) -> EmpiricalReport:
    """Compare every interval with its bound or claim and give the verdicts."""
    estimate_g, low_g, high_g = _magnitude(theorem)
    maximum = _max_advantage(theorem)
    upper = {a.variable: min(1.0, _magnitude(r)[2]) for a, r in assumption_results}
    point = {a.variable: min(1.0, _magnitude(r)[0]) for a, r in assumption_results}
    bound = proof.bound_value({**resources, **upper})
    at_estimates = proof.bound_value({**resources, **point})

    checks = []
    for assumption, result in assumption_results:
        _, low, high = _magnitude(result)
        claim = assumption.claim_value(resources)
        checks.append(
            AssumptionCheck(
                name=assumption.name,
                game=assumption.game,
                params=result.params,
                reduction=assumption.reduction,
                claim=assumption.claim.text,
                claim_value=claim,
                estimate=result,
                low=low,
                high=high,
                violated=low > claim,
            )
        )

    hops = []
    for hop, source, target, reason in hop_plans:
        allowance = hop.value({**resources, **upper})
        if source is None:
            hops.append(
                HopCheck(
                    index=hop.index,
                    source=hop.source,
                    target=hop.target,
                    by=hop.by,
                    allowance=allowance,
                    measured=False,
                    reason=reason,
                )
            )
            continue
        first, (a1, low1, high1) = _end(source, endpoint_results)
        second, (a2, low2, high2) = _end(target, endpoint_results)
        gap = abs(a2 - a1)
        gap_low = max(0.0, low2 - high1, low1 - high2)
        gap_high = max(abs(high2 - low1), abs(high1 - low2))
        hops.append(
            HopCheck(
                index=hop.index,
                source=hop.source,
                target=hop.target,
                by=hop.by,
                allowance=allowance,
                measured=True,
                source_estimate=first,
                target_estimate=second,
                gap=gap,
                gap_low=gap_low,
                gap_high=gap_high,
                violated=gap_low > allowance,
            )
        )

    verdicts: list[str] = []
    reasons: list[str] = []
    blamed = tuple(h.index for h in hops if h.violated)
    if low_g > bound or blamed:
        verdicts.append("algorithm")
        if low_g > bound:
            reasons.append(
                f"|Adv_{theorem.game}(A)| ≥ {low_g:.4f} exceeds the bound {proof.theorem.bound.text} "
                f"= {bound:.4g} at the upper ends of the assumption advantages: no reading of the "
                "assumptions explains A's success; the scheme, its implementation or the proof is "
                "wrong."
            )
        for measured in hops:
            if measured.violated:
                reasons.append(
                    f"{measured.label}: the measured gap is at least {measured.gap_low:.4f}, more "
                    f"than its justification [{measured.by}] allows ({measured.allowance:.4g})."
                )
        if not blamed:
            unmeasured = [h for h in hops if not h.measured]
            if unmeasured:
                costs = ", ".join(f"hop {h.index} ≤ {h.allowance:.4g}" for h in hops)
                reasons.append(
                    f"No hop could be measured (their games are not playable), so none is named; at "
                    f"the measured values the chain allows {costs}, in all "
                    f"{sum(h.allowance for h in hops):.4g}."
                )
    for check in checks:
        if check.violated:
            verdicts.append(f"assumption:{check.name}")
            reasons.append(
                f"|Adv_{check.game}(B_{check.name})| ≥ {check.low:.4f} exceeds the claim "
                f"{check.claim} = {check.claim_value:.4g}: the assumption {check.name} does not "
                f"hold for the B that {check.reduction} builds from A."
            )

    lost = _lost(theorem)
    if lost:
        reasons.append(
            f"A lost {lost} of {theorem.trials} trials of the theorem's game to errors: they "
            "count as losses, and a negative advantage is not credited as a flipped one."
        )
    trials_needed = None
    if not verdicts:
        if high_g <= bound < maximum:
            verdicts.append("consistent")
            reasons.append(
                f"|Adv_{theorem.game}(A)| ≤ {high_g:.4f}, within the bound {bound:.4g} at the upper "
                "ends of the assumption advantages, and no assumption's interval exceeds its claim."
            )
        else:
            verdicts.append("inconclusive")
            trials_needed = _suggest(
                proof, theorem, assumption_results, resources, maximum, each, trials
            )
            if bound >= maximum:
                why = (
                    f"the bound at the upper ends is {bound:.4g}, at least the largest advantage "
                    f"{maximum:.4g}: these trials cannot test it"
                )
            else:
                why = (
                    f"the interval of |Adv_{theorem.game}(A)|, [{low_g:.4f}, {high_g:.4f}], "
                    f"straddles the bound {bound:.4g}"
                )
            if trials_needed is None:
                how = "no number of trials would decide it at the current estimates"
            else:
                how = (
                    f"about {trials_needed} trials would likely decide it (normal approximation "
                    f"from the current estimates, {POWER:.0%} power)"
                )
            reasons.append(f"Nothing is contradicted, but {why}; {how}.")
    return EmpiricalReport(
        proof=proof.name,
        adversary=adversary_name,
        adversary_params=theorem.adversary_params,
        params=effective,
        overrides=overrides,
        resources=resources,
        trials=trials,
        seed=seed,
        level=level,
        interval_level=each,
        intervals=count,
        method=method,
        theorem=theorem,
        low=low_g,
        high=high_g,
        bound_text=proof.theorem.bound.text,
        bound=bound,
        bound_at_estimates=at_estimates,
        max_advantage=maximum,
        assumptions=tuple(checks),
        hops=tuple(hops),
        verdicts=tuple(verdicts),
        reasons=tuple(reasons),
        trials_needed=trials_needed,
        blamed_hops=blamed,
    )


def _end(
    key: Any, endpoint_results: Mapping[Any, Estimate]
) -> tuple[Estimate | None, tuple[float, float, float]]:
    """A hop end's estimate (None for a stated advantage) and its advantage, low and high."""
    if isinstance(key, _Stated):
        return None, (key.value, key.value, key.value)
    result = endpoint_results[key]
    return result, (result.advantage, result.ci_low, result.ci_high)


def _suggest(
    proof: Proof,
    theorem: Estimate,
    assumption_results: list[tuple[Assumption, Estimate]],
    resources: Mapping[str, Any],
    maximum: float,
    each: float,
    trials: int,
) -> int | None:
    """Trials at which the theorem's interval would likely clear the bound, one way or the other.

    Every interval is projected as the current estimate ± (its half-width + z_power·σ)/√n,
    from the current counts; the suggestion is the smallest n at which the projection decides.
    """
    from scipy import special

    z_power = float(special.ndtri(POWER))

    def spread(result: Estimate) -> float:
        half, sd = _spreads(result, each)
        return half + z_power * sd

    value_g = _magnitude(theorem)[0]
    spread_g = spread(theorem)
    sides = [(a.variable, min(1.0, _magnitude(r)[0]), spread(r)) for a, r in assumption_results]

    def bound_at(n: int) -> float:
        values = {name: min(1.0, value + width / math.sqrt(n)) for name, value, width in sides}
        return proof.bound_value({**resources, **values})

    at_estimates = proof.bound_value({**resources, **{name: value for name, value, _ in sides}})
    if value_g > at_estimates:

        def decided(n: int) -> bool:
            return value_g - spread_g / math.sqrt(n) > bound_at(n)

    elif at_estimates < maximum:

        def decided(n: int) -> bool:
            bound = bound_at(n)
            return value_g + spread_g / math.sqrt(n) <= bound < maximum

    else:
        return None
    return _smallest(decided, trials + 1)
