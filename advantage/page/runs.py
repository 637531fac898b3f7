"""The report's sections of runs: estimates (one forest plot for all), certify, sweep and
the privacy audits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from advantage import commands, figures
from advantage.certify import played_note
from advantage.inputs import Input
from advantage.page.parts import (
    Page,
    command_html,
    described,
    esc,
    fact_table,
    figure_html,
    html_table,
    interval_text,
    meta,
    nowrap,
    num,
    pct,
    subject_label,
)

__all__ = [
    "audit_section",
    "certify_section",
    "estimate_rows",
    "estimates_section",
    "intervals_named",
    "one_run_section",
    "sweep_section",
]

# -- estimates ------------------------------------------------------------------------------


def estimate_rows(item: Input) -> list[dict[str, Any]]:
    data = item.data
    if item.kind in ("run", "run-log"):
        return [{**data, "source": item}]
    rows = []
    for label, e in zip(
        [a.get("label", a["adversary"]) for a in data["adversaries"]],
        data["adversaries"],
        strict=True,
    ):
        rows.append({**e, "label": label, "source": item})
    best = data.get("best")
    if best:
        rows.append(
            {**best, "label": f"best: {best.get('adversary')}", "source": item, "derived": True}
        )
    union = data.get("union")
    if union:
        rows.append({**union, "label": "any adversary wins", "source": item, "derived": True})
    return rows


def intervals_named(rows: Sequence[Mapping[str, Any]]) -> str:
    kinds = sorted({(r.get("level"), r.get("method")) for r in rows}, key=str)
    if len(kinds) == 1:
        level, method = kinds[0]
        return f"{pct(level)} {method}"
    return "; ".join(f"{pct(level)} {method}" for level, method in kinds[:3]) + (
        "" if len(kinds) <= 3 else "; …"
    )


ESTIMATE_HEADER = (
    "#", "game", "adversary", "trials", "advantage", "interval", "level, method", "seed", "from",
)  # fmt: skip


def _estimate_cells(i: int, r: Mapping[str, Any]) -> list[str]:
    """One row of the estimates' table, numbered as in the forest plot."""
    item: Input = r["source"]
    line = commands.run_line(r) if item.kind == "run" and not item.command else None
    game = commands.label(r.get("game", item.data.get("game", "")), r.get("params"), "game")
    adversary = (
        r.get("label")
        if r.get("derived")
        else commands.label(r["adversary"], r.get("adversary_params"), "adversary")
    )
    correction = f"; {r['correction']}" if r.get("correction") else ""
    return [
        str(i),
        esc(game),
        esc(adversary),
        esc(f"{r.get('trials', '—')}"),
        esc(num(r.get("advantage"))),
        nowrap(interval_text(r["ci_low"], r["ci_high"])),
        esc(f"{pct(r.get('level'))} {r.get('method', '')}".strip() + correction),
        esc(r.get("seed", item.data.get("seed", "—"))),
        f"<code>{esc(item.path)}</code>" + (f"<br><code>{esc(line)}</code>" if line else ""),
    ]


def _utilities(items: Sequence[Input]) -> str:
    """The defenses' utilities that runs measured (``advantage run --utility``), if any."""
    rows = []
    for item in items:
        measured = item.data.get("utility")
        if not measured:
            continue
        cost = measured["cost"]
        rows.append(
            [
                esc(commands.label(cost["game"], cost.get("params"), "game")),
                esc(f"{measured['utility']:.4f}"),
                nowrap(f"[{measured['ci_low']:.4f}, {measured['ci_high']:.4f}]"),
                esc(f"{pct(cost.get('level'))} {cost.get('method', '')}".strip()),
                esc(f"{cost['wins']} of {cost['trials']} honest trials failed"),
                esc(cost.get("seed", "—")),
                f"<code>{esc(item.path)}</code>",
            ]
        )
    if not rows:
        return ""
    header = ("cost game", "utility", "interval", "level, method", "measured", "seed", "from")
    caption = (
        "<p>Each defense's utility on honest input, 1 − its cost game's win rate, measured "
        "with the same parameters, trials and seed as the attack beside it.</p>"
    )
    return caption + html_table(header, rows)


