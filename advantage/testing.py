"""Security claims as tests: assertions about an adversary's advantage and a proof's check.

    from advantage.testing import assert_advantage_below

    def test_fresh_keys_keep_the_pad_secret():
        assert_advantage_below(OneTimePad(), TwoTimePad(), eps=0.1)

:func:`assert_advantage_below` and :func:`assert_advantage_above` run :func:`games.certify`
(an anytime-valid confidence sequence, so a run stops as soon as it is decided); they pass
on the decision they claim, and fail with the interval, the trials, the seed and a one-line
command that replays the run. An undecided run fails with the number of trials that would
likely decide it (or skips, with ``undecided="skip"``). :func:`assert_proof_consistent`
runs :func:`proofs.check_empirical` and fails on ``algorithm`` or ``assumption:NAME`` with
the verdict's reasons.

Under pytest (the plugin in :mod:`advantage.pytest_plugin`, active once the package is
installed) the level and seed default to the test's ``@pytest.mark.advantage(level=...,
seed=...)`` marker, else to ``--advantage-level`` and ``--advantage-seed``, else to 0.95
and 0; and every assertion is listed at the end of the session with its interval and the
family-wise level of all of them. Outside pytest the assertions work the same, with those
last defaults.

This module imports the games and proofs only when an assertion runs, so that the plugin,
which imports it, costs nothing to projects that do not use it.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "Claim",
    "assert_advantage_above",
    "assert_advantage_below",
    "assert_proof_consistent",
    "recording",
]

DEFAULT_LEVEL = 0.95
DEFAULT_SEED = 0
UNDECIDED = ("fail", "skip")


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the running test asks for: its node id, and the level and seed to default to."""

    test: str | None = None
    level: float | None = None
    seed: int | None = None
    replay: str | None = None  # how to rerun the test, for claims with no command line


@dataclasses.dataclass(frozen=True)
class Claim:
    """One security assertion and how it came out (plain values, to travel between
    pytest-xdist workers)."""

    test: str | None
    subject: str
    claim: str
    outcome: str  # passed, failed, undecided
    low: float | None
    high: float | None
    level: float
    method: str
    trials: int
    seed: int
    replay: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SETTINGS: ContextVar[Settings | None] = ContextVar("advantage_settings", default=None)
_CLAIMS: ContextVar[list[Claim] | None] = ContextVar("advantage_claims", default=None)


@contextmanager
def recording(settings: Settings) -> Iterator[list[Claim]]:
    """Within the block, assertions default to ``settings`` and append their claims to the
    list yielded (the pytest plugin wraps each test in this)."""
    claims: list[Claim] = []
    tokens = (_SETTINGS.set(settings), _CLAIMS.set(claims))
    try:
        yield claims
    finally:
        _SETTINGS.reset(tokens[0])
        _CLAIMS.reset(tokens[1])


def _settings() -> Settings:
    return _SETTINGS.get() or Settings()


def _resolve(level: float | None, seed: int | None, undecided: str) -> tuple[float, int]:
    """The level and seed an assertion runs at (its own, else the test's, else the
    defaults), after checking its arguments."""
    from oracles import checks

    checks.choice("undecided", undecided, UNDECIDED)
    settings = _settings()
    level = level if level is not None else settings.level
    seed = seed if seed is not None else settings.seed
    level = checks.open_unit("level", DEFAULT_LEVEL if level is None else level)
    return level, DEFAULT_SEED if seed is None else seed


def _instance(thing: Any, kind: str) -> Any:
    """A game or adversary: as given, or a registered name with its default parameters."""
    if not isinstance(thing, str):
        return thing
    from games import ADVERSARIES, GAMES

    return (GAMES if kind == "game" else ADVERSARIES).get(thing)()


def _replay(line: str | None) -> str:
    if line:
        return line
    settings = _settings()
    if settings.replay:
        return settings.replay
    return (
        "rerun the assertion with the same seed (the game or adversary is not registered by name)"
    )


def _outcome(passed: bool, undecided: bool) -> str:
    return "passed" if passed else ("undecided" if undecided else "failed")


def _record(**claim: Any) -> None:
    """The claim, for the session's table (with the running test's node id)."""
    claims = _CLAIMS.get()
    if claims is not None:
        claims.append(Claim(test=_settings().test, **claim))


def _conclude(outcome: str, message: str, undecided: str) -> NoReturn:
    """Fail with ``message`` (or skip, when an undecided assertion asks to)."""
    __tracebackhide__ = True
    if outcome == "undecided" and undecided == "skip":
        import pytest

        pytest.skip(message)
    raise AssertionError(message)


