"""Batched trials/s of the engine against a hand-written numpy loop computing the same thing.

Both sides do the same array work for a chunk of trials at once (hidden bits, keys, the
attack's queries, the encryptions, the answers); the hand-written loop has no oracles,
budgets, answer checks, tallies or chunk bookkeeping. Target: the engine at
≥ 0.8× the hand-written loop's trials/s. "paired" is the ratio within each repeat (both
sides back to back), its median and quartiles: steadier than the ratio of best times on a
noisy machine.

    python benchmarks/batched.py [--trials 2000000] [--chunks 4096,16384,65536] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import machine, paired, timings
from rich.console import Console
from rich.table import Table

import games
from adversaries.crypto import EcbRepeat
from adversaries.otp import TwoTimePad
from games.crypto.games import IndCPA
from games.otp import OneTimePad


def otp_by_hand(trials: int, chunk: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    wins = 0
    for start in range(0, trials, chunk):
        size = min(chunk, trials - start)
        b = rng.integers(2, size=size)
        key = rng.integers(0, 1 << 16, size=size, dtype=np.uint64)
        chosen = b.astype(bool)
        zeros, ones = np.zeros(size, np.uint64), np.ones(size, np.uint64)
        first = np.where(chosen, zeros, zeros) ^ key  # the two encryptions the attack asks for
        second = np.where(chosen, ones, zeros) ^ key
        wins += int((((first ^ second) == 1).astype(np.int64) == b).sum())
    return wins


def ind_cpa_by_hand(game: IndCPA, trials: int, chunk: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    scheme = game._scheme()
    wins = 0
    for start in range(0, trials, chunk):
        size = min(chunk, trials - start)
        b = rng.integers(2, size=size)
        keys = scheme.keygen(rng, size)
        x = rng.integers(0, 1 << game.n, size=size, dtype=np.uint64)
        y = (x + rng.integers(1, 1 << game.n, size=size, dtype=np.uint64)) % np.uint64(1 << game.n)
        left, right = np.stack([x, x], 1), np.stack([x, y], 1)
        c = scheme.enc(keys, np.where(b[:, None] == 1, right, left), rng)
        wins += int(((c[:, -2] != c[:, -1]).astype(np.int64) == b).sum())
    return wins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2_000_000)
    parser.add_argument("--chunks", default="4096,16384,65536", help="chunk sizes to compare")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.trials
    table = Table(title=f"batched path, {n} trials (best of {args.repeats})")
    for column in (
        "game",
        "chunk",
        "hand-written trials/s",
        "engine trials/s",
        "ratio (target ≥ 0.8)",
        "paired",
    ):
        table.add_column(column)
    cpa = IndCPA(scheme="ecb", prf="toy-linear", n=16, blocks=2)
    otp = OneTimePad(key_reuse=True)
    # The engine's first batched chunk sets the allocator to keep freed arrays (see
    # engine._reuse_freed_memory); set it before timing so both sides run under it.
    games.estimate(otp, TwoTimePad(), trials=1, seed=0)
    for chunk in (int(c) for c in args.chunks.split(",")):
        cases = [
            (
                "otp key_reuse=True, two-time-pad",
                lambda c=chunk: otp_by_hand(n, c, 0),
                lambda c=chunk: games.estimate(otp, TwoTimePad(), trials=n, seed=0, chunk_size=c),
            ),
            (
                "ind-cpa ecb toy-linear, ecb-repeat",
                lambda c=chunk: ind_cpa_by_hand(cpa, n, c, 0),
                lambda c=chunk: games.estimate(cpa, EcbRepeat(), trials=n, seed=0, chunk_size=c),
            ),
        ]
        for label, by_hand, engine in cases:
            assert engine().path == "batch"
            hand_times, engine_times = timings([by_hand, engine], args.repeats)
            t_hand, t_engine = min(hand_times), min(engine_times)
            table.add_row(
                label,
                str(chunk),
                f"{n / t_hand:,.0f}",
                f"{n / t_engine:,.0f}",
                f"{t_hand / t_engine:.2f}",
                paired(hand_times, engine_times),
            )
    Console().print(table)
    print(f"{machine()}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
