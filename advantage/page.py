"""One self-contained HTML page from run logs and `--json` outputs (`advantage report`).

:func:`build` takes the inputs :func:`advantage.inputs.load` recognised and returns the
page as text: inline CSS, every figure an SVG image inside the page (a ``data:`` URI drawn
by :mod:`advantage.figures`), no script and nothing fetched when it is viewed. Every
section names the package version that wrote its input, the seed, the trials, the level
and method of its intervals, and the commands that reproduce it.

The page is written with the standard library's escaping rather than a template engine:
it is a handful of fixed sections, and one escaping helper (:func:`_e`) on every value
keeps it safe. (The module is not called ``html``: run as a script from this directory, a
module of that name would stand in for the standard library's.)
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from advantage import commands, figures
from advantage.common import command_line, version
from advantage.inputs import Input

__all__ = ["build"]

ESTIMATE_KINDS = ("run", "run-log", "ensemble")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, sign: bool = True, digits: int = 4) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if math.isnan(value):
        return "nan"
    if value != 0 and abs(value) < 10 ** -(digits - 1):
        return f"{value:+.3g}" if sign else f"{value:.3g}"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _interval(low: Any, high: Any, sign: bool = True) -> str:
    return f"[{_num(low, sign)}, {_num(high, sign)}]"


def _nw(text: str) -> str:
    """Escaped text that does not wrap (an interval reads as one token)."""
    return f'<span class="nw">{_e(text)}</span>'


def _pct(level: Any) -> str:
    if not isinstance(level, int | float):
        return "?"
    text = f"{100 * level:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _figure(svg: str, alt: str, caption: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{_e(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _facts(rows: Iterable[tuple[str, str]], cls: str = "facts") -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "data") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _code(line: str | None, note: str = "") -> str:
    """A command line to copy, after a note saying what it makes."""
    if not line:
        text = note or "no command: the game or adversary is not registered by name"
        return f'<p class="note">{_e(text)}</p>'
    label = f'<p class="note cmdnote">{_e(note)}:</p>' if note else ""
    return f'{label}<pre class="cmd"><code>{_e(line)}</code></pre>'


def _params(params: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


def _described(name: Any, params: Mapping[str, Any] | None) -> str:
    """A name with every parameter, as recorded: ``otp (n=16, key_reuse=False)``."""
    inner = _params(params)
    return f"{name} ({inner})" if inner else str(name)


def _seed(data: Mapping[str, Any]) -> str:
    """An input's seed, or a tour's (each row records its own)."""
    if "seed" in data:
        return str(data["seed"])
    seeds = sorted({str(r["seed"]) for r in data.get("rows", ()) if "seed" in r})
    return ", ".join(seeds) or "—"


class _Page:
    """The sections of the page, collected while it is built."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str, str]] = []  # (id, title, body)

    @staticmethod
    def report_line(paths: Sequence[str]) -> str:
        """The `advantage report` command that draws a figure from these inputs alone."""
        return command_line(["report", *paths, "-o", "report.html"])

    def reproduce(self, item: Input, figure: bool = True) -> str:
        """How to make the input again, and the figure from it."""
        parts = []
        recorded = item.command
        if item.kind == "run-log":
            derived_record = {**item.data, "chunk_size": item.data["spec"].get("chunk_size")}
            derived = commands.run_line(derived_record, log=item.path)
            parts.append(_code(derived, "the run that wrote the log, derived from its spec line"))
            parts.append(_code(f"advantage show {item.path}", "the estimate, from the log alone"))
        elif recorded:
            parts.append(_code(f"{recorded} > {item.path}", "as recorded in the output"))
        else:
            derived = _derived(item)
            parts.append(
                _code(
                    f"{derived} --json > {item.path}" if derived else None,
                    "derived from the record: this output does not record its command"
                    if derived
                    else "the output records no command, and none can be derived from it",
                )
            )
        if figure:
            parts.append(_code(self.report_line([item.path]), "this section, from that file"))
        return '<div class="reproduce"><h4>Reproduce</h4>' + "".join(parts) + "</div>"


def _derived(item: Input) -> str | None:
    data = item.data
    if item.kind == "run":
        return commands.run_line(data)
    if item.kind == "certify":
        return commands.certify_line(data)
    if item.kind == "check":
        return commands.check_line(data)
    return None