def _undecided_advice(cert: Any, max_trials: int) -> str:
    """How many trials would likely decide a certify run at its measured advantage."""
    from games.stats import shape_of, stopping

    shape = shape_of(cert.shape)
    baseline = cert.baseline if not shape.hidden else None
    low, high = (-1.0 if shape.hidden else -cert.baseline), shape.max_advantage(cert.baseline)
    advantage = cert.advantage if math.isfinite(cert.advantage) else 0.0
    advantage = min(high, max(low, advantage))
    horizon = min(max(20 * max_trials, 10**5), 2 * 10**6)
    runs = stopping.expected_stopping(
        cert.eps, advantage, cert.alpha, shape, baseline, sims=200, max_trials=horizon,
        rng=cert.seed,
    )  # fmt: skip
    if runs.median >= horizon:
        return (
            f"at the measured advantage {advantage:+.4f}, even {horizon:,} trials would likely "
            f"not decide it: eps = {cert.eps:g} is too close to the advantage"
        )
    return (
        f"at the measured advantage {advantage:+.4f}, about {runs.median:,.0f} trials would "
        f"decide it (median of {runs.sims} simulated runs; 90% within "
        f"{runs.quantile_90:,.0f}): rerun with max_trials={math.ceil(runs.quantile_90):,}"
    )


def _pct(level: float) -> str:
    from games.stats.intervals import percent  # imported when an assertion runs, as games is

    return percent(level)


def _engine_flags(engine: dict[str, Any]) -> list[str]:
    """The command-line flags of the engine options a replay depends on."""
    flags = []
    if engine.get("chunk_size") is not None:
        flags += ["--chunk-size", str(engine["chunk_size"])]
    if engine.get("batched") is not None:
        flags.append("--batched" if engine["batched"] else "--no-batched")
    return flags


def _certify(side: str, game: Any, adversary: Any, eps: float, options: dict[str, Any]) -> Any:
    """Certify, record the claim, and pass, fail or skip. ``options``: the keyword arguments
    of :func:`assert_advantage_below`."""
    __tracebackhide__ = True  # pytest shows the test's line, not this module's
    import games
    from advantage import commands

    engine = dict(options)
    max_trials = engine.pop("max_trials", 100_000)
    undecided = engine.pop("undecided", "fail")
    level, seed = _resolve(engine.pop("level", None), engine.pop("seed", None), undecided)
    game, adversary = _instance(game, "game"), _instance(adversary, "adversary")
    alpha = round(1 - level, 12)
    cert = games.certify(game, adversary, eps=eps, alpha=alpha, max_trials=max_trials, seed=seed,
                         **engine)  # fmt: skip
    replay = _replay(commands.certify_line(cert.to_json(), extra=_engine_flags(engine)))
    claim = f"advantage {'≤' if side == 'below' else '>'} {cert.eps:g}"
    subject = (
        f"{commands.label(cert.adversary, cert.adversary_params, 'adversary')} vs "
        f"{commands.label(cert.game, cert.params, 'game')}"
    )
    outcome = _outcome(cert.decision == side, cert.decision == "undecided")
    _record(subject=subject, claim=claim, outcome=outcome, low=cert.ci_low, high=cert.ci_high,
            level=level, method=cert.method, trials=cert.trials, seed=cert.seed, replay=replay)  # fmt: skip
    if outcome == "passed":
        return cert
    found = (
        f"advantage in [{cert.ci_low:+.4f}, {cert.ci_high:+.4f}] after {cert.trials:,} trials, "
        f"seed {cert.seed} (each end anytime-valid at {_pct(level)}; {cert.method})"
    )
    if outcome == "failed":
        decided = "≤" if cert.decision == "below" else ">"
        told = f"claimed {claim}, but certify decided advantage {decided} {cert.eps:g}: {found}"
    else:
        advice = _undecided_advice(cert, cert.max_trials)
        told = f"undecided whether {claim} after max_trials={cert.max_trials:,}: {found}; {advice}"
    _conclude(outcome, f"{subject}: {told}\nreplay: {replay}", undecided)


