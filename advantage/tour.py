"""`advantage tour`: every built-in game against its matching and trivial adversaries, and
the verdicts of the proof checker on a planted bug, a broken assumption and a sound scheme.

Each row states what theory predicts and says whether the measurement agrees, so the
tour doubles as a smoke test of the whole catalogue. It grows as domains are added.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from collections.abc import Mapping
from typing import Any

import attrs
from rich.markup import escape
from rich.table import Table

from advantage.common import console, print_json
from games.engine import Estimate, estimate
from games.registry import ADVERSARIES, GAMES

__all__ = [
    "FAMILY_LEVEL",
    "ROWS",
    "CheckRow",
    "Row",
    "add",
    "agrees",
    "birthday",
    "gaussians_robust_error",
]

FAMILY_LEVEL = 0.95


@attrs.frozen(kw_only=True)
class Row:
    """One line of the tour: a game, an adversary, what theory says, and how hard to look."""

    game: str
    adversary: str
    # "0" (interval holds 0), "1" (lower end > 0.9), ">X" (lower end above X), "<X" (upper
    # end below X), or a number the interval must hold
    expect: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    adversary_params: Mapping[str, Any] = attrs.field(factory=dict)
    trials: int = 2000
    needs: str | None = None  # a module the row imports, e.g. "torch"
    why: str = ""


@attrs.frozen(kw_only=True)
class CheckRow:
    """One line of the tour that checks a proof against an adversary: the verdicts expected.

    ``expect`` lists the verdicts joined by ", " (``algorithm``, ``assumption:prf``,
    ``consistent``); ``params`` override the theorem game's parameters, as ``-p`` does.
    """

    proof: str
    adversary: str
    expect: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    adversary_params: Mapping[str, Any] = attrs.field(factory=dict)
    trials: int = 1000
    needs: str | None = None  # a module the row imports, e.g. "torch"
    why: str = ""


def birthday(q: int, n: int) -> float:
    """The probability that q distinct queries to a random n-bit function collide."""
    return 1 - math.prod(1 - i / 2**n for i in range(q))


def gaussians_robust_error(eps: float, norm: str) -> float:
    """The Bayes rule's robust error on the two-Gaussian evasion task, in closed form."""
    from games.robustness.data import load  # numpy only: no torch

    return load("gaussians").robust_error(eps, norm)