def _meta(item: Input, *, seed: Any, trials: Any, intervals: str) -> str:
    written = f"advantage {item.version}" if item.version else "a version it does not record"
    return (
        f'<p class="meta">from <code>{_e(item.path)}</code> · written by {_e(written)} · '
        f"seed {_e(seed)} · trials {_e(trials)} · {intervals}</p>"
    )


# -- estimates ------------------------------------------------------------------------------


def _estimate_rows(item: Input) -> list[dict[str, Any]]:
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


def _intervals_named(rows: Sequence[Mapping[str, Any]]) -> str:
    kinds = sorted({(r.get("level"), r.get("method")) for r in rows}, key=str)
    if len(kinds) == 1:
        level, method = kinds[0]
        return f"{_pct(level)} {method}"
    return "; ".join(f"{_pct(level)} {method}" for level, method in kinds[:3]) + (
        "" if len(kinds) <= 3 else "; …"
    )


def _estimates_section(page: _Page, items: Sequence[Input]) -> None:
    rows = [row for item in items for row in _estimate_rows(item)]
    forest = [
        {
            "label": f"{i}. {r['label']}"
            if r.get("derived")
            else f"{i}. {commands.label(r['adversary'], r.get('adversary_params'), 'adversary')} "
            f"vs {commands.label(r['game'], r.get('params'), 'game')}",
            "estimate": r.get("advantage"),
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
        }
        for i, r in enumerate(rows, 1)
    ]
    named = _intervals_named(rows)
    body = [
        _figure(
            figures.forest_figure(forest, interval=named),
            "forest plot of the estimates",
            f"Advantage estimates with their intervals ({_e(named)}).",
        )
    ]
    table = []
    for i, r in enumerate(rows, 1):
        item: Input = r["source"]
        line = commands.run_line(r) if item.kind == "run" and not item.command else None
        table.append(
            [
                str(i),
                _e(
                    commands.label(
                        r.get("game", item.data.get("game", "")), r.get("params"), "game"
                    )
                ),
                _e(
                    r.get("label")
                    if r.get("derived")
                    else commands.label(r["adversary"], r.get("adversary_params"), "adversary")
                ),
                _e(f"{r.get('trials', '—')}"),
                _e(_num(r.get("advantage"))),
                _nw(_interval(r["ci_low"], r["ci_high"])),
                _e(
                    f"{_pct(r.get('level'))} {r.get('method', '')}".strip()
                    + (f"; {r['correction']}" if r.get("correction") else "")
                ),
                _e(r.get("seed", item.data.get("seed", "—"))),
                f"<code>{_e(item.path)}</code>" + (f"<br><code>{_e(line)}</code>" if line else ""),
            ]
        )
    body.append(
        _table(
            [
                "#",
                "game",
                "adversary",
                "trials",
                "advantage",
                "interval",
                "level, method",
                "seed",
                "from",
            ],
            table,
        )
    )
    parts = []
    for item in items:
        parts.append(f"<h4>{_e(item.name)} ({_e(item.kind)})</h4>")
        parts.append(
            _meta(
                item,
                seed=item.data.get("seed"),
                trials=item.data.get("trials"),
                intervals=_e(_intervals_named(_estimate_rows(item))),
            )
        )
        parts.append(page.reproduce(item, figure=False))
    parts.append(
        _code(page.report_line([item.path for item in items]), "the figure above, from these files")
    )
    body.append('<div class="reproduce-all">' + "".join(parts) + "</div>")
    page.sections.append(("estimates", "Estimates", "".join(body)))


# -- certify --------------------------------------------------------------------------------


