"""The figures of `advantage report`, drawn with matplotlib from plain JSON values.

Each function takes the values a `--json` output records and returns an SVG document as
text. Figures are drawn on a :class:`matplotlib.figure.Figure` of their own (no pyplot, so
no global figure state and no GUI backend); text stays text in the SVG (``svg.fonttype``
``none``) and the output carries no date, so the same input draws the same bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from games.stats.intervals import percent

__all__ = [
    "ForestRow",
    "certify_figure",
    "epsilon_figure",
    "forest_figure",
    "poor_fit",
    "roc_figure",
    "sweep_figure",
]

# Colours: estimate, theory / boundary, fit, and what contradicts a claim.
BLUE, ORANGE, GREEN, RED, GREY = "#1f5fa8", "#d9822b", "#2e8540", "#c0392b", "#777777"


@contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure

    style: dict[str, Any] = {
        "svg.fonttype": "none",
        "svg.hashsalt": "advantage",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        # Labels hold the user's parameter values: a `$` is a dollar sign, not math text.
        "text.parse_math": False,
    }
    with matplotlib.rc_context(style):  # type: ignore[arg-type]
        yield Figure(figsize=(width, height))


def _svg(figure: Any) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    return out.getvalue()


def _label(text: str, width: int = 44) -> str:
    """Wrap a label at spaces, never inside a token."""
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


ForestRow = Mapping[str, Any]


def forest_figure(rows: Sequence[ForestRow], *, interval: str) -> str:
    """Estimates with their intervals, one row each, top to bottom.

    Args:
        rows: mappings with ``label``, ``estimate``, ``ci_low``, ``ci_high`` and optionally
            ``theory`` (a number: drawn as a diamond) and ``agrees`` (False: drawn red).
        interval: what the intervals are ("95% clopper-pearson"), for the axis label.
    """
    labels = [_label(str(row["label"]), 60) for row in rows]
    # Each row is as tall as its label's lines; y runs from the top row down.
    heights = [1 + 0.55 * label.count("\n") for label in labels]
    tops = [sum(heights[:i]) for i in range(len(rows))]
    ys = [-(top + h / 2) for top, h in zip(tops, heights, strict=True)]
    total = sum(heights)
    with _figure(8.0, 0.9 + 0.3 * total) as figure:
        axes = figure.add_subplot()
        theory_drawn = False
        for y, row in zip(ys, rows, strict=True):
            colour = RED if row.get("agrees") is False else BLUE
            est, low, high = row["estimate"], row["ci_low"], row["ci_high"]
            axes.plot([low, high], [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
            if est is not None and math.isfinite(est):
                axes.plot([est], [y], "o", color=colour, markersize=4.5)
            theory = row.get("theory")
            if theory is not None:
                axes.plot(
                    [theory],
                    [y],
                    "D",
                    markerfacecolor="none",
                    markeredgecolor=ORANGE,
                    markersize=7,
                    label=None if theory_drawn else "theory",
                )
                theory_drawn = True
        axes.axvline(0, color=GREY, linewidth=0.8, linestyle=":")
        axes.set_yticks(ys)
        axes.set_yticklabels(labels)
        lows = [r["ci_low"] for r in rows] + [
            r["theory"] for r in rows if r.get("theory") is not None
        ]
        highs = [r["ci_high"] for r in rows] + [
            r["theory"] for r in rows if r.get("theory") is not None
        ]
        left, right = max(-1.05, min(lows) - 0.05), min(1.05, max(highs) + 0.05)
        axes.set_xlim(left, right)
        axes.set_ylim(-total - 0.2, 0.2)
        axes.set_xlabel(f"advantage: estimate (dot) and interval (bar), {interval}")
        axes.grid(True, axis="x", alpha=0.3)
        if theory_drawn:
            axes.legend(loc="lower right", fontsize="small", frameon=False)
        return _svg(figure)


def certify_figure(data: Mapping[str, Any]) -> str:
    """Certify's confidence sequence shrinking over the trials, with the eps boundary and the
    stopping trial (``data``: `Certificate.to_json()`, with its ``sequence``)."""
    sequence = [tuple(point) for point in data.get("sequence") or ()]
    if not sequence:  # an output without the sequence: its final interval alone
        sequence = [(data["trials"], data["ci_low"], data["ci_high"])]
    n = [p[0] for p in sequence]
    low = [p[1] for p in sequence]
    high = [p[2] for p in sequence]
    eps, stop, decision = data["eps"], data["trials"], data["decision"]
    with _figure(8.0, 3.6) as figure:
        axes = figure.add_subplot()
        level = f"each end anytime-valid at {percent(1 - data['alpha'])}"
        axes.fill_between(n, low, high, step="post", color=BLUE, alpha=0.25, linewidth=0)
        axes.step(
            n, low, where="post", color=BLUE, linewidth=1.2, label=f"confidence sequence ({level})"
        )
        axes.step(n, high, where="post", color=BLUE, linewidth=1.2)
        axes.axhline(eps, color=RED, linestyle="--", linewidth=1.2, label=f"eps = {eps:g}")
        axes.axvline(stop, color=GREY, linestyle=":", linewidth=1.2, label="stopping trial")
        colour = {"below": GREEN, "above": RED}.get(decision, ORANGE)
        axes.set_title(
            f"{decision} at trial {stop:,}: advantage in "
            f"[{data['ci_low']:+.3f}, {data['ci_high']:+.3f}]",
            loc="right",
            color=colour,
            fontweight="bold",
        )
        if len(n) > 1:
            axes.set_xscale("log")
        axes.set_xlim(left=max(1, min(n)), right=max(n) * 1.15)
        axes.set_ylim(-1.02, 1.02)
        axes.set_xlabel("trials (log scale)")
        axes.set_ylabel("advantage")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize="small", frameon=False
        )
        return _svg(figure)


def sweep_figure(data: Mapping[str, Any]) -> str:
    """A sweep's points with their intervals, the fitted curve with its band, the
    extrapolation, and a red note when the goodness-of-fit test rejects the model
    (``data``: the `--json` output of `advantage sweep`)."""
    points = data["points"]
    x = [float(p["value"]) for p in points]
    adv = [p["advantage"] for p in points]
    below = [p["advantage"] - p["ci_low"] for p in points]
    above = [p["ci_high"] - p["advantage"] for p in points]
    fit, curve, extrapolation = data.get("fit"), data.get("curve"), data.get("extrapolation")
    with _figure(8.0, 4.0) as figure:
        axes = figure.add_subplot()
        axes.errorbar(
            x,
            adv,
            yerr=[below, above],
            fmt="o",
            color=BLUE,
            capsize=3,
            label=f"estimate ({data['point_level']:.2%} {data['method']}; {data['correction']})",
        )
        if fit and curve:
            grid = [c[0] for c in curve]
            axes.plot(grid, [c[1] for c in curve], color=ORANGE, label=f"{fit['model']} fit")
            axes.fill_between(
                grid,
                [c[2] for c in curve],
                [c[3] for c in curve],
                color=ORANGE,
                alpha=0.2,
                linewidth=0,
                label=f"{percent(fit['level'])} band, all budgets at once",
            )
        if extrapolation:
            value, centre = extrapolation["value"], extrapolation["advantage"]
            axes.errorbar(
                [value],
                [centre],
                yerr=[[centre - extrapolation["low"]], [extrapolation["high"] - centre]],
                fmt="s",
                color=GREEN,
                capsize=3,
                label=f"extrapolated to {value:g} (if the model holds)",
            )
        poor = fit is not None and poor_fit(fit)
        if fit is not None and poor:
            axes.text(
                0.02,
                0.96,
                f"poor fit: goodness-of-fit p = {fit['fit_pvalue']:.3g}",
                transform=axes.transAxes,
                color=RED,
                fontweight="bold",
                va="top",
            )
        axes.set_xscale("log")
        axes.set_xlabel(f"{data['budget']} ({data.get('target', 'game')} parameter, log scale)")
        axes.set_ylabel("advantage")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(
            loc="upper left",
            bbox_to_anchor=(0, 0.9 if poor else 1),
            fontsize="small",
            frameon=False,
        )
        return _svg(figure)


def poor_fit(fit: Mapping[str, Any]) -> bool:
    p = fit.get("fit_pvalue")
    return isinstance(p, int | float) and p == p and p < 0.05


def roc_figure(data: Mapping[str, Any]) -> str:
    """An audit's held-out ROC curve on log-log axes, the TPR at the chosen FPR with its
    interval, and the most a test can reach under the claimed ε and under the ε lower bound
    (TPR = e^ε·FPR + δ) (``data``: the `--json` output of `advantage audit`)."""
    roc = data["roc"]
    rates = data["tpr_at_fpr"]
    delta = data["delta"]
    # Rates of 0 cannot be drawn on a log axis: they sit at the floor, half the smallest
    # nonzero rate the held-out split can show.
    floor = 0.5 / max(1, min(roc["members"], roc["non_members"]))

    def clip(values: Sequence[float]) -> list[float]:
        return [max(floor, v) for v in values]

    with _figure(6.4, 5.0) as figure:
        axes = figure.add_subplot()
        axes.step(
            clip(roc["fpr"]),
            clip(roc["tpr"]),
            where="post",
            color=BLUE,
            label=f"ROC, held-out split ({roc['members']} members, {roc['non_members']} not)",
        )
        grid = [floor * (1 / floor) ** (i / 200) for i in range(201)]
        claimed = data["claimed"].get("epsilon")
        lower = data["epsilon_lower"]["epsilon"]
        # The most a test can reach under an ε: TPR = e^ε·FPR + δ.
        limits = [
            (claimed, GREEN, "--", f"most a test reaches under the claimed ε = {claimed:.3g}")
            if claimed is not None
            else None,
            (lower, RED, "-.", f"... under ε = {lower:.3g}, the measured lower bound")
            if lower > 0
            else None,
        ]
        for eps, colour, style, label in filter(None, limits):
            reach = [min(1.0, math.exp(eps) * f + delta) for f in grid]
            axes.plot(grid, reach, color=colour, linestyle=style, label=label)
        fpr, tpr = max(floor, rates["fpr"]), max(floor, rates["tpr"])
        axes.errorbar(
            [fpr],
            [tpr],
            xerr=[[fpr - max(floor, rates["fpr_low"])], [max(floor, rates["fpr_high"]) - fpr]],
            yerr=[[tpr - max(floor, rates["tpr_low"])], [max(floor, rates["tpr_high"]) - tpr]],
            fmt="o",
            color=ORANGE,
            capsize=3,
            label=f"TPR {rates['tpr']:.3f} at FPR {rates['fpr']:.3f} (target ≤ {data['fpr_target']:g}), "
            f"{rates['level']:.1%} intervals",
        )
        axes.axvline(max(floor, data["fpr_target"]), color=GREY, linestyle=":", linewidth=1)
        axes.plot([floor, 1], [floor, 1], color=GREY, linewidth=0.8, label="chance")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlim(floor * 0.8, 1.05)
        axes.set_ylim(floor * 0.8, 1.05)
        axes.set_xlabel(f"false-positive rate (log; 0 drawn at {floor:.2g})")
        axes.set_ylabel("true-positive rate (log)")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(loc="lower right", fontsize="x-small", frameon=False)
        return _svg(figure)


def epsilon_figure(lower: float, claimed: float | None, *, level: float) -> str:
    """An ε lower bound as a bar next to the claimed ε (a one-run audit)."""
    with _figure(6.4, 1.5) as figure:
        axes = figure.add_subplot()
        refuted = claimed is not None and lower > claimed
        axes.barh([1], [lower], color=RED if refuted else BLUE, height=0.5)
        labels = [f"ε lower bound ({percent(level)})"]
        if claimed is not None:
            axes.barh([0], [claimed], color=GREEN, height=0.5)
            labels = ["claimed ε", *labels]
        axes.set_yticks([0, 1] if claimed is not None else [1])
        axes.set_yticklabels(labels)
        axes.set_xlabel("ε")
        axes.grid(True, axis="x", alpha=0.3)
        return _svg(figure)