ROWS: list[Row | CheckRow] = [
    Row(game="otp", adversary="guess", expect="0", why="a guess learns nothing"),
    Row(game="otp", adversary="two-time-pad", expect="0", why="fresh keys: perfect secrecy"),
    Row(
        game="otp",
        adversary="two-time-pad",
        params={"key_reuse": True},
        expect="1",
        why="a reused key cancels out",
    ),
    Row(game="ind-cpa", adversary="guess", expect="0", why="a guess learns nothing"),
    Row(
        game="ind-cpa",
        adversary="ecb-repeat",
        params={"scheme": "ecb"},
        expect="1",
        why="ECB is deterministic: equal blocks, equal ciphertexts",
    ),
    Row(
        game="ind-cpa",
        adversary="ecb-repeat",
        params={"scheme": "ctr"},
        expect="0",
        why="fresh nonces hide repeated blocks",
    ),
    Row(
        game="ind-cpa",
        adversary="nonce-reuse",
        params={"scheme": "ctr-nonce-reuse"},
        expect="1",
        why="a repeated nonce repeats the keystream",
    ),
    Row(game="prf", adversary="guess", expect="0", why="a guess learns nothing"),
    Row(
        game="prf",
        adversary="linear-prf",
        params={"prf": "toy-linear"},
        expect="1",
        why="n + 1 queries predict an affine map",
    ),
    Row(game="prf", adversary="linear-prf", expect="0", why="blake2 is not affine"),
    Row(
        game="collision",
        adversary="birthday",
        expect=f"{birthday(300, 16) - 2**-16:.6f}",
        why="1 − ∏(1 − i/2^16) over 300 queries, less the 2^-16 baseline",
    ),
    Row(
        game="euf-cma",
        adversary="cbc-mac-extension",
        params={"mac": "cbc-mac", "variable_length": True},
        expect="1",
        why="m ‖ (m₁ ⊕ t) ‖ … has tag t",
    ),
    Row(
        game="euf-cma",
        adversary="cbc-mac-extension",
        params={"mac": "cbc-mac"},
        expect="0",
        why="fixed length: the extension is not a message",
    ),
    CheckRow(
        proof="ctr-prf",
        adversary="ecb-repeat",
        expect="consistent",
        why="CTR over BLAKE2 is secure",
    ),
    CheckRow(
        proof="ctr-prf",
        adversary="nonce-reuse",
        params={"scheme": "ctr-nonce-reuse"},
        expect="algorithm",
        why="the planted bug: B, built from A, gains nothing against blake2",
    ),
    CheckRow(
        proof="ctr-prf",
        adversary="linear-prf",
        params={"prf": "toy-linear", "queries": 24},
        expect="assumption:prf",
        why="toy-linear is not a PRF",
    ),
    Row(
        game="membership",
        adversary="lira",
        params={"target": "mislabeled", "training_size": 16, "epochs": 20, "batch_size": 8},
        adversary_params={"shadows": 32, "calibration": 64},
        expect="1",
        trials=600,
        needs="torch",
        why="plain SGD makes no privacy claim and memorises a mislabeled record",
    ),
    CheckRow(
        proof="dp-sgd",
        adversary="gradient-canary",
        adversary_params={"calibration": 128},
        expect="consistent",
        trials=400,
        needs="torch",
        why="clipping and noise keep the canary within (e^ε − 1 + 2δ)/(e^ε + 1)",
    ),
    CheckRow(
        proof="dp-sgd",
        adversary="gradient-canary",
        params={"trainer": "dp-sgd-noclip"},
        adversary_params={"calibration": 128},
        expect="algorithm",
        trials=400,
        needs="torch",
        why="the planted bug: no clipping, the same claimed ε",
    ),
    Row(
        game="concept-erasure",
        adversary="linear-probe",
        params={"eraser": "none"},
        expect=">0",
        trials=100,
        needs="sklearn",
        why="nothing erased: the class means lie 2.5 Mahalanobis units apart (2Φ(1.25) − 1 ≈ 0.79)",
    ),
    Row(
        game="concept-erasure",
        adversary="linear-probe",
        params={"fit_size": 2000},
        expect="0",
        trials=200,
        needs="sklearn",
        why="LEACE makes the class means equal: a linear reader has nothing",
    ),
    Row(
        game="concept-erasure",
        adversary="knn",
        params={"source": "shape", "dims": 4},
        expect=">0",
        trials=200,
        needs="sklearn",
        why="the classes differ in shape, not in their moments: LEACE guards linear readers only",
    ),
    CheckRow(
        proof="leace",
        adversary="mlp-probe",
        adversary_params={"hidden": 16, "max_iter": 10},
        expect="consistent",
        trials=280,
        needs="sklearn",
        why="Gaussian representations: two-moment holds and LEACE leaves only its fitting error",
    ),
    CheckRow(
        proof="leace",
        adversary="mlp-probe",
        params={"source": "digits", "dims": 16},
        adversary_params={"hidden": 16, "max_iter": 10},
        expect="assumption:two_moment",
        trials=240,
        needs="sklearn",
        why="an MLP's hidden layer is not Gaussian: LEACE kept its promise, the model of the "
        "representations was wrong",
    ),
    CheckRow(
        proof="leace",
        adversary="linear-probe",
        params={"eraser": "leace-no-whiten", "fit_size": 4000, "budget": 400},
        expect="algorithm",
        trials=900,
        needs="sklearn",
        why="the planted bug: the class means stay apart on the Gaussian twin, where no "
        "assumption is involved",
    ),
    Row(
        game="unlearning",
        adversary="guess",
        expect="0",
        trials=1000,
        needs="torch",
        why="a guess learns nothing",
    ),
    Row(
        game="unlearning",
        adversary="u-lira",
        expect="0",
        params={"method": "retrain"},
        adversary_params={"shadows": 128},
        trials=1000,
        needs="torch",
        why="retraining on D \\ S: both worlds are the same distribution",
    ),
    Row(
        game="unlearning",
        adversary="loss-gap",
        expect="0",
        params={"method": "sisa"},
        adversary_params={"calibration": 128},
        trials=1000,
        needs="torch",
        why="SISA retrains every shard S touched: exact",
    ),
    Row(
        game="unlearning",
        adversary="u-lira",
        expect=">0",
        params={"method": "finetune"},
        adversary_params={"shadows": 128},
        trials=1000,
        needs="torch",
        why="finetuning on D \\ S leaves a trace of S",
    ),
    Row(
        game="unlearning",
        adversary="u-lira",
        expect=">0",
        params={"method": "gradient-ascent", "unlearn_epochs": 3, "unlearn_lr": 1.0},
        adversary_params={"shadows": 128},
        trials=1000,
        needs="torch",
        why="ascent overshoots: S's loss ends above a retrained model's",
    ),
    CheckRow(
        proof="noisy-descent",
        adversary="u-lira",
        adversary_params={"shadows": 256},
        expect="consistent",
        trials=1000,
        needs="torch",
        why="descent and noise keep the canary within (e^ε − 1 + 2δ)/(e^ε + 1)",
    ),
    CheckRow(
        proof="noisy-descent",
        adversary="u-lira",
        params={"method": "noisy-descent-weak"},
        adversary_params={"shadows": 256},
        expect="algorithm",
        trials=1000,
        needs="torch",
        why="the planted bug: a tenth of the noise, the same claimed ε",
    ),
    Row(
        game="evasion",
        adversary="clean",
        expect="0",
        trials=200,
        needs="torch",
        why="the point handed over is correctly classified: returning it never wins",
    ),
    Row(
        game="evasion",
        adversary="pgd",
        expect=">0.3",
        trials=200,
        needs="torch",
        why="an undefended MLP: PGD at ε = 0.1 flips about half the digits",
    ),
    Row(
        game="evasion",
        adversary="pgd",
        params={"data": "gaussians", "eps": 0.05},
        expect=f"{gaussians_robust_error(0.05, 'linf'):.6f}",
        trials=2000,
        needs="torch",
        why="the Bayes rule's robust error, [Φ((ε√2 − δ)/τ) − Φ(−δ/τ)]/Φ(δ/τ)",
    ),
    Row(
        game="evasion",
        adversary="pgd",
        params={"defense": "quantize", "eps": 0.2},
        expect="<0.15",
        trials=300,
        needs="torch",
        why="apparent robustness: rounding has zero gradient, so PGD's steps stay put",
    ),
    Row(
        game="evasion",
        adversary="bpda",
        params={"defense": "quantize", "eps": 0.2},
        expect=">0.3",
        trials=300,
        needs="torch",
        why="real robustness: the identity as the rounding's backward pass finds the flips",
    ),
    Row(
        game="evasion",
        adversary="pgd",
        params={"defense": "jpeg-like"},
        expect="<0.1",
        trials=300,
        needs="torch",
        why="apparent robustness: the rounded DCT coefficients pass no gradient",
    ),
    Row(
        game="evasion",
        adversary="bpda",
        params={"defense": "jpeg-like"},
        expect=">0.3",
        trials=300,
        needs="torch",
        why="real robustness: BPDA differentiates the model at the smoothed image",
    ),
    CheckRow(
        proof="gradient-masking",
        adversary="pgd",
        expect="consistent",
        trials=300,
        needs="torch",
        why="PGD sees what the defense's authors saw",
    ),
    CheckRow(
        proof="gradient-masking",
        adversary="bpda",
        expect="assumption:gradient_search",
        trials=300,
        needs="torch",
        why="BPDA finds adversarial points where PGD finds none: the gradients were masked, "
        "the defense did what it said",
    ),
    CheckRow(
        proof="randomized-smoothing",
        adversary="pgd",
        expect="consistent",
        trials=4000,
        needs="torch",
        why="CERTIFY's radii hold except with probability α = 0.01",
    ),
    CheckRow(
        proof="randomized-smoothing",
        adversary="pgd",
        params={"defense": "smoothing-one-stage"},
        expect="algorithm",
        trials=400,
        needs="torch",
        why="the planted bug: one sample selects and estimates, a normal bound reaches 1",
    ),
]