def _certify_section(page: _Page, item: Input, n: int) -> None:
    d = item.data
    colour = {"below": "good", "above": "bad"}.get(d["decision"], "warn")
    verdict = {
        "below": f"advantage ≤ {d['eps']:g}",
        "above": f"advantage > {d['eps']:g}",
        "undecided": f"undecided after {d.get('max_trials', d['trials']):,} trials",
    }[d["decision"]]
    has_sequence = bool(d.get("sequence"))
    caption = (
        f"The anytime-valid confidence sequence for the advantage ({_e(d.get('method', ''))}; "
        f"each end at {_pct(1 - d['alpha'])}, a wrong decision has probability at most "
        f"alpha = {d['alpha']:g} whenever the run stops), the eps boundary, and the trial at "
        "which the run stopped."
    )
    if not has_sequence:
        caption += " This output records no sequence: only the final interval is drawn."
    played = d.get("played", d["trials"])
    body = [
        f'<p class="verdict {colour}">{_e(d["decision"])}: {_e(verdict)}</p>',
        _meta(item, seed=d["seed"], trials=d["trials"], intervals=_e(d.get("method", ""))),
        _figure(figures.certify_figure(d), "certify's confidence sequence", caption),
        _facts(
            [
                ("game", _e(_described(d.get("game"), d.get("params")))),
                ("adversary", _e(_described(d.get("adversary"), d.get("adversary_params")))),
                ("decision", f'<b class="{colour}">{_e(d["decision"])}</b>: {_e(verdict)}'),
                (
                    "trials",
                    _e(
                        f"{d['trials']:,} decide it"
                        + (
                            f"; {played:,} were played, because trials run in waves and a wave "
                            "is finished once started"
                            if played != d["trials"]
                            else ""
                        )
                    ),
                ),
                ("wins", _e(d.get("wins", "—"))),
                (
                    "advantage",
                    _e(f"{_num(d.get('advantage'))} {_interval(d['ci_low'], d['ci_high'])}"),
                ),
                (
                    "eps, alpha",
                    _e(f"{d['eps']:g}, {d['alpha']:g} (max trials {d.get('max_trials', '—')})"),
                ),
            ]
        ),
        page.reproduce(item),
    ]
    page.sections.append(
        (f"s{n}", f"Certify: {d.get('adversary')} vs {d.get('game')}", "".join(body))
    )


# -- sweep --------------------------------------------------------------------------------


def _sweep_section(page: _Page, item: Input, n: int) -> None:
    d = item.data
    fit = d.get("fit")
    body = [
        _meta(
            item,
            seed=d["seed"],
            trials=f"{d.get('trials')} per budget",
            intervals=_e(
                f"{_pct(d.get('point_level'))} {d.get('method')} per budget ({d.get('correction')}; family-wise {_pct(d.get('level'))})"
            ),
        )
    ]
    if fit and figures._poor_fit(fit):
        body.append(
            f'<p class="verdict bad">Poor fit: the goodness-of-fit test rejects {_e(fit["model"])} '
            f"(p = {fit['fit_pvalue']:.3g}); its band and extrapolation are only as good as the "
            "model, which does not describe these points.</p>"
        )
    caption = "Advantage at each budget with its interval"
    if fit:
        caption += (
            f", the {_e(fit['model'])} curve fitted by {_e(fit.get('method', 'maximum likelihood'))} "
            f"and its {_pct(fit.get('level'))} band (simultaneous over budgets)"
        )
        if not d.get("curve"):
            caption += " (this output records no curve: only the points are drawn)"
    if d.get("extrapolation"):
        caption += ", and the extrapolation"
    body.append(_figure(figures.sweep_figure(d), "sweep", caption + "."))
    rows = []
    for p in d["points"]:
        rows.append(
            [
                _e(p["value"]),
                _e(f"{p['wins']}/{p['trials']}"),
                _e(_num(p["advantage"])),
                _nw(_interval(p["ci_low"], p["ci_high"])),
            ]
        )
    body.append(_table([d["budget"], "wins", "advantage", "interval"], rows))
    facts = []
    if fit:
        params = ", ".join(f"{k} = {v:.4g}" for k, v in fit.get("params", {}).items())
        p = fit.get("fit_pvalue")
        quality = (
            f"goodness of fit p = {p:.3g}"
            if isinstance(p, int | float) and p == p
            else "no spare points to test the fit"
        )
        cls = "bad" if figures._poor_fit(fit) else ""
        facts.append(("fit", _e(f"{fit['model']}: {params}")))
        facts.append(("goodness of fit", f'<span class="{cls}">{_e(quality)}</span>'))
    ex = d.get("extrapolation")
    if ex:
        facts.append(
            (
                "extrapolation",
                _e(
                    f"{d['budget']}={ex['value']:g}: {_num(ex['advantage'])} {_interval(ex['low'], ex['high'])} (band, if the model holds)"
                ),
            )
        )
    facts.append(("game", _e(_described(d["game"], d.get("params")))))
    facts.append(("adversary", _e(_described(d["adversary"], d.get("adversary_params")))))
    body.append(_facts(facts))
    body.append(page.reproduce(item))
    page.sections.append(
        (f"s{n}", f"Sweep: {d['adversary']} vs {d['game']} over {d['budget']}", "".join(body))
    )


