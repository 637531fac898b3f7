"""The pieces every section of the report page is made of: escaped text, numbers,
intervals, tables, figures, and the commands that reproduce an input.

The page is written with the standard library's escaping rather than a template engine:
it is a handful of fixed sections, and one escaping helper (:func:`esc`) on every value
keeps it safe.
"""

from __future__ import annotations

import base64
import html
import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from advantage import commands
from advantage.common import command_line
from advantage.inputs import Input
from games.stats.intervals import percent

__all__ = [
    "Page",
    "command_html",
    "derived_command",
    "described",
    "esc",
    "fact_table",
    "figure_html",
    "html_table",
    "interval_text",
    "meta",
    "nowrap",
    "num",
    "params_text",
    "pct",
    "seed_of",
    "subject_label",
]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any, sign: bool = True, digits: int = 4) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if math.isnan(value):
        return "nan"
    if value != 0 and abs(value) < 10 ** -(digits - 1):
        return f"{value:+.3g}" if sign else f"{value:.3g}"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def interval_text(low: Any, high: Any, sign: bool = True) -> str:
    return f"[{num(low, sign)}, {num(high, sign)}]"


def nowrap(text: str) -> str:
    """Escaped text that does not wrap (an interval reads as one token)."""
    return f'<span class="nw">{esc(text)}</span>'


def pct(level: Any) -> str:
    if not isinstance(level, int | float):
        return "?"
    return percent(level)


def figure_html(svg: str, alt: str, caption: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{esc(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def fact_table(rows: Iterable[tuple[str, str]], cls: str = "facts") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def html_table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "data") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def command_html(line: str | None, note: str = "") -> str:
    """A command line to copy, after a note saying what it makes."""
    if not line:
        text = note or "no command: the game or adversary is not registered by name"
        return f'<p class="note">{esc(text)}</p>'
    label = f'<p class="note cmdnote">{esc(note)}:</p>' if note else ""
    return f'{label}<pre class="cmd"><code>{esc(line)}</code></pre>'


def params_text(params: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


def described(name: Any, params: Mapping[str, Any] | None) -> str:
    """A name with every parameter, as recorded: ``otp (n=16, key_reuse=False)``."""
    inner = params_text(params)
    return f"{name} ({inner})" if inner else str(name)


def subject_label(record: Mapping[str, Any], between: str) -> str:
    """``ADVERSARY vs GAME`` (``between`` joining them), each with the parameters that
    differ from their defaults."""
    adversary = commands.label(record["adversary"], record.get("adversary_params"), "adversary")
    return f"{adversary}{between}{commands.label(record['game'], record.get('params'), 'game')}"


def seed_of(data: Mapping[str, Any]) -> str:
    """An input's seed, or a tour's (each row records its own)."""
    if "seed" in data:
        return str(data["seed"])
    seeds = sorted({str(r["seed"]) for r in data.get("rows", ()) if "seed" in r})
    return ", ".join(seeds) or "—"


class Page:
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
            parts.append(_resume_html(item))
            parts.append(
                command_html(command_line(["show", item.path]), "the estimate, from the log alone")
            )
        elif recorded:
            parts.append(
                command_html(f"{recorded} > {shlex.quote(item.path)}", "as recorded in the output")
            )
        else:
            derived = derived_command(item)
            parts.append(
                command_html(
                    f"{derived} --json > {shlex.quote(item.path)}" if derived else None,
                    "derived from the record: this output does not record its command"
                    if derived
                    else "the output records no command, and none can be derived from it",
                )
            )
        if figure:
            parts.append(
                command_html(self.report_line([item.path]), "this section, from that file")
            )
        return '<div class="reproduce"><h4>Reproduce</h4>' + "".join(parts) + "</div>"


def _resume_html(item: Input) -> str:
    """The run that continues (or, once complete, reads back) the log, from its spec line:
    the log's planned trials, its chunk size and path, and --resume, without which a run
    refuses to write over the log."""
    spec, logged = item.data["spec"], item.data["trials"]
    record = {**item.data, "trials": spec["trials"], "chunk_size": spec.get("chunk_size")}
    line = commands.run_line(record, log=item.path, resume=True, batched=spec.get("batched"))
    if logged < spec["trials"]:
        note = f"{logged} of {spec['trials']} trials logged: the run that continues the log"
    else:
        note = "the run that wrote the log (with --resume it reads the finished log back)"
    return command_html(line, f"{note}, derived from its spec line")


def derived_command(item: Input) -> str | None:
    data = item.data
    if item.kind == "run":
        return commands.run_line(data)
    if item.kind == "certify":
        return commands.certify_line(data)
    if item.kind == "check":
        return commands.check_line(data)
    return None


def meta(item: Input, *, seed: Any, trials: Any, intervals: str) -> str:
    written = f"advantage {item.version}" if item.version else "a version it does not record"
    return (
        f'<p class="meta">from <code>{esc(item.path)}</code> · written by {esc(written)} · '
        f"seed {esc(seed)} · trials {esc(trials)} · {intervals}</p>"
    )
