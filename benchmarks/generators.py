"""A chunk's two generators: the engine's derivation against the alternatives it could use.

Every batched chunk and every trial makes two generators (the challenger's and the
adversary's, see `games.engine.seeds`). This times making one such pair three ways:

- the engine's: BLAKE2b keyed by the run's key, the 256 bits handed to PCG64 as they are;
- numpy's `SeedSequence` with the position as its spawn key, driving PCG64;
- a counter-based generator, numpy's `Philox` with a key per role and the chunk's bounds
  in the counter (no hash per chunk at all). numpy builds a `SeedSequence` from the
  operating system's entropy whenever it makes a bit generator, even one given its key,
  which is most of this one's cost.

    python benchmarks/generators.py [--pairs 20000] [--repeats 15]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import best_of, machine
from rich.console import Console
from rich.table import Table

from games.engine import seeds


def seed_sequence_pair(start: int, stop: int) -> tuple[np.random.Generator, ...]:
    return tuple(
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(0, spawn_key=(role, start))))
        for role in (0, 1)
    )


_KEYS = [np.array([role, 0], np.uint64) for role in (0, 1)]  # a key per role, made once


def philox_pair(start: int, stop: int) -> tuple[np.random.Generator, ...]:
    return tuple(
        np.random.Generator(np.random.Philox(key=key, counter=[0, 0, start, stop])) for key in _KEYS
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    n, size = args.pairs, 4096
    ways = {
        "engine: BLAKE2b → PCG64": lambda start, stop: seeds.pair(0, start, stop, batch=True),
        "SeedSequence → PCG64": seed_sequence_pair,
        "Philox, bounds as counter": philox_pair,
    }

    def made(way):
        def run() -> None:
            for i in range(n):  # a pair a chunk, released before the next, as in a run
                way(i * size, (i + 1) * size)

        return run

    times = best_of([made(way) for way in ways.values()], args.repeats)
    table = Table(title=f"a chunk's two generators, {n} pairs (best of {args.repeats})")
    for column in ("derivation", "µs a pair", "ratio to the engine's"):
        table.add_column(column)
    for label, t in zip(ways, times, strict=True):
        table.add_row(label, f"{t / n * 1e6:.2f}", f"{t / times[0]:.2f}")
    Console().print(table, f"{machine()}, numpy {np.__version__}", sep="\n")


if __name__ == "__main__":
    main()