# -- audits ---------------------------------------------------------------------------------


def _audit_section(page: _Page, item: Input, n: int) -> None:
    d = item.data
    claimed, lower = d["claimed"], d["epsilon_lower"]
    refuted = d.get("refuted")
    body = []
    if claimed.get("epsilon") is not None:
        cls = "bad" if refuted else "good"
        text = f"ε ≥ {lower['epsilon']:.4f} measured, claimed ε = {claimed['epsilon']:.4f}: " + (
            "the claim is refuted" if refuted else "the claim stands"
        )
        body.append(f'<p class="verdict {cls}">{_e(text)}</p>')
    body.append(
        _meta(
            item,
            seed=d["seed"],
            trials=f"{d.get('kept')} kept of {d.get('trials')}",
            intervals=_e(
                f"family level {_pct(d['level'])}, Bonferroni over 3 figures, each at {_pct(d['each'])}; Clopper-Pearson"
            ),
        )
    )
    if d.get("roc"):
        body.append(
            _figure(
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
                _e(
                    f"{_num(adv['estimate'])} {_interval(adv['ci_low'], adv['ci_high'])} ({_pct(adv['level'])} {adv['method']})"
                ),
            )
        )
    else:
        rows.append(("advantage", _e(f"not measured: {adv.get('reason', '')}")))
    rows.append(
        (
            f"TPR at FPR ≤ {d['fpr_target']:g}",
            _e(
                f"TPR {rates['tpr']:.4f} {_interval(rates['tpr_low'], rates['tpr_high'], False)}, "
                f"FPR {rates['fpr']:.4f} {_interval(rates['fpr_low'], rates['fpr_high'], False)} "
                f"({_pct(rates['level'])} each; held out: {rates['members']} members, {rates['non_members']} non-members)"
            ),
        )
    )
    eps_text = f"ε ≥ {lower['epsilon']:.4f} at δ = {d['delta']:g} ({_pct(lower['level'])}; {lower['method']})"
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
            f'<span class="{"bad" if refuted else ""}">{_e(eps_text)}</span>',
        )
    )
    for refutation in d.get("refutations", []):
        rows.append(("refuted", f'<span class="bad">{_e(refutation)}</span>'))
    rows.append(("game", _e(_described(d["game"], d.get("params")))))
    rows.append(("adversary", _e(_described(d["adversary"], d.get("adversary_params")))))
    body.append(_facts(rows))
    body.append(page.reproduce(item))
    page.sections.append((f"s{n}", f"Audit: {d['adversary']} against {d['game']}", "".join(body)))


def _one_run_section(page: _Page, item: Input, n: int) -> None:
    d = item.data
    claimed = d.get("claimed_epsilon")
    body = []
    if claimed is not None:
        cls = "bad" if d.get("refuted") else "good"
        body.append(
            f'<p class="verdict {cls}">'
            + _e(f"ε ≥ {d['epsilon']:.4f} measured, claimed ε = {claimed:.4f}: ")
            + ("the claim is refuted" if d.get("refuted") else "the claim stands")
            + "</p>"
        )
    body.append(
        _meta(
            item,
            seed=d["seed"],
            trials="one training run",
            intervals=_e(f"{_pct(d['level'])}; {d.get('method', '')}"),
        )
    )
    body.append(
        _figure(
            figures.epsilon_figure(d["epsilon"], claimed, level=d["level"]),
            "epsilon lower bound next to the claimed epsilon",
            "The ε lower bound from one training run next to the ε the trainer claims.",
        )
    )
    body.append(
        _facts(
            [
                (
                    "canaries",
                    _e(
                        f"{d['canaries']} ({d.get('included')} included, each with probability 1/2)"
                    ),
                ),
                (
                    "right guesses",
                    _e(
                        f"{d['correct']} of {d['guesses']} ({d.get('correct_in')} of {d.get('guesses_in')} 'in', {d.get('correct_out')} of {d.get('guesses_out')} 'out')"
                    ),
                ),
                ("ε lower bound", _e(f"{d['epsilon']:.4f} at δ = {d['delta']:g}")),
                (
                    "claimed ε",
                    _e(
                        f"{claimed:.4f} ({d.get('claim')})"
                        if claimed is not None
                        else f"none: {d.get('claim')}"
                    ),
                ),
                ("game", _e(_described(d["game"], d.get("params")))),
            ]
        )
    )
    body.append(page.reproduce(item))
    page.sections.append((f"s{n}", f"One-run audit of {d['game']}", "".join(body)))