def agrees(expect: str, result: Estimate) -> bool:
    """Whether a measured interval agrees with what theory predicts."""
    if expect == "0":
        return result.ci_low <= 0 <= result.ci_high
    if expect == "1":
        return result.ci_low > 0.9
    if expect.startswith(">"):
        return result.ci_low > float(expect[1:])
    if expect.startswith("<"):
        return result.ci_high < float(expect[1:])
    target = float(expect)
    return result.ci_low <= target <= result.ci_high


def add(sub: argparse._SubParsersAction) -> None:
    tour = sub.add_parser(
        "tour",
        help="play every built-in game against its matching and trivial adversaries",
        description="Play each built-in game against the adversary that breaks it and against a "
        "trivial one, and check a proof against a sound scheme, a planted bug and a broken "
        "assumption; print one table of advantages and verdicts next to what theory predicts. "
        "The intervals hold together at 95%% (Bonferroni over the rows; a check row splits its "
        "share over its own intervals). Rows that need an optional extra say how to enable them.",
    )
    tour.add_argument("--seed", type=int, default=0, help="seed of every row (default: 0)")
    tour.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    tour.set_defaults(handler=tour_command)


def _label(name: str, params: Mapping[str, Any]) -> str:
    return name + "".join(f" {k}={v}" for k, v in params.items())


