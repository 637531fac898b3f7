"""`advantage check` (a proof, symbolically and against an adversary) and `advantage explain`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.markup import escape
from rich.table import Table

from advantage.common import (
    add_run_options,
    console,
    engine_options,
    make_adversary,
    pairs,
    print_json,
    progress,
    subcommand,
)
from oracles import InvalidArgument

__all__ = ["add", "empirical_table", "symbolic_json"]


def add(sub: argparse._SubParsersAction) -> None:
    check = subcommand(
        sub,
        "check",
        "check a proof: its bound against its hops (--symbolic), and against an adversary",
        "Check a proof file (a shipped name such as ctr-prf, or a path to a .toml file). "
        "With --adversary, play the theorem's game against ADV and each assumption's game against "
        "the adversary B that the proof's reduction builds from ADV, and say which part failed: "
        "consistent, algorithm (A beats the bound while every assumption holds), assumption:NAME "
        "(B breaks that assumption) or inconclusive (with the trials that would likely decide it). "
        "All intervals hold together at --level (Bonferroni). With --symbolic, prove that the "
        "bound covers the chain of hops. Exit status: 0 consistent or inconclusive (proven or "
        "undecided), 1 when a verdict blames a part (or the bound is refuted), 2 for bad input. "
        "Example: advantage check ctr-prf --adversary nonce-reuse -p scheme=ctr-nonce-reuse",
        handler=check_command,
    )
    add_run_options(
        check,
        subject=("proof", "proof name (a shipped proof, e.g. ctr-prf) or path to a .toml file"),
    )
    check.add_argument(
        "--adversary", help="the adversary A against the theorem's game (empirical check)"
    )
    check.add_argument(
        "--symbolic", action="store_true", help="check that the bound covers the chain of hops"
    )

    explain = subcommand(
        sub,
        "explain",
        "print a proof as a tree: theorem, hops, assumptions, domain",
        "Print a proof file as a person reads it: the theorem and its bound, the chain "
        "of hops with their justification, each assumption with its claim and reduction, and the "
        "domain of the resources. As text (a tree), Markdown or LaTeX.",
        handler=explain_command,
    )
    explain.add_argument(
        "proof", help="proof name (a shipped proof, e.g. ctr-prf) or path to a .toml file"
    )
    explain.add_argument(
        "--format",
        default="text",
        choices=("text", "markdown", "latex"),
        help="output format (default: text)",
    )


def check_command(args: argparse.Namespace) -> int:
    import proofs

    proof = proofs.load(args.proof)  # first: a mistyped name is the first thing to hear about
    if not args.adversary and not args.symbolic:
        raise InvalidArgument(
            "give --adversary ADV for the empirical check, --symbolic for the symbolic one, or both"
        )
    if not args.adversary and (args.param or args.adv_param):
        raise InvalidArgument(
            "-p and -a set the parameters of an empirical check: give --adversary too"
        )
    output: dict[str, Any] = {"proof": proof.name}
    status = 0
    symbolic = None
    if args.symbolic:
        symbolic = proofs.check_symbolic(proof)
        status = max(status, int(symbolic.status == "refuted"))
        output["symbolic"] = symbolic.to_json()
        if not args.json:
            show_symbolic(symbolic)
    if args.adversary:
        adversary = make_adversary(args.adversary, pairs(args.adv_param, "-a"), proof.theorem.game)
        with progress(args.json, f"check {proof.name}") as update:
            report = proofs.check_empirical(
                proof,
                adversary,
                params=pairs(args.param, "-p"),
                trials=args.trials,
                seed=args.seed,
                level=args.level,
                progress=update,
                method=args.method,
                **engine_options(args),
            )
        status = max(status, int(report.blames))
        if args.json:
            output.update(report.to_json())
        else:
            if symbolic is not None:
                console.print()
            show_empirical(report)
    if args.json:
        if args.proof != proof.name:  # a file of the user's: its path finds it again
            output["proof_path"] = args.proof
        print_json(output)
    return status


def symbolic_json(report: Any) -> dict[str, Any]:
    """A symbolic report as plain JSON values: ``report.to_json()`` (kept for old imports)."""
    return report.to_json()


def show_symbolic(report: Any) -> None:
    colour = {"proven": "green", "refuted": "red"}.get(report.status, "yellow")
    how = f" ({report.method})" if report.method else ""
    console.print(
        f"[bold]symbolic check of {escape(report.proof)}:[/] [bold {colour}]{report.status}[/]{how}"
    )
    lines = str(report).splitlines()[1:]
    console.print(escape("\n".join(lines)), soft_wrap=True)


def _num(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"


def _short(text: str) -> str:
    """A hop's game by its label (``G0`` of ``G0: real CTR``), or the text itself."""
    label, sep, _ = text.partition(":")
    return label.strip() if sep and label.strip() else text