# -- check ----------------------------------------------------------------------------------


def _verdict_class(verdicts: Sequence[str]) -> str:
    if list(verdicts) == ["consistent"]:
        return "good"
    if list(verdicts) == ["inconclusive"]:
        return "warn"
    return "bad"


def _bar(
    low: float, high: float, estimate: float | None, threshold: float | None, bad: bool
) -> str:
    """A small interval bar on [-1, 1] (or [0, 1]) with the threshold marked, in CSS."""
    left = -1.0 if low < 0 else 0.0

    def at(x: float) -> float:
        return max(0.0, min(100.0, (x - left) / (1 - left) * 100))

    parts = [
        f'<span class="iv{" bad" if bad else ""}" style="left:{at(low):.1f}%;width:{max(0.6, at(high) - at(low)):.1f}%"></span>'
    ]
    if estimate is not None and math.isfinite(estimate):
        parts.append(f'<span class="pt" style="left:{at(estimate):.1f}%"></span>')
    if threshold is not None and math.isfinite(threshold):
        parts.append(
            f'<span class="th" style="left:{at(threshold):.1f}%" title="threshold"></span>'
        )
    return f'<span class="bar" title="{left:g} to 1">{"".join(parts)}</span>'


def check_tree(d: Mapping[str, Any]) -> str:
    """A check's JSON as a tree: the theorem, its assumptions (claim and measured interval)
    and its hops (measured gap and allowance), the blamed part marked, then the reasons."""
    verdicts = d.get("verdicts") or []
    out = []
    blamed_assumptions = {v.split(":", 1)[1] for v in verdicts if v.startswith("assumption:")}
    blamed_hops = set(d.get("blamed_hops") or [])
    intervals = d.get("intervals") or []
    theorem = next((r for r in intervals if r.get("role") == "theorem"), None)
    if theorem is not None:
        blame_theorem = "algorithm" in verdicts and not blamed_hops
        bound = d.get("bound", {})
        out.append('<ul class="tree">')
        out.append(
            f'<li class="node theorem{" blamed" if blame_theorem else ""}">'
            f'<span class="role">theorem</span> <b>{_e(d["proof"])}</b>: '
            f"{_e(theorem['what'])} on {_e(theorem['game'])} ({_e(_params(theorem.get('params')))})"
            f"<br>measured {_e(_num(theorem['estimate']))} {_e(_interval(theorem['ci_low'], theorem['ci_high']))} "
            f"({_pct(theorem.get('level'))} {_e(theorem.get('method'))}, {theorem.get('trials')} trials) "
            f"{_bar(theorem['ci_low'], theorem['ci_high'], theorem['estimate'], theorem.get('threshold'), bool(theorem.get('violated')))}"
            f"<br>bound {_e(bound.get('text', ''))} = {_e(_num(bound.get('value'), False))} "
            "at the upper ends of the assumption advantages"
            + (' <b class="bad">violated</b>' if theorem.get("violated") else "")
        )
        out.append("<ul>")
        for row in intervals:
            if row.get("role") != "assumption":
                continue
            blamed = row.get("name") in blamed_assumptions
            out.append(
                f'<li class="node assumption{" blamed" if blamed else ""}">'
                f'<span class="role">assumption</span> <b>{_e(row["name"])}</b>: '
                f"{_e(row.get('threshold_text', ''))} = {_e(_num(row.get('threshold'), False))}"
                f"<br>B = {_e(row.get('adversary'))} built by {_e(row.get('reduction', 'the reduction'))}: "
                f"{_e(row['what'])} measured {_e(_num(row['estimate']))} "
                f"{_e(_interval(row['ci_low'], row['ci_high']))} ({_pct(row.get('level'))} {_e(row.get('method'))}) "
                f"{_bar(row['ci_low'], row['ci_high'], row['estimate'], row.get('threshold'), bool(row.get('violated')))}"
                + (' <b class="bad">broken</b>' if row.get("violated") else "")
                + "</li>"
            )
        for hop in d.get("hops") or []:
            blamed = hop["index"] in blamed_hops
            if hop.get("measured"):
                gap = (
                    f"gap measured {_e(_num(hop['gap'], False))} "
                    f"{_e(_interval(hop['gap_low'], hop['gap_high'], False))} "
                    f"{_bar(hop['gap_low'], hop['gap_high'], hop['gap'], hop.get('allowance'), bool(hop.get('violated')))}"
                )
            else:
                gap = f'<span class="note">not measured: {_e(hop.get("reason", ""))}</span>'
            out.append(
                f'<li class="node hop{" blamed" if blamed else ""}">'
                f'<span class="role">hop {hop["index"]}</span> {_e(hop["from"])} → {_e(hop["to"])} '
                f"by {_e(hop['by'])}, allowed ≤ {_e(_num(hop.get('allowance'), False))}<br>{gap}"
                + (' <b class="bad">violated</b>' if hop.get("violated") else "")
                + "</li>"
            )
        for row in intervals:
            if row.get("role") == "hop-game":
                out.append(
                    f'<li class="node hopgame"><span class="role">hop game</span> {_e(row["what"])}: '
                    f"{_e(_num(row['estimate']))} {_e(_interval(row['ci_low'], row['ci_high']))}</li>"
                )
        out.append("</ul></li></ul>")
    if d.get("reasons"):
        out.append(
            '<ul class="reasons">' + "".join(f"<li>{_e(r)}</li>" for r in d["reasons"]) + "</ul>"
        )
    if d.get("trials_needed"):
        out.append(f'<p class="warn">rerun with --trials {_e(d["trials_needed"])} to decide it</p>')
    symbolic = d.get("symbolic")
    if symbolic:
        cls = {"proven": "good", "refuted": "bad"}.get(symbolic.get("status"), "warn")
        out.append(
            f'<p class="verdict {cls}">symbolic check: {_e(symbolic.get("status"))}'
            f"{' (' + _e(symbolic['method']) + ')' if symbolic.get('method') else ''}</p>"
        )
        out.append(
            _facts(
                [
                    ("claimed bound", _e(symbolic.get("claimed", ""))),
                    ("chain of hops", _e(symbolic.get("chain", ""))),
                    ("detail", _e(symbolic.get("detail", "") or "—")),
                ]
            )
        )
    return "".join(out)


