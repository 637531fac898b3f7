"""Playing the tour's rows: which rows, at what level, and what each one measured."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from advantage.tour.rows import CheckRow, Row, agrees, spelled
from games.engine import estimate
from games.registry import ADVERSARIES, GAMES
from oracles import checks

__all__ = ["FAMILY_LEVEL", "Outcome", "level", "play_rows", "select"]

#: The level at which all the catalogue's rows hold together.
FAMILY_LEVEL = 0.95

TourRow = Row | CheckRow


def level(catalogue: int) -> float:
    """Each row's level: Bonferroni over the whole catalogue, so that a row's result is the
    same whichever rows are played with it (``--only``, ``--full``) and the rows played
    hold together at :data:`FAMILY_LEVEL` or more. A check row splits its share again over
    the intervals it reports."""
    return 1 - (1 - FAMILY_LEVEL) / catalogue


def select(
    rows: Sequence[TourRow], *, only: Iterable[str] = (), full: bool = False
) -> list[TourRow]:
    """The rows of the domains named (all when none), without the ``full`` ones unless asked.

    Raises:
        InvalidArgument: a domain that no row belongs to.
    """
    domains = list(dict.fromkeys(row.domain for row in rows))
    wanted = {checks.choice("--only", name, domains) for name in only}
    return [row for row in rows if (not wanted or row.domain in wanted) and (full or not row.full)]


@attrs.frozen(kw_only=True)
class Outcome:
    """What one row measured: ``shown`` (the advantage and interval, the verdict, or why it
    was skipped), ``ok`` (agrees with theory; None when skipped), the seconds it took and its
    JSON record."""

    row: TourRow
    shown: str
    ok: bool | None
    elapsed: float | None
    record: dict[str, Any]

    @property
    def over_budget(self) -> bool:
        return self.elapsed is not None and self.elapsed > self.row.budget


def _estimate(row: Row, seed: int, level: float) -> tuple[str, bool, dict[str, Any]]:
    game = GAMES.get(row.game)(**row.params)
    adversary = ADVERSARIES.get(row.adversary)(**row.adversary_params)
    result = estimate(game, adversary, trials=row.trials, seed=seed, level=level)
    ok = agrees(row.expect, result)
    shown = f"{result.advantage:+.3f} [{result.ci_low:+.3f}, {result.ci_high:+.3f}]"
    return shown, ok, {"kind": "estimate", **result.to_json()}


def _check(row: CheckRow, seed: int, level: float) -> tuple[str, bool, dict[str, Any]]:
    import proofs

    adversary = ADVERSARIES.get(row.adversary)(**row.adversary_params)
    report = proofs.check_empirical(
        proofs.load(row.proof), adversary, params=row.params, trials=row.trials, seed=seed,
        level=level,
    )  # fmt: skip
    ok = sorted(report.verdicts) == sorted(v.strip() for v in row.expect.split(","))
    return _evidence(report), ok, {"kind": "check", **report.to_json()}


def _evidence(report: Any) -> str:
    """The verdict and the measurement that decided it, in one short line."""
    parts = [
        f"|Adv_{check.name}(B)| ≥ {check.low:.3f} > claim {check.claim_value:.3g}"
        for check in report.assumptions
        if check.violated
    ]
    parts += [
        f"hop {hop.index} gap ≥ {hop.gap_low:.3f} > {hop.allowance:.3g}"
        for hop in report.hops
        if hop.violated
    ]
    if "algorithm" in report.verdicts and not report.blamed_hops:
        parts.append(f"|Adv(A)| ≥ {report.low:.3f} > bound {report.bound:.3g}")
    if not parts:
        parts.append(f"|Adv(A)| ≤ {report.high:.3f}, bound {report.bound:.3g}")
    return f"{report.verdict}: " + "; ".join(parts)


def _described(row: TourRow) -> dict[str, Any]:
    return {"expect": row.expect, "why": row.why, "domain": row.domain, "budget": row.budget}


#: The extra that installs each module a row may need.
EXTRAS = {"torch": "ml", "sklearn": "ml", "transformers": "lm", "agentdojo": "agentdojo"}


def _missing(row: TourRow) -> str | None:
    """Why ``row`` cannot be played here (a missing module or model), or None."""
    if row.needs and importlib.util.find_spec(row.needs) is None:
        return f"needs {row.needs}: pip install -e '.[{EXTRAS.get(row.needs, 'ml')}]'"
    if row.model is not None:
        from games.lm.specs import ready

        return ready(row.model)
    return None


def _skipped(row: TourRow, hint: str) -> Outcome:
    adversary = spelled(row.adversary, row.adversary_params)
    record = {"kind": "skipped", "game": row.subject, "adversary": adversary, "skipped": hint}
    return Outcome(row=row, shown=hint, ok=None, elapsed=None, record={**record, **_described(row)})


def _one_torch_thread() -> None:
    """Tour rows train many tiny models, for which torch's thread hand-offs cost more than
    they save (and oversubscribe a small machine)."""
    import torch

    torch.set_num_threads(1)


def play_row(row: TourRow, seed: int, level: float) -> Outcome:
    """Play one row (or skip it, when a module it needs is missing)."""
    hint = _missing(row)
    if hint is not None:
        return _skipped(row, hint)
    if row.needs == "torch":
        _one_torch_thread()
    started = time.perf_counter()
    play = _check if isinstance(row, CheckRow) else _estimate
    shown, ok, record = play(row, seed, level)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    record |= {**_described(row), "agrees": ok, "elapsed": elapsed}
    return Outcome(row=row, shown=shown, ok=ok, elapsed=elapsed, record=record)


def play_rows(
    rows: Sequence[TourRow],
    *,
    seed: int,
    level: float,
    progress: Callable[[int, TourRow, Outcome | None], None] | None = None,
) -> list[Outcome]:
    """Play ``rows`` in order; ``progress(i, row, None)`` is called as row ``i`` starts and
    ``progress(i, row, outcome)`` when it ends."""
    outcomes = []
    for i, row in enumerate(rows):
        if progress is not None:
            progress(i, row, None)
        outcomes.append(play_row(row, seed, level))
        if progress is not None:
            progress(i, row, outcomes[-1])
    return outcomes
