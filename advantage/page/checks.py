"""The report's sections of proofs: a check as a tree with the blamed part marked, and the
tour with its forest plot and the check rows' trees."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from advantage import commands, figures
from advantage.common import command_line
from advantage.inputs import Input
from advantage.page.parts import (
    Page,
    command_html,
    esc,
    fact_table,
    figure_html,
    interval_text,
    meta,
    nowrap,
    num,
    params_text,
    pct,
    seed_of,
)
from advantage.page.runs import intervals_named

__all__ = ["check_section", "check_tree", "tour_section", "verdict_class"]

# -- check ----------------------------------------------------------------------------------


def verdict_class(verdicts: Sequence[str]) -> str:
    if list(verdicts) == ["consistent"]:
        return "good"
    if list(verdicts) == ["inconclusive"]:
        return "warn"
    return "bad"


def bar(low: float, high: float, estimate: float | None, threshold: float | None, bad: bool) -> str:
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


def _flag(row: Mapping[str, Any], word: str) -> str:
    return f' <b class="bad">{word}</b>' if row.get("violated") else ""


def _node(kind: str, blamed: bool, role: str, body: str) -> str:
    """An opening tree node: its kind, marked when blamed, its role, and its body."""
    cls = f"node {kind}" + (" blamed" if blamed else "")
    return f'<li class="{cls}"><span class="role">{role}</span> {body}'


def _theorem_node(d: Mapping[str, Any], theorem: Mapping[str, Any], blamed: bool) -> str:
    bound = d.get("bound", {})
    body = (
        f"<b>{esc(d['proof'])}</b>: {esc(theorem['what'])} on {esc(theorem['game'])} "
        f"({esc(params_text(theorem.get('params')))})<br>measured {esc(num(theorem['estimate']))} "
        f"{esc(interval_text(theorem['ci_low'], theorem['ci_high']))} "
        f"({pct(theorem.get('level'))} {esc(theorem.get('method'))}, {theorem.get('trials')} "
        f"trials) {_row_bar(theorem)}<br>bound {esc(bound.get('text', ''))} = "
        f"{esc(num(bound.get('value'), False))} at the upper ends of the assumption advantages"
    )
    return _node("theorem", blamed, "theorem", body) + _flag(theorem, "violated")


def _row_bar(row: Mapping[str, Any]) -> str:
    return bar(
        row["ci_low"],
        row["ci_high"],
        row["estimate"],
        row.get("threshold"),
        bool(row.get("violated")),
    )


def _assumption_node(row: Mapping[str, Any], blamed: bool) -> str:
    body = (
        f"<b>{esc(row['name'])}</b>: {esc(row.get('threshold_text', ''))} = "
        f"{esc(num(row.get('threshold'), False))}<br>B = {esc(row.get('adversary'))} built by "
        f"{esc(row.get('reduction', 'the reduction'))}: {esc(row['what'])} measured "
        f"{esc(num(row['estimate']))} {esc(interval_text(row['ci_low'], row['ci_high']))} "
        f"({pct(row.get('level'))} {esc(row.get('method'))}) {_row_bar(row)}"
    )
    return _node("assumption", blamed, "assumption", body) + _flag(row, "broken") + "</li>"


def _hop_node(hop: Mapping[str, Any], blamed: bool) -> str:
    if hop.get("measured"):
        drawn = bar(hop["gap_low"], hop["gap_high"], hop["gap"], hop.get("allowance"),
                    bool(hop.get("violated")))  # fmt: skip
        gap = (
            f"gap measured {esc(num(hop['gap'], False))} "
            f"{esc(interval_text(hop['gap_low'], hop['gap_high'], False))} {drawn}"
        )
    else:
        gap = f'<span class="note">not measured: {esc(hop.get("reason", ""))}</span>'
    body = (
        f"{esc(hop['from'])} → {esc(hop['to'])} by {esc(hop['by'])}, allowed ≤ "
        f"{esc(num(hop.get('allowance'), False))}<br>{gap}"
    )
    return _node("hop", blamed, f"hop {hop['index']}", body) + _flag(hop, "violated") + "</li>"


def _hop_game_node(row: Mapping[str, Any]) -> str:
    body = f"{esc(row['what'])}: {esc(num(row['estimate']))} {esc(interval_text(row['ci_low'], row['ci_high']))}"
    return _node("hopgame", False, "hop game", body) + "</li>"


def _symbolic(symbolic: Mapping[str, Any]) -> str:
    cls = {"proven": "good", "refuted": "bad"}.get(str(symbolic.get("status")), "warn")
    how = f" ({esc(symbolic['method'])})" if symbolic.get("method") else ""
    facts = [
        ("claimed bound", esc(symbolic.get("claimed", ""))),
        ("chain of hops", esc(symbolic.get("chain", ""))),
        ("detail", esc(symbolic.get("detail", "") or "—")),
    ]
    verdict = f'<p class="verdict {cls}">symbolic check: {esc(symbolic.get("status"))}{how}</p>'
    return verdict + fact_table(facts)


def check_tree(d: Mapping[str, Any]) -> str:
    """A check's JSON as a tree: the theorem, its assumptions (claim and measured interval)
    and its hops (measured gap and allowance), the blamed part marked, then the reasons."""
    verdicts = d.get("verdicts") or []
    blamed_assumptions = {v.split(":", 1)[1] for v in verdicts if v.startswith("assumption:")}
    blamed_hops = set(d.get("blamed_hops") or [])
    intervals = d.get("intervals") or []
    theorem = next((r for r in intervals if r.get("role") == "theorem"), None)
    out = []
    if theorem is not None:
        blame_theorem = "algorithm" in verdicts and not blamed_hops
        out += ['<ul class="tree">', _theorem_node(d, theorem, blame_theorem), "<ul>"]
        out += [
            _assumption_node(row, row.get("name") in blamed_assumptions)
            for row in intervals
            if row.get("role") == "assumption"
        ]
        out += [_hop_node(hop, hop["index"] in blamed_hops) for hop in d.get("hops") or []]
        out += [_hop_game_node(row) for row in intervals if row.get("role") == "hop-game"]
        out.append("</ul></li></ul>")
    if d.get("reasons"):
        reasons = "".join(f"<li>{esc(r)}</li>" for r in d["reasons"])
        out.append(f'<ul class="reasons">{reasons}</ul>')
    if d.get("trials_needed"):
        out.append(
            f'<p class="warn">rerun with --trials {esc(d["trials_needed"])} to decide it</p>'
        )
    if d.get("symbolic"):
        out.append(_symbolic(d["symbolic"]))
    return "".join(out)


def proof_argument(d: Mapping[str, Any]) -> str:
    """How a check's output names its proof on a command line: the path of a user's file,
    else the shipped proof's name. Outputs written before ``proof_path`` was recorded give
    the path only in their command, as the argument whose stem is the proof's name."""
    if d.get("proof_path"):
        return str(d["proof_path"])
    name = str(d["proof"])
    try:
        argv = shlex.split(str(d.get("command") or ""))
    except ValueError:
        return name
    if argv[:2] != ["advantage", "check"]:
        return name
    named = (a for a in argv[2:] if not a.startswith("-") and PurePath(a).stem == name)
    return next(named, name)


