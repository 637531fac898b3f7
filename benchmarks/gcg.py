"""GCG steps per second: every candidate of a step in one forward pass, against one at a time.

Both sides run the same algorithm on the same public model (the tiny model by default):
per step one forward and backward pass for the gradient over the suffix's one-hot tokens,
then ``candidates`` single-token swaps scored by the target's loss. ``adversaries.jailbreak.
gcg.optimise`` scores them in one batched pass; the hand-written loop below scores each
with its own pass, as a straightforward implementation would.

    python benchmarks/gcg.py [--model tiny:0] [--steps 10] [--candidates 64] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from common import best_of, machine
from rich.console import Console
from rich.table import Table

from adversaries.jailbreak import gcg
from adversaries.jailbreak.prompts import REQUESTS
from games.lm import corpus, load, white_box


def one_at_a_time(spec: str, steps: int, candidates: int, length: int = 8, top_k: int = 32) -> None:
    """The hand-written baseline: GCG with each candidate scored in its own forward pass."""
    model = white_box(load(spec))
    module, tokenizer = model.module, model.tokenizer
    system = corpus.system_prompt(corpus.secret(np.random.default_rng(0), held_out=True))
    before, after, goal = gcg._pieces(tokenizer, system, REQUESTS[0], gcg.TARGET)
    embed = module.get_input_embeddings().weight
    vocab = embed.shape[0]
    allowed = gcg._allowed(tokenizer, vocab)
    pool = torch.nonzero(allowed).flatten()
    generator = torch.Generator().manual_seed(0)
    suffix = pool[torch.randint(len(pool), (length,), generator=generator)]
    fixed = [torch.tensor(p, dtype=torch.long) for p in (before, after, goal)]
    start = len(before) + length + len(after)
    for _ in range(steps):
        one_hot = torch.nn.functional.one_hot(suffix, vocab).to(embed.dtype).requires_grad_()
        parts = [embed[fixed[0]], one_hot @ embed, embed[fixed[1]], embed[fixed[2]]]
        logits = module(inputs_embeds=torch.cat(parts)[None]).logits[0, start - 1 : -1]
        (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, fixed[2]), one_hot)
        grad[:, ~allowed] = float("inf")
        top = (-grad).topk(top_k, dim=1).indices
        best, best_loss = suffix, float("inf")
        with torch.no_grad():
            for _ in range(candidates):
                trial = suffix.clone()
                position = int(torch.randint(length, (1,), generator=generator))
                trial[position] = top[
                    position, int(torch.randint(top_k, (1,), generator=generator))
                ]
                ids = torch.cat([fixed[0], trial, fixed[1], fixed[2]])[None]
                out = module(input_ids=ids).logits[0, start - 1 : -1]
                loss = float(torch.nn.functional.cross_entropy(out, fixed[2]))
                if loss < best_loss:
                    best, best_loss = trial, loss
        suffix = best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny:0", help="a white-box model spec")
    parser.add_argument("--steps", type=int, default=10, help="GCG steps per run")
    parser.add_argument("--candidates", type=int, default=64, help="candidates per step")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the best counts")
    args = parser.parse_args()
    white_box(load(args.model))  # load (and train or convert) before timing

    def batched() -> None:
        gcg.optimise.cache_clear()
        gcg.optimise(args.model, steps=args.steps, candidates=args.candidates)

    ours, loop = best_of(
        [batched, lambda: one_at_a_time(args.model, args.steps, args.candidates)], args.repeats
    )
    table = Table(title=f"GCG on {args.model}: {args.candidates} candidates a step")
    for column in ("scoring", "steps / s", "ratio"):
        table.add_column(column, justify="right" if column != "scoring" else "left")
    table.add_row("one candidate per forward pass (loop)", f"{args.steps / loop:.2f}", "1.0×")
    table.add_row(
        "all candidates in one pass (ours)", f"{args.steps / ours:.2f}", f"{loop / ours:.1f}×"
    )
    Console().print(table, f"{machine(torch)}; best of {args.repeats}", sep="\n")


if __name__ == "__main__":
    main()
