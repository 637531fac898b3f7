"""What every command shares: finding games and adversaries (and the user's own, through
--import), progress, tables and JSON."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderHook, RenderResult
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from advantage.layout import Paragraphs
from games.engine import Estimate
from games.registry import ADVERSARIES, GAMES, coerce
from games.stats.intervals import percent
from oracles import InvalidArgument

__all__ = [
    "BAR_AFTER",
    "IMPORT_VARIABLE",
    "PLAIN_EVERY",
    "PlainProgress",
    "add_adversary_option",
    "add_import_option",
    "add_run_options",
    "command_line",
    "console",
    "estimate_table",
    "import_requested",
    "inline_game_params",
    "invoked",
    "make_adversary",
    "make_game",
    "pairs",
    "play_options",
    "print_json",
    "progress",
    "provenance",
    "split_spec",
    "subject",
    "subcommand",
    "version",
]


class _Trimmed:
    """A renderable as rich renders it, less the spaces that end its lines.

    Rich pads every cell of a grid to its column's width, so a short value (or a wrapped
    line) ends in spaces; piped into a file or a CI log they are trailing whitespace.
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rendered = console.render(self.renderable, options)
        for line, ends in Segment.split_lines_terminator(rendered):
            while line and not line[-1].control and not line[-1].text.rstrip(" "):
                line.pop()
            if line and not line[-1].control:
                text, style, _ = line[-1]
                line[-1] = Segment(text.rstrip(" "), style)
            yield from line
            if ends:
                yield Segment.line()


class _Trim(RenderHook):
    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [_Trimmed(renderable) for renderable in renderables]


def _trimming(console: Console) -> Console:
    """``console``, printing every line without the spaces that pad it at its right end."""
    console.push_render_hook(_Trim())
    return console


console = _trimming(Console(highlight=False))
stderr = _trimming(Console(stderr=True, highlight=False))