def check_section(page: Page, item: Input, n: int) -> None:
    d = item.data
    body = []
    if d.get("verdicts"):
        body.append(
            f'<p class="verdict {verdict_class(d["verdicts"])}">verdict: {esc(d["verdict"])}</p>'
        )
        body.append(
            meta(
                item,
                seed=d.get("seed"),
                trials=f"{d.get('trials')} per game",
                intervals=esc(
                    f"every interval at {pct(d.get('interval_level'))} {d.get('method')}, so "
                    f"all {d.get('intervals_count')} hold together at {pct(d.get('level'))} ({d.get('correction')})"
                ),
            )
        )
    body.append(check_tree(d))
    lines = [page.reproduce(item, figure=True)]
    proof = proof_argument(d)
    lines.append(command_html(command_line(["explain", proof]), "the proof, as text"))
    if not d.get("symbolic"):
        lines.append(
            command_html(command_line(["check", proof, "--symbolic"]), "its bound against its hops")
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


def _tour_forest(rows: Sequence[Mapping[str, Any]]) -> str:
    """The tour's estimates, numbered as in its table, with theory's value where it is one."""
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
        for i, r in enumerate(rows, 1)
        if r.get("kind") == "estimate"
    ]
    named = intervals_named([r for r in rows if r.get("kind") == "estimate"])
    caption = (
        f"The tour's estimates ({esc(named)}) with theory's value (diamond) where it is a "
        "number; red: the row disagrees with theory."
    )
    figure = figures.forest_figure(forest, interval=named)
    return figure_html(figure, "forest plot of the tour's estimates", caption)