def empirical_table(report: Any) -> Table:
    """A person-readable table of every interval of an empirical check."""
    params = ", ".join(f"{k}={v}" for k, v in report.params.items())
    table = Table(
        title=f"{report.proof}: A = {report.adversary} against {report.theorem.game} ({params}); "
        f"{report.trials} trials each, seed {report.seed}",
        title_justify="left",
    )
    table.add_column("what", overflow="fold", min_width=14)
    table.add_column("estimate", justify="right", no_wrap=True)
    table.add_column("interval", no_wrap=True)
    table.add_column("claim / bound", overflow="fold", min_width=11)
    table.add_column("violated?", no_wrap=True)

    def flag(violated: bool | None) -> str:
        if violated is None:
            return "—"
        return "[bold red]yes[/]" if violated else "[green]no[/]"

    for row in report.rows():
        if row["role"] == "theorem":
            what, threshold, violated = f"Adv_{row['game']}(A)", row["threshold"], row["violated"]
        elif row["role"] == "assumption":
            what, threshold, violated = row["what"], row["threshold"], row["violated"]
        else:
            what, threshold, violated = f"Adv_{row['game']}(A) in {_short(row['name'])}", None, None
        table.add_row(
            escape(what),
            f"{row['estimate']:+.4f}",
            escape(f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"),
            "—" if threshold is None else f"≤ {_num(threshold)}",
            flag(violated),
        )
    for hop in report.hops:
        kind = hop.by.split(" ", 1)[0]
        ends = f"{_short(hop.source)} → {_short(hop.target)} [{kind}]"
        allows = f"≤ {_num(hop.allowance)}"
        if hop.measured:
            table.add_row(
                escape(f"hop {hop.index} gap {ends}"),
                f"{hop.gap:.4f}",
                escape(f"[{hop.gap_low:.4f}, {hop.gap_high:.4f}]"),
                allows,
                flag(hop.violated),
            )
        else:
            table.add_row(escape(f"hop {hop.index} {ends}"), "—", "not measured", allows, "—")
    return table


def show_empirical(report: Any) -> None:
    console.print(empirical_table(report))
    resources = ", ".join(f"{k}={v}" for k, v in report.resources.items())
    console.print(
        escape(
            f"bound: {report.bound_text}, at {resources or 'no resources'} and the upper ends of "
            "the assumption advantages"
        ),
        soft_wrap=True,
    )
    unmeasured: dict[str, list[str]] = {}  # why a hop is not measured -> the hops
    for hop in report.hops:
        if not hop.measured:
            unmeasured.setdefault(hop.reason, []).append(str(hop.index))
    if unmeasured:
        why = "; ".join(f"{', '.join(hops)} ({reason})" for reason, hops in unmeasured.items())
        console.print(escape(f"hops not measured: {why}"), soft_wrap=True)
    for reason in report.reasons:
        console.print(escape(reason), soft_wrap=True)
    colour = (
        "green"
        if report.verdicts == ("consistent",)
        else ("yellow" if report.verdicts == ("inconclusive",) else "red")
    )
    console.print(f"[bold]verdict: [{colour}]{escape(report.verdict)}[/][/]")
    if report.trials_needed is not None:
        console.print(f"rerun with --trials {report.trials_needed} to decide it")
    console.print(
        escape(report.correction[0].upper() + report.correction[1:] + "."), soft_wrap=True
    )


def explain_command(args: argparse.Namespace) -> int:
    import proofs

    proof = proofs.load(args.proof)
    width = max(40, min(console.width, 120))
    text = (
        proofs.explain(proof, args.format, width=width)
        if args.format == "text"
        else proofs.explain(proof, args.format)
    )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
