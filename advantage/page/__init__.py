"""One self-contained HTML page from run logs and `--json` outputs (`advantage report`).

:func:`build` takes the inputs :func:`advantage.inputs.load` recognised and returns the
page as text: inline CSS, every figure an SVG image inside the page (a ``data:`` URI drawn
by :mod:`advantage.figures`), no script and nothing fetched when it is viewed. Every
section names the package version that wrote its input, the seed, the trials, the level
and method of its intervals, and the commands that reproduce it. The sections are built
in :mod:`~advantage.page.runs` and :mod:`~advantage.page.checks` from the pieces in
:mod:`~advantage.page.parts`. (No module here is called ``html``: run as a script from its
directory, a module of that name would stand in for the standard library's.)
"""

from __future__ import annotations

from collections.abc import Sequence

from advantage.common import version
from advantage.inputs import Input
from advantage.page.checks import check_section, tour_section
from advantage.page.parts import Page, command_html, esc, html_table, seed_of
from advantage.page.runs import (
    audit_section,
    certify_section,
    estimates_section,
    one_run_section,
    sweep_section,
)

__all__ = ["build"]

ESTIMATE_KINDS = ("run", "run-log", "ensemble")

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
    page = Page()
    estimates = [item for item in inputs if item.kind in ESTIMATE_KINDS]
    if estimates:
        estimates_section(page, estimates)
    builders = {
        "certify": certify_section,
        "sweep": sweep_section,
        "audit": audit_section,
        "one-run-audit": one_run_section,
        "check": check_section,
        "tour": tour_section,
    }
    for n, item in enumerate(inputs, 1):
        if item.kind in builders:
            builders[item.kind](page, item, n)
    listing = html_table(
        ["file", "kind", "written by", "seed", "command"],
        [
            [
                f"<code>{esc(item.path)}</code>",
                esc(item.kind),
                esc(f"advantage {item.version}" if item.version else "not recorded"),
                esc(seed_of(item.data)),
                f"<code>{esc(item.command)}</code>" if item.command else "—",
            ]
            for item in inputs
        ],
    )
    nav = "".join(f'<li><a href="#{sid}">{esc(title)}</a></li>' for sid, title, _ in page.sections)
    sections = "".join(
        f'<section id="{sid}"><h2>{esc(title)}</h2>{body}</section>'
        for sid, title, body in page.sections
    )
    made = f'<p class="meta">made by advantage {esc(version())}'
    made += f" with</p>{command_html(command)}" if command else "</p>"
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