def _estimates_reproduce(page: Page, items: Sequence[Input]) -> str:
    """Each input's provenance and command, then the command that draws the figure."""
    parts = []
    for item in items:
        parts.append(f"<h4>{esc(item.name)} ({esc(item.kind)})</h4>")
        intervals = esc(intervals_named(estimate_rows(item)))
        parts.append(
            meta(
                item,
                seed=item.data.get("seed"),
                trials=item.data.get("trials"),
                intervals=intervals,
            )
        )
        parts.append(page.reproduce(item, figure=False))
    every = page.report_line([item.path for item in items])
    parts.append(command_html(every, "the figure above, from these files"))
    return '<div class="reproduce-all">' + "".join(parts) + "</div>"


def estimates_section(page: Page, items: Sequence[Input]) -> None:
    """Every estimate of the inputs in one forest plot and one table."""
    rows = [row for item in items for row in estimate_rows(item)]
    forest = [
        {
            "label": f"{i}. {r['label'] if r.get('derived') else subject_label(r, ' vs ')}",
            "estimate": r.get("advantage"),
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
        }
        for i, r in enumerate(rows, 1)
    ]
    named = intervals_named(rows)
    caption = f"Advantage estimates with their intervals ({esc(named)})."
    body = [
        figure_html(
            figures.forest_figure(forest, interval=named), "forest plot of the estimates", caption
        ),
        html_table(ESTIMATE_HEADER, [_estimate_cells(i, r) for i, r in enumerate(rows, 1)]),
        _utilities(items),
        _estimates_reproduce(page, items),
    ]
    page.sections.append(("estimates", "Estimates", "".join(body)))


# -- certify --------------------------------------------------------------------------------


def certify_section(page: Page, item: Input, n: int) -> None:
    d = item.data
    colour = {"below": "good", "above": "bad"}.get(d["decision"], "warn")
    verdict = {
        "below": f"advantage ≤ {d['eps']:g}",
        "above": f"advantage > {d['eps']:g}",
        "undecided": f"undecided after {d.get('max_trials', d['trials']):,} trials",
    }[d["decision"]]
    has_sequence = bool(d.get("sequence"))
    caption = (
        f"The anytime-valid confidence sequence for the advantage ({esc(d.get('method', ''))}; "
        f"each end at {pct(1 - d['alpha'])}, a wrong decision has probability at most "
        f"alpha = {d['alpha']:g} whenever the run stops), the eps boundary, and the trial at "
        "which the run stopped."
    )
    if not has_sequence:
        caption += " This output records no sequence: only the final interval is drawn."
    played = d.get("played", d["trials"])
    body = [
        f'<p class="verdict {colour}">{esc(d["decision"])}: {esc(verdict)}</p>',
        meta(item, seed=d["seed"], trials=d["trials"], intervals=esc(d.get("method", ""))),
        figure_html(figures.certify_figure(d), "certify's confidence sequence", caption),
        fact_table(
            [
                ("game", esc(described(d.get("game"), d.get("params")))),
                ("adversary", esc(described(d.get("adversary"), d.get("adversary_params")))),
                ("decision", f'<b class="{colour}">{esc(d["decision"])}</b>: {esc(verdict)}'),
                ("trials", esc(f"{d['trials']:,} decide it")),
                *(
                    [("played", esc(played_note(d["trials"], played)))]
                    if played != d["trials"]
                    else []
                ),
                ("wins", esc(d.get("wins", "—"))),
                (
                    "advantage",
                    esc(f"{num(d.get('advantage'))} {interval_text(d['ci_low'], d['ci_high'])}"),
                ),
                (
                    "eps, alpha",
                    esc(f"{d['eps']:g}, {d['alpha']:g} (max trials {d.get('max_trials', '—')})"),
                ),
            ]
        ),
        page.reproduce(item),
    ]
    page.sections.append(
        (f"s{n}", f"Certify: {d.get('adversary')} vs {d.get('game')}", "".join(body))
    )


# -- sweep --------------------------------------------------------------------------------