def subcommand(
    sub: argparse._SubParsersAction,
    name: str,
    help: str,
    description: str,
    *,
    handler: Callable[[argparse.Namespace], int] | None = None,
    json_output: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand run by ``handler``, with ``--json`` when ``json_output``.

    Its ``--help`` wraps the ``description`` at the terminal's width, keeping its
    paragraphs and the indented lines of its examples.
    """
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description, formatter_class=Paragraphs
    )
    if json_output:
        add_json_option(parser)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: print one JSON object on stdout instead of the table."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def pairs(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a malformed item is refused with the flag named."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"{flag} {item!r} must look like key=value")
        out[key.strip()] = value.strip()
    return out


#: Modules or files to import before names are resolved, separated by os.pathsep.
IMPORT_VARIABLE = "ADVANTAGE_IMPORT"


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """``--import MODULE_OR_FILE.py`` (repeatable), for commands that resolve names."""
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        metavar="MODULE_OR_FILE.py",
        help="import your own module (my_package.games) or file (my_game.py) first, so that "
        "its games, adversaries and reductions can be named (repeatable; also "
        f"${IMPORT_VARIABLE}, separated by '{os.pathsep}')",
    )


def import_requested(args: argparse.Namespace) -> list[Any]:
    """Import what ``$ADVANTAGE_IMPORT`` and ``--import`` name, in that order.

    Raises:
        InvalidArgument: no such module or file, or importing it raised (the message
            says where in the file).
    """
    specs = [part for part in os.environ.get(IMPORT_VARIABLE, "").split(os.pathsep) if part.strip()]
    specs += getattr(args, "imports", None) or []
    if not specs:
        return []
    from proofs.resolve import import_user  # only then: proofs imports sympy

    return [import_user(spec) for spec in specs]


def make_game(name: str, params: dict[str, str]) -> Any:
    cls = GAMES.get(name)
    return cls(**coerce(cls, params, what=f"parameter of game {name}"))


def split_spec(text: str, flag: str = "--adversary") -> tuple[str, dict[str, str]]:
    """``"birthday:q=16,x=1"`` as ``("birthday", {"q": "16", "x": "1"})``; ``flag`` names
    where it was written, for the error on a malformed item."""
    name, _, rest = text.partition(":")
    items = [item for item in rest.split(",") if item.strip()] if rest else []
    return name.strip(), pairs(items, f"{flag} {name}:".lstrip())


def inline_game_params(args: argparse.Namespace) -> None:
    """``GAME:k=v,...`` as ``GAME -p k=v ...``, in place (the inline values win, as an
    adversary's own do over -a), so that every command reads a game's name and parameters
    in one way."""
    game = getattr(args, "game", None)
    if isinstance(game, str) and ":" in game:
        args.game, inline = split_spec(game, "")
        args.param = [*(args.param or []), *(f"{k}={v}" for k, v in inline.items())]


def make_adversary(spec: str, params: dict[str, str], game: str | None = None) -> Any:
    """The adversary ``spec`` names (``NAME`` or ``NAME:k=v,...``, whose own parameters win
    over ``params``), checked to be written for ``game``."""
    name, inline = split_spec(spec)
    entry = ADVERSARIES.entry(name)
    if game is not None and entry.games and game not in entry.games:
        fits = [e.name for e in ADVERSARIES.entries() if not e.games or game in e.games]
        raise InvalidArgument(
            f"adversary {name!r} is written for {', '.join(entry.games)}, not {game!r}; "
            f"adversaries for {game}: {', '.join(fits)}"
        )
    cls = entry.load()
    return cls(**coerce(cls, {**params, **inline}, what=f"parameter of adversary {name}"))


def subject(args: argparse.Namespace) -> tuple[Any, Any]:
    """The game and the adversary a command names (``GAME -p ... --adversary A -a ...``)."""
    game = make_game(args.game, pairs(args.param, "-p"))
    return game, make_adversary(args.adversary, pairs(args.adv_param, "-a"), args.game)


#: The positional argument of the commands that play a game, and its help.
GAME = (
    "game",
    "game name (see `advantage list games`), optionally with its parameters as NAME:K=V,... "
    "(the same as -p K=V)",
)


def add_run_options(
    parser: argparse.ArgumentParser,
    *,
    trials: int | None = 1000,
    subject: tuple[str, str] = GAME,
    interval: bool = True,
) -> None:
    """The options of every command that plays a game.

    ``subject`` is the positional argument's name and help (a game for `run`, a proof for
    `check`); ``interval`` adds --level and --method (commands that report an interval).
    """
    parser.add_argument(subject[0], help=subject[1])
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="set a game parameter (repeatable)",
    )
    parser.add_argument(
        "-a",
        "--adv-param",
        action="append",
        metavar="KEY=VALUE",
        help="set an adversary parameter (repeatable)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the run's seed (default: 128 random bits, shown with the result; an adversary "
        "that could guess the seed could compute the challenger's coins)",
    )
    if interval:
        parser.add_argument(
            "--level", type=float, default=0.95, help="confidence level (default: 0.95)"
        )
        parser.add_argument(
            "--method",
            default="clopper-pearson",
            help="interval: clopper-pearson (default), wilson, hoeffding",
        )
    add_json_option(parser)
    if trials is not None:
        parser.add_argument(
            "--trials", type=int, default=trials, help=f"trials to play (default: {trials})"
        )
    engine = parser.add_argument_group("engine")
    engine.add_argument("--backend", default="serial", help="serial (default), process or ray")
    engine.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: all cores)"
    )
    engine.add_argument("--chunk-size", type=int, default=None, help="trials per unit of work")
    engine.add_argument("--address", default=None, help="Ray cluster to join: auto or HOST:PORT")
    engine.add_argument(
        "--batched",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force (or forbid) the batched path; by default it is used when both sides offer it",
    )
    engine.add_argument(
        "--isolate",
        action="store_true",
        help="run the adversary in a separate process that sees only oracle messages",
    )
    engine.add_argument(
        "--trial-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds an adversary may take for one trial; over it the trial is its loss "
        "(with --isolate its process is ended; in-process it is interrupted)",
    )
    engine.add_argument(
        "--device",
        default=None,
        help="torch device for ML games: cpu or cuda (default: cuda if present)",
    )


def add_adversary_option(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """``--adversary NAME[:K=V,...]``: required, once (or repeatable, with ``several``)."""
    also = (
        "; repeat it to play several on the same trials and report the ensemble's worst case "
        "(-a then sets a parameter of every adversary that has it)"
        if several
        else ""
    )
    parser.add_argument(
        "--adversary",
        required=True,
        action="append" if several else "store",
        metavar="NAME[:K=V,...]",
        help="adversary name (see `advantage list adversaries`), optionally with its own "
        f"parameters{also}",
    )


def output_path(text: str, flag: str, suffix: str) -> Path:
    """Where a command will write a file, checked before any work: a file path in an existing
    directory; ``suffix`` is added when the name has none."""
    if not text.strip():
        raise InvalidArgument(f"{flag} '' must be a file path")
    path = Path(text)
    if path.is_dir():
        raise InvalidArgument(f"{flag} {text}: is a directory; give a file path")
    if not path.suffix:
        path = path.with_suffix(suffix)
    parent = path.parent
    if not parent.is_dir():
        raise InvalidArgument(f"{flag} {text}: no directory {parent}")
    if not os.access(parent, os.W_OK):
        raise InvalidArgument(f"{flag} {text}: the directory {parent} is not writable")
    return path


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """Where and how trials run: the options of the ``engine`` group."""
    return {
        "backend": args.backend,
        "workers": args.workers,
        "chunk_size": args.chunk_size,
        "address": args.address,
        "batched": args.batched,
        "isolate": args.isolate,
        "device": args.device,
        "trial_timeout": args.trial_timeout,
    }


def play_options(args: argparse.Namespace) -> dict[str, Any]:
    """The trials, seed, level and method of a command that reports intervals, and the
    engine options."""
    return {
        "trials": args.trials,
        "seed": args.seed,
        "level": args.level,
        "method": args.method,
        **engine_options(args),
    }


#: Seconds between two progress lines where stderr is no terminal (a pipe, a log file).
PLAIN_EVERY = 10.0


class PlainProgress:
    """Progress where stderr is no terminal: a line every :data:`PLAIN_EVERY` seconds, so
    that a long run that is piped or logged is never silent and a short one adds nothing."""

    def __init__(self) -> None:
        self.started = self.said = time.perf_counter()

    def say(self, line: Callable[[], str]) -> None:
        """Print ``line()`` if the last line was printed :data:`PLAIN_EVERY` seconds ago (the
        line is made only then: a run reports after every chunk)."""
        now = time.perf_counter()
        if now - self.said >= PLAIN_EVERY:
            self.said = now
            stderr.print(Text(line()), soft_wrap=True)

    def counted(self, what: str, done: int, total: int) -> str:
        """``what: 1,200/10,000 trials (12%), 35 s, about 4 min 17 s left``."""
        elapsed = time.perf_counter() - self.started
        line = f"{what}: {done:,}/{total:,} trials ({done / total:.0%}), {_duration(elapsed)}"
        if done:
            line += f", about {_duration(max(1.0, elapsed * (total - done) / done))} left"
        return line


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


#: Seconds a run plays before a terminal gets its progress bar.
BAR_AFTER = 1.0


@contextmanager
def progress(as_json: bool, what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback for a run of many trials: on a terminal, a bar on stderr once the
    run has taken :data:`BAR_AFTER` seconds; elsewhere, a :class:`PlainProgress` line now
    and then. With ``--json`` (``as_json``) only a terminal gets one: the bar leaves no trace,
    and a pipe that may carry stderr into the JSON stays clean."""
    started = time.perf_counter()
    plain = None if stderr.is_terminal else PlainProgress()
    bar: Progress | None = None
    task = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if plain is not None:
            if not as_json and done < total:
                plain.say(lambda: plain.counted(what, done, total))
            return
        if bar is None:
            if time.perf_counter() - started < BAR_AFTER or done >= total:
                return
            bar = Progress(
                TextColumn(escape(what)),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=stderr,
                transient=True,
            )
            bar.start()
            task = bar.add_task(what, total=total)
        bar.update(task, completed=done)  # type: ignore[arg-type]

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


# The arguments of the command being run, set by `advantage.cli.main` for the length of one
# command, so that every JSON output can say how to reproduce itself without each command
# passing its argv along.
_ARGV: ContextVar[tuple[str, ...] | None] = ContextVar("advantage_argv", default=None)


@contextmanager
def invoked(argv: Sequence[str]) -> Iterator[None]:
    """Record ``argv`` (without the program name) as the running command's arguments."""
    token = _ARGV.set(tuple(argv))
    try:
        yield
    finally:
        _ARGV.reset(token)


def command_line(argv: Sequence[str]) -> str:
    """``argv`` as one shell line that starts with ``advantage`` (quoted where needed)."""
    return shlex.join(["advantage", *argv])


@functools.cache
def version() -> str:
    """The installed package's version (``unknown`` when it runs from an uninstalled tree)."""
    try:
        return metadata.version("advantage")
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance() -> dict[str, str]:
    """``command`` (the exact command line being run, when known) and ``version``."""
    argv = _ARGV.get()
    out = {"version": version()}
    if argv is not None:
        out["command"] = command_line(argv)
    return out


def print_json(data: Any) -> None:
    """One JSON value on stdout; an object also gets ``command`` and ``version`` (see
    :func:`provenance`), unless it has its own."""
    if isinstance(data, dict):
        data = {**data, **{k: v for k, v in provenance().items() if k not in data}}
    sys.stdout.write(_json_text(data) + "\n")


def _json_text(data: Any) -> str:
    """``data`` as strict JSON: a non-finite number (NaN, ±infinity: an untestable fit's
    p-value, a tightness with nothing to compare to) is written as ``null``, since JSON has
    no such numbers and other readers refuse Python's ``NaN``; values JSON has no type for
    are written as strings."""
    return json.dumps(_finite(data), default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _fmt(value: float) -> str:
    return f"{value:+.4f}"


def estimate_table(estimate: Estimate, title: str | None = None) -> Table:
    """A person-readable table of one estimate."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    params = ", ".join(f"{k}={v}" for k, v in estimate.params.items())
    adv_params = ", ".join(f"{k}={v}" for k, v in estimate.adversary_params.items())
    table.add_row("game", f"{estimate.game} ({params})" if params else estimate.game)
    table.add_row(
        "adversary", f"{estimate.adversary} ({adv_params})" if adv_params else estimate.adversary
    )
    table.add_row("trials", f"{estimate.trials} (seed {estimate.seed}, {estimate.path} path)")
    if estimate.worlds:
        (rn, r1), (i_n, i1) = estimate.worlds["real"], estimate.worlds["ideal"]
        table.add_row(
            "answered real", f"{r1}/{rn} in the real world, {i1}/{i_n} in the ideal world"
        )
    else:
        table.add_row(
            "wins",
            f"{estimate.wins} (rate {estimate.win_rate:.4f}, baseline {estimate.baseline:.4g})",
        )
    table.add_row(
        "advantage",
        f"[bold]{_fmt(estimate.advantage)}[/]  "
        + escape(
            f"[{_fmt(estimate.ci_low)}, {_fmt(estimate.ci_high)}]  ({percent(estimate.level)} {estimate.method})"
        ),
    )
    if estimate.queries:
        per = ", ".join(f"{k}: {v:.3g}" for k, v in queries_per_trial(estimate).items())
        table.add_row("queries per trial", f"{per} (--json: totals in queries)")
    if estimate.resources:
        table.add_row("resources", ", ".join(f"{k}: {v}" for k, v in estimate.resources.items()))
    if estimate.errors:
        kinds = ", ".join(f"{k}: {v}" for k, v in estimate.errors.items())
        note = "adversary failures and oracle failures count as losses"
        if estimate.errors.get("game-failed"):
            note += "; challenger failures are left out, so the estimate is conditional on success"
        table.add_row("errors", f"[red]{estimate.error_count}[/] ({kinds}); {note}")
    table.add_row("time", f"{estimate.seconds:.2f} s of play")
    return table


def queries_per_trial(estimate: Estimate) -> dict[str, float]:
    """Each oracle's queries per trial (an estimate records their totals)."""
    return {k: v / max(estimate.trials, 1) for k, v in estimate.queries.items()}


def estimate_json(estimate: Estimate) -> dict[str, Any]:
    """An estimate as JSON: its record (``queries`` are totals over the trials), and the
    queries per trial as ``queries_per_trial``."""
    return {**estimate.to_json(), "queries_per_trial": queries_per_trial(estimate)}


def show(result: Any, as_json: bool, table: Callable[[Any], Any]) -> None:
    """A result as one JSON object, or as ``table(result)`` and its first error."""
    if as_json:
        print_json(estimate_json(result) if isinstance(result, Estimate) else result.to_json())
        return
    console.print(table(result))
    show_first_error(result)


def show_first_error(result: Any) -> None:
    """The first traceback of a run (of each adversary of an ensemble), on stderr."""
    for each in getattr(result, "adversaries", None) or [result]:
        if each.first_error:
            stderr.print("[red]first error:[/]")
            stderr.print(escape(each.first_error), soft_wrap=True)