def _check_section(page: _Page, item: Input, n: int) -> None:
    d = item.data
    body = []
    if d.get("verdicts"):
        body.append(
            f'<p class="verdict {_verdict_class(d["verdicts"])}">verdict: {_e(d["verdict"])}</p>'
        )
        body.append(
            _meta(
                item,
                seed=d.get("seed"),
                trials=f"{d.get('trials')} per game",
                intervals=_e(
                    f"every interval at {_pct(d.get('interval_level'))} {d.get('method')}, so "
                    f"all {d.get('intervals_count')} hold together at {_pct(d.get('level'))} ({d.get('correction')})"
                ),
            )
        )
    body.append(check_tree(d))
    lines = [page.reproduce(item, figure=True)]
    lines.append(_code(f"advantage explain {d['proof']}", "the proof, as text"))
    if not d.get("symbolic"):
        lines.append(
            _code(f"advantage check {d['proof']} --symbolic", "its bound against its hops")
        )
    body.append("".join(lines))
    title = f"Check: {d['proof']}" + (f" with {d['adversary']}" if d.get("adversary") else "")
    page.sections.append((f"s{n}", title, "".join(body)))


# -- tour -----------------------------------------------------------------------------------


def _theory(expect: str) -> float | None:
    """Theory's value of a tour row, when it is a number (not ``>0``)."""
    try:
        return float(expect)
    except ValueError:
        return None