def sweep_section(page: Page, item: Input, n: int) -> None:
    d = item.data
    fit = d.get("fit")
    body = [
        meta(
            item,
            seed=d["seed"],
            trials=f"{d.get('trials')} per budget",
            intervals=esc(
                f"{pct(d.get('point_level'))} {d.get('method')} per budget ({d.get('correction')}; family-wise {pct(d.get('level'))})"
            ),
        )
    ]
    if fit and figures.poor_fit(fit):
        body.append(
            f'<p class="verdict bad">Poor fit: the goodness-of-fit test rejects {esc(fit["model"])} '
            f"(p = {fit['fit_pvalue']:.3g}); its band and extrapolation are only as good as the "
            "model, which does not describe these points.</p>"
        )
    caption = "Advantage at each budget with its interval"
    if fit:
        caption += (
            f", the {esc(fit['model'])} curve fitted by {esc(fit.get('method', 'maximum likelihood'))} "
            f"and its {pct(fit.get('level'))} band (simultaneous over budgets)"
        )
        if not d.get("curve"):
            caption += " (this output records no curve: only the points are drawn)"
    if d.get("extrapolation"):
        caption += ", and the extrapolation"
    body.append(figure_html(figures.sweep_figure(d), "sweep", caption + "."))
    rows = []
    for p in d["points"]:
        rows.append(
            [
                esc(p["value"]),
                esc(f"{p['wins']}/{p['trials']}"),
                esc(num(p["advantage"])),
                nowrap(interval_text(p["ci_low"], p["ci_high"])),
            ]
        )
    body.append(html_table([d["budget"], "wins", "advantage", "interval"], rows))
    facts = []
    if fit:
        params = ", ".join(f"{k} = {v:.4g}" for k, v in fit.get("params", {}).items())
        p = fit.get("fit_pvalue")
        quality = (
            f"goodness of fit p = {p:.3g}"
            if isinstance(p, int | float) and p == p
            else "no spare points to test the fit"
        )
        cls = "bad" if figures.poor_fit(fit) else ""
        facts.append(("fit", esc(f"{fit['model']}: {params}")))
        facts.append(("goodness of fit", f'<span class="{cls}">{esc(quality)}</span>'))
    ex = d.get("extrapolation")
    if ex:
        facts.append(
            (
                "extrapolation",
                esc(
                    f"{d['budget']}={ex['value']:g}: {num(ex['advantage'])} {interval_text(ex['low'], ex['high'])} (band, if the model holds)"
                ),
            )
        )
    facts.append(("game", esc(described(d["game"], d.get("params")))))
    facts.append(("adversary", esc(described(d["adversary"], d.get("adversary_params")))))
    body.append(fact_table(facts))
    body.append(page.reproduce(item))
    page.sections.append(
        (f"s{n}", f"Sweep: {d['adversary']} vs {d['game']} over {d['budget']}", "".join(body))
    )


# -- audits ---------------------------------------------------------------------------------