def _play(row: Row, seed: int, level: float) -> tuple[str, bool, dict[str, Any]]:
    """An estimate row: what was measured, whether it agrees, and its JSON record."""
    game = GAMES.get(row.game)(**row.params)
    adversary = ADVERSARIES.get(row.adversary)(**row.adversary_params)
    result = estimate(game, adversary, trials=row.trials, seed=seed, level=level)
    ok = agrees(row.expect, result)
    measured = f"{result.advantage:+.3f} [{result.ci_low:+.3f}, {result.ci_high:+.3f}]"
    return (
        measured,
        ok,
        {"kind": "estimate", **result.to_json(), "expect": row.expect, "agrees": ok},
    )


def _check(row: CheckRow, seed: int, level: float) -> tuple[str, bool, dict[str, Any]]:
    """A check row: the verdicts, whether they are the expected ones, and the JSON record."""
    import proofs

    adversary = ADVERSARIES.get(row.adversary)(**row.adversary_params)
    report = proofs.check_empirical(
        proofs.load(row.proof),
        adversary,
        params=row.params,
        trials=row.trials,
        seed=seed,
        level=level,
    )
    ok = sorted(report.verdicts) == sorted(v.strip() for v in row.expect.split(","))
    return (
        _evidence(report),
        ok,
        {"kind": "check", **report.to_json(), "expect": row.expect, "agrees": ok},
    )


def _evidence(report: Any) -> str:
    """The verdict and the measurement that decided it, in one short line."""
    parts = []
    for check in report.assumptions:
        if check.violated:
            parts.append(f"|Adv_{check.name}(B)| ≥ {check.low:.3f} > claim {check.claim_value:.3g}")
    for hop in report.hops:
        if hop.violated:
            parts.append(f"hop {hop.index} gap ≥ {hop.gap_low:.3f} > {hop.allowance:.3g}")
    if "algorithm" in report.verdicts and not report.blamed_hops:
        parts.append(f"|Adv(A)| ≥ {report.low:.3f} > bound {report.bound:.3g}")
    if not parts:
        parts.append(f"|Adv(A)| ≤ {report.high:.3f}, bound {report.bound:.3g}")
    return f"{report.verdict}: " + "; ".join(parts)


def _one_torch_thread() -> None:
    """Tour rows train many tiny models, for which torch's thread hand-offs cost more than
    they save (and oversubscribe a small machine)."""
    import torch

    torch.set_num_threads(1)


def tour_command(args: argparse.Namespace) -> int:
    rows = len(ROWS)
    # The table claims every row agrees with theory at once, so each row gets its share of
    # the error budget (Bonferroni): the family of rows holds at FAMILY_LEVEL. A check row
    # splits its share again over the intervals it reports.
    level = 1 - (1 - FAMILY_LEVEL) / rows
    table = Table(
        title=f"advantage tour: every row at {level:.2%} Clopper-Pearson, so the whole table "
        f"holds at {FAMILY_LEVEL:.0%} (Bonferroni over {rows} rows)",
        title_style="bold",
    )
    table.add_column("game", overflow="fold")
    table.add_column("adversary", overflow="fold")
    table.add_column(escape("advantage [interval] or verdict"), overflow="fold")
    table.add_column("theory", overflow="fold")
    table.add_column("ok", no_wrap=True)
    table.add_column("s", justify="right", no_wrap=True)
    records = []
    failures = 0
    for row in ROWS:
        if isinstance(row, CheckRow):
            game_label = "check " + _label(row.proof, row.params)
        else:
            game_label = _label(row.game, row.params)
        adv_label = _label(row.adversary, row.adversary_params)
        theory = f"{row.expect}: {row.why}" if row.why else row.expect
        if row.needs and importlib.util.find_spec(row.needs) is None:
            hint = f"needs {row.needs}: pip install -e '.[ml]'"
            table.add_row(
                escape(game_label), escape(adv_label), escape(hint), escape(theory), "skip", "-"
            )
            records.append(
                {"kind": "skipped", "game": game_label, "adversary": adv_label, "skipped": hint}
            )
            continue
        if row.needs == "torch":
            _one_torch_thread()
        started = time.perf_counter()
        if isinstance(row, CheckRow):
            measured, ok, record = _check(row, args.seed, level)
        else:
            measured, ok, record = _play(row, args.seed, level)
        failures += not ok
        table.add_row(
            escape(game_label),
            escape(adv_label),
            escape(measured),
            escape(theory),
            "[green]yes[/]" if ok else "[red]NO[/]",
            f"{time.perf_counter() - started:.1f}",
        )
        records.append({**record, "why": row.why})
    if args.json:
        print_json(
            {
                "rows": records,
                "level": level,
                "family_level": FAMILY_LEVEL,
                "disagreements": failures,
            }
        )
    else:
        console.print(table)
        if failures:
            console.print(f"[red]{failures} row(s) disagree with theory[/]")
    return 1 if failures else 0