def _tour_section(page: _Page, item: Input, n: int) -> None:
    d = item.data
    rows = d["rows"]
    estimates = [r for r in rows if r.get("kind") == "estimate"]
    body = [
        _meta(
            item,
            seed=_seed(d),
            trials="per row (see the table)",
            intervals=_e(
                f"every row at {_pct(d['level'])} Clopper-Pearson, so the whole table holds at "
                f"{_pct(d['family_level'])} (Bonferroni over {len(rows)} rows)"
            ),
        )
    ]
    disagree = d.get("disagreements", 0)
    body.append(
        f'<p class="verdict {"bad" if disagree else "good"}">'
        + (
            _e(f"{disagree} row(s) disagree with theory")
            if disagree
            else "every row agrees with theory"
        )
        + "</p>"
    )
    if estimates:
        forest = [
            {
                "label": f"{i}. {commands.label(r['game'], r.get('params'), 'game')} · "
                f"{commands.label(r['adversary'], r.get('adversary_params'), 'adversary')}",
                "estimate": r["advantage"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "theory": _theory(str(r.get("expect", ""))),
                "agrees": r.get("agrees"),
            }
            for i, r in enumerate(rows, 1)  # numbered as in the table below
            if r.get("kind") == "estimate"
        ]
        named = _intervals_named(estimates)
        body.append(
            _figure(
                figures.forest_figure(forest, interval=named),
                "forest plot of the tour's estimates",
                f"The tour's estimates ({_e(named)}) with theory's value (diamond) where it is a "
                "number; red: the row disagrees with theory.",
            )
        )
    table = []
    checks = []
    for i, r in enumerate(rows, 1):
        kind = r.get("kind")
        if kind == "estimate":
            what = f"{_num(r['advantage'], digits=3)} {_interval(r['ci_low'], r['ci_high'])}"
            shown = _nw(what)
            line = commands.run_line(r)
            game = commands.label(r["game"], r.get("params"), "game")
            adversary = commands.label(r["adversary"], r.get("adversary_params"), "adversary")
        elif kind == "check":
            what = f"verdict: {r['verdict']}"
            shown = f'<span class="{_verdict_class(r["verdicts"])}">{_e(what)}</span>'
            line = commands.check_line(r)
            game = "check " + " ".join(
                [r["proof"], *[f"{k}={v}" for k, v in (r.get("overrides") or {}).items()]]
            )
            adversary = commands.label(r["adversary"], r.get("adversary_params"), "adversary")
            checks.append((i, r))
        else:
            what, line = r.get("skipped", "skipped"), None
            shown = _e(what)
            game, adversary = r.get("game", ""), r.get("adversary", "")
        ok = r.get("agrees")
        cells = [
            str(i),
            _e(game),
            _e(adversary),
            shown,
            _e(f"{r['expect']}: {r['why']}" if r.get("why") else r.get("expect", "—")),
            '<b class="good">yes</b>'
            if ok
            else ("skip" if ok is None else '<b class="bad">NO</b>'),
        ]
        table.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        if line:  # the command that reproduces the row, under it
            table.append(
                f'<tr class="cmdrow"><td></td><td colspan="5"><code>{_e(line)}</code></td></tr>'
            )
    header = ["#", "game", "adversary", "advantage [interval] or verdict", "theory", "ok"]
    body.append(
        '<table class="data tour"><thead><tr>'
        + "".join(f"<th>{_e(h)}</th>" for h in header)
        + f"</tr></thead><tbody>{''.join(table)}</tbody></table>"
        + '<p class="note">Under each row: the command that reproduces it.</p>'
    )
    for i, r in checks:
        body.append(
            f'<details class="check"><summary>row {i}: check {_e(r["proof"])} with '
            f'{_e(r["adversary"])} — <span class="{_verdict_class(r["verdicts"])}">{_e(r["verdict"])}</span>'
            f"</summary>{check_tree(r)}</details>"
        )
    body.append(page.reproduce(item))
    page.sections.append((f"s{n}", "Tour", "".join(body)))


# -- the page -------------------------------------------------------------------------------

CSS = """
:root { --good: #2e8540; --bad: #c0392b; --warn: #b7791f; --ink: #1d2330; --muted: #5b6270; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  max-width: 1100px; margin: 0 auto; padding: 1.5rem; background: #fff; }
h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
h2 { border-bottom: 2px solid #e3e6ea; padding-bottom: .2rem; margin-top: 2.2rem; }
h4 { margin: 1rem 0 .3rem; }
code, pre { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre.cmd { background: #f4f6f8; border-left: 3px solid #1f5fa8; padding: .45rem .7rem;
  margin: .3rem 0; white-space: pre-wrap; word-break: break-word; }
.meta, .note { color: var(--muted); font-size: .9rem; }
.good { color: var(--good); } .bad { color: var(--bad); } .warn { color: var(--warn); }
p.verdict { font-weight: 600; font-size: 1.1rem; padding: .5rem .8rem; border-radius: 4px;
  border: 1px solid currentColor; display: inline-block; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
table.data th, table.data td { border-bottom: 1px solid #e3e6ea; padding: .25rem .55rem;
  text-align: left; vertical-align: top; }
table.data thead th { background: #f4f6f8; }
table.facts th { text-align: left; padding: .2rem 1rem .2rem 0; vertical-align: top; white-space: nowrap; }
table.facts td { padding: .2rem 0; }
nav ul { columns: 2; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.4rem; }
ul.tree { padding-left: 0; }
li.node { border-left: 3px solid #c9ced6; padding: .35rem .7rem; margin: .4rem 0; background: #fafbfc; }
li.node.blamed { border-left-color: var(--bad); background: #fdecea; }
span.role { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
span.bar { display: inline-block; position: relative; width: 160px; height: 10px; background: #e9ecef;
  vertical-align: middle; margin-left: .4rem; border-radius: 2px; }
span.bar .iv { position: absolute; top: 2px; height: 6px; background: #1f5fa8; }
span.bar .iv.bad { background: var(--bad); }
span.bar .pt { position: absolute; top: 0; width: 2px; height: 10px; background: var(--ink); }
span.bar .th { position: absolute; top: -2px; width: 2px; height: 14px; background: #d9822b; }
details.check { margin: .4rem 0; } details.check summary { cursor: pointer; }
.reproduce { margin-top: .8rem; }
table.tour tr:not(.cmdrow) td { border-bottom: none; padding-bottom: 0; }
table.tour tr.cmdrow td { color: var(--muted); padding-top: 0; font-size: .8rem; }
p.cmdnote { margin: .6rem 0 0; }
.nw { white-space: nowrap; }
"""


def build(inputs: Sequence[Input], *, command: str | None = None) -> str:
    """The report page for ``inputs`` (in the order given; estimates gathered in one plot).

    Args:
        inputs: what :func:`advantage.inputs.load` returned.
        command: the `advantage report` command line that builds this page, shown at its top.
    """
    page = _Page()
    estimates = [item for item in inputs if item.kind in ESTIMATE_KINDS]
    if estimates:
        _estimates_section(page, estimates)
    builders = {
        "certify": _certify_section,
        "sweep": _sweep_section,
        "audit": _audit_section,
        "one-run-audit": _one_run_section,
        "check": _check_section,
        "tour": _tour_section,
    }
    for n, item in enumerate(inputs, 1):
        if item.kind in builders:
            builders[item.kind](page, item, n)
    listing = _table(
        ["file", "kind", "written by", "seed", "command"],
        [
            [
                f"<code>{_e(item.path)}</code>",
                _e(item.kind),
                _e(f"advantage {item.version}" if item.version else "not recorded"),
                _e(_seed(item.data)),
                f"<code>{_e(item.command)}</code>" if item.command else "—",
            ]
            for item in inputs
        ],
    )
    nav = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in page.sections)
    sections = "".join(
        f'<section id="{sid}"><h2>{_e(title)}</h2>{body}</section>'
        for sid, title, body in page.sections
    )
    made = f'<p class="meta">made by advantage {_e(version())}'
    made += f" with</p>{_code(command)}" if command else "</p>"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing on the page is fetched: no scripts, styles or images from anywhere else.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>advantage report</title><style>{CSS}</style></head><body>"
        f"<header><h1>advantage report</h1>{made}"
        f"<h4>Inputs</h4>{listing}<nav><ul>{nav}</ul></nav></header>"
        f"<main>{sections}</main></body></html>\n"
    )
