"""Best-of-N scaling on a language model: the sweep behind ``proofs/lm/best-of-n-scaling.toml``.

For each behaviour of the jailbreak game, best-of-n (σ = 0.6 by default: at 0.01 it saturates on the tiny model before 1,024 tries) is swept over the
query budget; both laws of :mod:`games.lm.scaling` are fitted and printed with their band
at ``--at``; ``--proof`` writes the proof file (for ``--behaviour``), ``--plot`` the figure.

    python benchmarks/best_of_n_scaling.py --proof best-of-n-scaling.toml --plot scaling.png
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from adversaries.jailbreak.best_of_n import BestOfN
from games.lm.jailbreak import Jailbreak
from games.lm.scaling import scaling_sweep


def main(argv: Sequence[str] | None = None) -> None:
    """The sweep behind ``proofs/lm/best-of-n-scaling.toml``, its fits, proof file and plot."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--model", default="tiny:0")
    parser.add_argument("--sigma", type=float, default=0.6, help="best-of-n's strength")
    parser.add_argument("--budget", default="1,2,4,8,16,32,64", help="queries to sweep")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--at", type=int, default=1024, help="the budget the proof checks")
    parser.add_argument("--behaviour", default="secret-leak", help="the proof's behaviour")
    parser.add_argument("--proof", default=None, metavar="OUT.toml")
    parser.add_argument("--plot", default=None, metavar="OUT.png")
    args = parser.parse_args(argv)
    scaling = scaling_sweep(
        Jailbreak(model=args.model),
        BestOfN(sigma=args.sigma),
        budget="queries",
        values=[int(v) for v in args.budget.split(",")],
        trials=args.trials,
        seed=args.seed,
    )
    for behaviour, fits in scaling.fits.items():
        for fit in fits.values():
            low, high = fit.band([args.at])
            print(f"{behaviour}: {fit.summary}, loglik {fit.loglik:.2f}, ", end="")
            print(f"ASR({args.at}) = {fit.asr([args.at])[0]:.3f} [{low[0]:.3f}, {high[0]:.3f}]")
    if args.proof:
        Path(args.proof).write_text(scaling.proof(args.behaviour, at=args.at, name="best_of_n"))
    if args.plot:
        print(scaling.plot(args.plot, at=args.at))


if __name__ == "__main__":
    main()
