"""`advantage report`: run logs and `--json` outputs as one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from advantage.common import command_line, console, subcommand
from oracles import InvalidArgument

__all__ = ["add", "write_report"]

DESCRIPTION = """\
Turn run logs and the --json outputs of run, certify, sweep, check, audit and tour into one
HTML page that needs nothing else to be viewed (inline styles, figures drawn into the page,
no network): estimates as a forest plot, certify's confidence sequence, a sweep's fit and
band, an audit's ROC curve with its ε lower bound next to the claimed ε, and a check as a
tree with the blamed part marked. Each section names the package version, seed, trials and
the commands that reproduce it. Each input's kind is read from its content; any other file
is refused (exit status 2).

Example: advantage certify otp --adversary guess --eps 0.1 --json > certify.json
         advantage report certify.json run.jsonl -o report.html"""


def add(sub: argparse._SubParsersAction) -> None:
    help = "turn run logs and --json outputs into one self-contained HTML page"
    parser = subcommand(sub, "report", help, DESCRIPTION)
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="a run log or a --json output (repeatable)"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT.html", help="where to write the page"
    )
    parser.set_defaults(handler=report_command)


def write_report(inputs: list[str], output: str | Path, *, command: str | None = None) -> Path:
    """Read ``inputs``, build the page and write it to ``output``.

    Raises:
        InvalidArgument: an input that is missing or not a run log or --json output.
    """
    from advantage.inputs import load
    from advantage.page import build

    loaded = [load(path) for path in inputs]
    out = Path(output)
    if out.is_dir():
        raise InvalidArgument(f"-o {output}: is a directory; give a file name such as report.html")
    page = build(loaded, command=command)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise InvalidArgument(f"-o {output}: cannot be written ({error.strerror})") from None
    return out


def report_command(args: argparse.Namespace) -> int:
    argv = ["report", *args.inputs, "-o", args.output]
    out = write_report(args.inputs, args.output, command=command_line(argv))
    console.print(f"report of {len(args.inputs)} input(s) written to {out}", soft_wrap=True)
    return 0