def _tour_cells(r: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    """A tour row's game, adversary, measurement (as HTML) and reproducing command."""
    adversary = commands.label(r.get("adversary", ""), r.get("adversary_params"), "adversary")
    if r.get("kind") == "estimate":
        what = f"{num(r['advantage'], digits=3)} {interval_text(r['ci_low'], r['ci_high'])}"
        game = commands.label(r["game"], r.get("params"), "game")
        return game, adversary, nowrap(what), commands.run_line(r)
    if r.get("kind") == "check":
        overrides = [f"{k}={v}" for k, v in (r.get("overrides") or {}).items()]
        shown = (
            f'<span class="{verdict_class(r["verdicts"])}">{esc("verdict: " + r["verdict"])}</span>'
        )
        return " ".join(["check", r["proof"], *overrides]), adversary, shown, commands.check_line(r)
    return r.get("game", ""), r.get("adversary", ""), esc(r.get("skipped", "skipped")), None


def _tour_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line a row, and the command that reproduces it under it."""
    ok = {True: '<b class="good">yes</b>', False: '<b class="bad">NO</b>', None: "skip"}
    lines = []
    for i, r in enumerate(rows, 1):
        game, adversary, shown, line = _tour_cells(r)
        theory = f"{r['expect']}: {r['why']}" if r.get("why") else r.get("expect", "—")
        cells = [str(i), esc(game), esc(adversary), shown, esc(theory), ok[r.get("agrees")]]
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        if line:
            lines.append(
                f'<tr class="cmdrow"><td></td><td colspan="5"><code>{esc(line)}</code></td></tr>'
            )
    header = ["#", "game", "adversary", "advantage [interval] or verdict", "theory", "ok"]
    return (
        '<table class="data tour"><thead><tr>'
        + "".join(f"<th>{esc(h)}</th>" for h in header)
        + f"</tr></thead><tbody>{''.join(lines)}</tbody></table>"
        + '<p class="note">Under each row: the command that reproduces it.</p>'
    )


def tour_section(page: Page, item: Input, n: int) -> None:
    """The tour: whether every row agrees, its forest plot, its table, each check's tree."""
    d = item.data
    rows = d["rows"]
    together = (
        f"every row at {pct(d['level'])} Clopper-Pearson, so the {len(rows)} rows hold together "
        f"at {pct(d['family_level'])} (Bonferroni)"
    )
    disagree = d.get("disagreements", 0)
    verdict = (
        f"{disagree} row(s) disagree with theory" if disagree else "every row agrees with theory"
    )
    body = [
        meta(item, seed=seed_of(d), trials="per row (see the table)", intervals=esc(together)),
        f'<p class="verdict {"bad" if disagree else "good"}">{esc(verdict)}</p>',
    ]
    if any(r.get("kind") == "estimate" for r in rows):
        body.append(_tour_forest(rows))
    body.append(_tour_table(rows))
    for i, r in enumerate(rows, 1):
        if r.get("kind") == "check":
            cls = verdict_class(r["verdicts"])
            body.append(
                f'<details class="check"><summary>row {i}: check {esc(r["proof"])} with '
                f'{esc(r["adversary"])} — <span class="{cls}">{esc(r["verdict"])}</span>'
                f"</summary>{check_tree(r)}</details>"
            )
    body.append(page.reproduce(item))
    page.sections.append((f"s{n}", "Tour", "".join(body)))