def audit_section(page: Page, item: Input, n: int) -> None:
    d = item.data
    claimed, lower = d["claimed"], d["epsilon_lower"]
    refuted = d.get("refuted")
    body = []
    if claimed.get("epsilon") is not None:
        cls = "bad" if refuted else "good"
        text = f"ε ≥ {lower['epsilon']:.4f} measured, claimed ε = {claimed['epsilon']:.4f}: " + (
            "the claim is refuted" if refuted else "the claim stands"
        )
        body.append(f'<p class="verdict {cls}">{esc(text)}</p>')
    body.append(
        meta(
            item,
            seed=d["seed"],
            trials=f"{d.get('kept')} kept of {d.get('trials')}",
            intervals=esc(
                f"family level {pct(d['level'])}, Bonferroni over 3 figures, each at {pct(d['each'])}; Clopper-Pearson"
            ),
        )
    )
    if d.get("roc"):
        body.append(
            figure_html(
                figures.roc_figure(d),
                "ROC curve of the audit",
                "The attack's ROC curve on the held-out split (log-log), its TPR at the chosen "
                "FPR with intervals, and the most any test can reach under the claimed ε and "
                "under the measured ε lower bound (TPR ≤ e^ε·FPR + δ).",
            )
        )
    else:
        body.append(
            '<p class="note">This output records no ROC curve: the figures are in the table.</p>'
        )
    adv, rates = d["advantage"], d["tpr_at_fpr"]
    rows = []
    if adv.get("estimate") is not None:
        rows.append(
            (
                "advantage",
                esc(
                    f"{num(adv['estimate'])} {interval_text(adv['ci_low'], adv['ci_high'])} ({pct(adv['level'])} {adv['method']})"
                ),
            )
        )
    else:
        rows.append(("advantage", esc(f"not measured: {adv.get('reason', '')}")))
    rows.append(
        (
            f"TPR at FPR ≤ {d['fpr_target']:g}",
            esc(
                f"TPR {rates['tpr']:.4f} {interval_text(rates['tpr_low'], rates['tpr_high'], False)}, "
                f"FPR {rates['fpr']:.4f} {interval_text(rates['fpr_low'], rates['fpr_high'], False)} "
                f"({pct(rates['level'])} each; held out: {rates['members']} members, {rates['non_members']} non-members)"
            ),
        )
    )
    eps_text = f"ε ≥ {lower['epsilon']:.4f} at δ = {d['delta']:g} ({pct(lower['level'])}; {lower['method']})"
    if claimed.get("epsilon") is not None:
        eps_text += (
            f" — claimed ε = {claimed['epsilon']:.4f} ({claimed.get('accountant')} accountant, "
            f"{claimed.get('library')}), which allows advantage ≤ {claimed['advantage_bound']:.4f}"
        )
    else:
        eps_text += f" — no claimed ε: {claimed.get('reason', '')}"
    rows.append(
        (
            "ε lower bound vs claimed ε",
            f'<span class="{"bad" if refuted else ""}">{esc(eps_text)}</span>',
        )
    )
    for refutation in d.get("refutations", []):
        rows.append(("refuted", f'<span class="bad">{esc(refutation)}</span>'))
    rows.append(("game", esc(described(d["game"], d.get("params")))))
    rows.append(("adversary", esc(described(d["adversary"], d.get("adversary_params")))))
    body.append(fact_table(rows))
    body.append(page.reproduce(item))
    page.sections.append((f"s{n}", f"Audit: {d['adversary']} against {d['game']}", "".join(body)))


def one_run_section(page: Page, item: Input, n: int) -> None:
    d = item.data
    claimed = d.get("claimed_epsilon")
    body = []
    if claimed is not None:
        cls = "bad" if d.get("refuted") else "good"
        body.append(
            f'<p class="verdict {cls}">'
            + esc(f"ε ≥ {d['epsilon']:.4f} measured, claimed ε = {claimed:.4f}: ")
            + ("the claim is refuted" if d.get("refuted") else "the claim stands")
            + "</p>"
        )
    body.append(
        meta(
            item,
            seed=d["seed"],
            trials="one training run",
            intervals=esc(f"{pct(d['level'])}; {d.get('method', '')}"),
        )
    )
    body.append(
        figure_html(
            figures.epsilon_figure(d["epsilon"], claimed, level=d["level"]),
            "epsilon lower bound next to the claimed epsilon",
            "The ε lower bound from one training run next to the ε the trainer claims.",
        )
    )
    body.append(
        fact_table(
            [
                (
                    "canaries",
                    esc(
                        f"{d['canaries']} ({d.get('included')} included, each with probability 1/2)"
                    ),
                ),
                (
                    "right guesses",
                    esc(
                        f"{d['correct']} of {d['guesses']} ({d.get('correct_in')} of {d.get('guesses_in')} 'in', {d.get('correct_out')} of {d.get('guesses_out')} 'out')"
                    ),
                ),
                ("ε lower bound", esc(f"{d['epsilon']:.4f} at δ = {d['delta']:g}")),
                (
                    "claimed ε",
                    esc(
                        f"{claimed:.4f} ({d.get('claim')})"
                        if claimed is not None
                        else f"none: {d.get('claim')}"
                    ),
                ),
                ("game", esc(described(d["game"], d.get("params")))),
            ]
        )
    )
    body.append(page.reproduce(item))
    page.sections.append((f"s{n}", f"One-run audit of {d['game']}", "".join(body)))