def assert_advantage_below(
    game: Any,
    adversary: Any,
    eps: float,
    *,
    level: float | None = None,
    max_trials: int = 100_000,
    seed: int | None = None,
    undecided: str = "fail",
    **engine: Any,
) -> Any:
    """Assert that the adversary's advantage is at most ``eps``, by :func:`games.certify`.

    Args:
        game, adversary: instances, or registered names (with default parameters).
        eps: the advantage claimed not to be exceeded, in (0, 1).
        level: the chance that a passing assertion is right, at least: certify's alpha is
            ``1 − level`` (default: the test's marker, ``--advantage-level``, or 0.95).
        max_trials: the most trials to play before the run is undecided.
        seed: the run's seed (default: the test's marker, ``--advantage-seed``, or 0).
        undecided: ``fail`` (default) or ``skip`` when max_trials does not decide it.
        engine: ``batched``, ``chunk_size``, ``backend``, ``workers``, ``device``, ... as for
            :func:`games.certify`.

    Returns:
        The :class:`games.Certificate`.

    Raises:
        AssertionError: the advantage is above eps (with the interval, trials, seed and a
            replay command), or the run is undecided (with the trials that would decide it).
    """
    __tracebackhide__ = True
    options = {"level": level, "max_trials": max_trials, "seed": seed, "undecided": undecided}
    return _certify("below", game, adversary, eps, {**options, **engine})


def assert_advantage_above(game: Any, adversary: Any, eps: float, **options: Any) -> Any:
    """Assert that the adversary's advantage exceeds ``eps`` (an attack that must keep
    working, a bug that must stay caught); ``options`` are the keyword arguments of
    :func:`assert_advantage_below` (``level``, ``max_trials``, ``seed``, ``undecided`` and the
    engine's)."""
    __tracebackhide__ = True
    return _certify("above", game, adversary, eps, options)


def _proof(proof: Any) -> Any:
    import proofs

    if isinstance(proof, str | Path):
        return proofs.load(str(proof))
    return proof


def _proof_message(report: Any, outcome: str, level: float, replay: str) -> str:
    reasons = "\n".join(f"  {reason}" for reason in report.reasons)
    head = (
        f"{report.proof} with {report.adversary}: verdict {report.verdict} ({report.trials:,} "
        f"trials per game, seed {report.seed}, intervals together at {_pct(level)})"
    )
    if outcome == "undecided" and report.trials_needed:
        head += f"; rerun with trials={report.trials_needed:,} to decide it"
    return f"{head}\n{reasons}\nreplay: {replay}"


def assert_proof_consistent(
    proof: Any,
    adversary: Any,
    *,
    trials: int = 1000,
    level: float | None = None,
    seed: int | None = None,
    undecided: str = "fail",
    **params: Any,
) -> Any:
    """Assert that checking ``proof`` against ``adversary`` blames nothing.

    Runs :func:`proofs.check_empirical` with the theorem game's parameters overridden by
    ``params``; passes on ``consistent``.

    Args:
        proof: a loaded proof, a shipped proof's name, or a path to a proof file.
        adversary: an instance, or a registered name (with default parameters).
        trials: trials of every game the check plays.
        level: the family level of the check's intervals (default as for
            :func:`assert_advantage_below`).
        seed: the check's seed (default as for :func:`assert_advantage_below`).
        undecided: ``fail`` (default) or ``skip`` on ``inconclusive``.

    Returns:
        The :class:`proofs.EmpiricalReport`.

    Raises:
        AssertionError: the verdict is ``algorithm`` or ``assumption:NAME`` (with its
            reasons), or ``inconclusive`` (with the trials that would likely decide it).
    """
    __tracebackhide__ = True
    import proofs
    from advantage import commands

    level, seed = _resolve(level, seed, undecided)
    adversary = _instance(adversary, "adversary")
    report = proofs.check_empirical(_proof(proof), adversary, params=params, trials=trials,
                                    seed=seed, level=level)  # fmt: skip
    record = report.to_json()
    if isinstance(proof, str | Path):
        record["proof"] = str(proof)  # as given, so that the command finds it again
    replay = _replay(commands.check_line(record))
    verdicts = set(report.verdicts)
    outcome = _outcome(verdicts == {"consistent"}, verdicts == {"inconclusive"})
    theorem = report.theorem
    _record(subject=f"{report.adversary} vs {report.proof}", claim="proof consistent",
            outcome=outcome, low=theorem.ci_low, high=theorem.ci_high, level=level,
            method=f"{report.method}, bonferroni over {report.intervals}", trials=report.trials,
            seed=report.seed, replay=replay)  # fmt: skip
    if outcome == "passed":
        return report
    _conclude(outcome, _proof_message(report, outcome, level, replay), undecided)


def pytest_replay(nodeid: str, seed: int | None, level: float | None) -> str:
    """A command that reruns one test with the given defaults."""
    argv = ["python", "-m", "pytest", nodeid]
    if seed is not None:
        argv += ["--advantage-seed", str(seed)]
    if level is not None:
        argv += ["--advantage-level", repr(level)]
    return shlex.join(argv)
