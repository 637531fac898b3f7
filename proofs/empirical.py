"""The empirical check: play the theorem's game and every reduction, and say which part failed.

For an adversary A and a proof, :func:`check_empirical` estimates

- Adv_G(A), A's advantage in the theorem's game G as played (the file's parameters with
  the caller's overrides);
- Adv_Hi(B_i) for each assumption, where B_i = R_i(A) is built by the reduction the file
  names and plays the assumption's game H_i with what the proof says it spends;
- each hop's gap, when both of its games are playable (see :func:`proofs.plan.endpoint`):
  A's advantage in the two games and their difference. An end may instead state A's
  advantage exactly (see :func:`proofs.plan.stated_advantage`); the gap is then measured
  from the other end.

Every interval is at level ``1 − (1 − level)/k`` for the k estimates made (Bonferroni),
so that all of them hold together at ``level``; the hop gaps follow from the intervals of
their two games and need no share of their own.

It runs in three steps: :func:`proofs.plan.plan_check` builds every game and adversary (so that
a bad file fails before the first trial), each is played through :func:`games.estimate`
with the same seed, and :func:`proofs.verdict.judge` compares the intervals with the bound
and the claims (the verdicts are described there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from oracles import InvalidArgument, checks
from proofs.errors import ProofError
from proofs.model import Assumption, Proof, checked_proof
from proofs.plan import CheckPlan, endpoint, plan_check, stated_advantage
from proofs.reports import AssumptionCheck, EmpiricalReport, HopCheck
from proofs.verdict import POWER, Family, PlanEstimates, judge

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
            ``batched``, ``isolate``, ``device``, ``trial_timeout``, as for
            :func:`games.estimate` (``batched`` applies to A's games; the reductions play
            trial by trial).

    Returns:
        An :class:`EmpiricalReport` with the verdicts.

    Raises:
        ProofError: an unknown game in the file, a reduction that cannot be imported, that
            raises, or whose B fails in its trials.
        InvalidArgument: bad arguments or overrides (an unknown parameter, a resource
            outside the proof's domain).
    """
    proof = checked_proof(proof)
    trials = checks.positive("trials", trials)
    seed = checks.whole("seed", seed)
    level = checks.open_unit("level", level)
    options = _engine_options(engine)
    if isinstance(adversary, str):
        from games.registry import ADVERSARIES

        adversary = ADVERSARIES.get(adversary)()
    playing = plan_check(proof, adversary, params or {})
    family = Family(
        trials=trials,
        seed=seed,
        level=level,
        intervals=playing.estimates,
        method=options.get("method", "clopper-pearson"),
    )
    from games.engine.backends import session

    with session():  # the backend's workers start once for every game played
        played = _play(playing, family, options, progress)
    return judge(playing, played, family)


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


def _play(
    playing: CheckPlan,
    family: Family,
    options: Mapping[str, Any],
    progress: Callable[[int, int], None] | None,
) -> PlanEstimates:
    """Play G, each H with its B, and each hop game, in that order, with one seed."""
    from games import estimate

    total = family.trials * family.intervals
    done = [0]
    every: dict[str, Any] = {
        "trials": family.trials,
        "seed": family.seed,
        "level": family.interval_level,
    }

    def run(game: Any, player: Any, *, a_side: bool) -> Estimate:
        # The reductions' adversaries have no batched path: B plays trial by trial.
        opts = dict(options) if a_side else {k: v for k, v in options.items() if k != "batched"}
        update = None
        if progress is not None:
            base = done[0]

            def update(finished: int, _total: int) -> None:
                progress(base + finished, total)

        result = estimate(game, player, progress=update, **every, **opts)
        done[0] += family.trials
        return result

    theorem = run(playing.game, playing.adversary, a_side=True)
    assumptions = []
    for part in playing.assumptions:
        try:
            result = run(part.game, part.adversary, a_side=False)
        except ProofError:
            raise
        except InvalidArgument as error:  # A's game took the same options: this is B's
            raise ProofError(
                f"reduction {part.assumption.reduction!r}: its adversary B cannot play: {error}",
                file=playing.proof.file,
                key=f"{part.assumption.key}.reduction",
            ) from None
        _refuse_failed_b(part.assumption, result, theorem, playing.proof.file)
        assumptions.append(result)
    games = {playing.theorem_key: theorem}
    for key in playing.hop_games:
        games[key] = run(playing.games[key], playing.adversary, a_side=True)
    return PlanEstimates(theorem=theorem, assumptions=tuple(assumptions), games=games)


def _refuse_failed_b(
    assumption: Assumption, result: Estimate, theorem: Estimate, file: str
) -> None:
    """A reduction whose B loses trials to errors is broken: it says nothing of the assumption."""
    failed = {k: v for k, v in result.errors.items() if k != "game-failed"}
    if not failed:
        return
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
        f"{result.trials} trials ({kinds}){also}; first: {last[-1] if last else 'no traceback'}",
        file=file,
        key=f"{assumption.key}.reduction",
    )
