"""Text watermarks: detection tokens/s against a per-token loop; generation with the watermark
against generation without it, on the same model and prompts.

(a) Detection. ``Watermark.detect_many`` scores the texts' distinct (context, token) pairs
with one PRF call over all of them (a pair met in several texts is hashed once) and the exact
tails of all texts at once; the hand-written baseline walks each text token
by token, as a straightforward implementation would: a set of seen pairs, one PRF call per
new pair (the PRF's one-point API), a green count, then the same tail. Both read the same
stories (watermarked by the tiny model) and must agree. Target ≥ 20×.

(b) Generation. The same story prompts, sampled at temperature 1 by ``Watermark.generate``
(the scheme's logits processor at every step) and by ``model.sample`` with no processor.
Target: watermarked tokens/s ≥ 0.9× plain.

(c) ``--smollm2``: one KGW-marked 48-token SmolLM2 story per prompt against the model's own,
their z-scores (slow on CPU: opt-in; needs the SmolLM2 wheel).

    python benchmarks/watermark.py [--texts 64] [--tokens 48] [--repeats 3] [--smollm2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats

from games import lm
from games.crypto.primitives import get_prf
from games.lm.watermark import STORY_REQUEST, Watermark, scheme

SUBJECTS = ("fox", "dragon", "owl", "cat", "robot", "bear", "bird", "dog")


def loop_detect(mark: Watermark, key: Any, tokens: list[int], vocab: int) -> tuple[int, int, float]:
    """The hand-written baseline: green count, scored pairs and p-value, token by token."""
    prf = get_prf(mark.prf, 64, 64)
    secret = np.asarray(key.secret, dtype=np.uint64)
    seen: set[tuple[int, ...]] = set()
    green = scored = 0
    for i in range(mark.h, len(tokens)):
        pair = tuple(tokens[i - mark.h : i + 1])
        if pair in seen:
            continue
        seen.add(pair)
        point = sum(t * vocab**j for j, t in enumerate(reversed(pair))) % 2**64
        u = ((prf(secret, point) >> 11) + 0.5) * 2.0**-53
        green += u < mark.gamma
        scored += 1
    return green, scored, float(stats.binom.sf(green - 1, scored, mark.gamma))


def best(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), out


def stories(model: Any, mark: Watermark, key: Any, count: int, tokens: int) -> list[list[int]]:
    prompts = [model.encode(STORY_REQUEST.format(subject=SUBJECTS[i % 8])) for i in range(count)]
    stop = set(model.stop_ids)
    replies = mark.generate(
        model, key, prompts, max_new_tokens=tokens, rng=np.random.default_rng(1)
    )
    return [[t for t in reply if t not in stop] for reply in replies]


def detection(model: Any, texts: int, tokens: int, repeats: int) -> tuple[float, float]:
    mark = scheme("kgw")
    key = mark.keygen(np.random.default_rng(0), model)
    corpus = stories(model, mark, key, texts, tokens)
    vocab, total = model.vocab_size, sum(len(t) for t in corpus)
    ours_s, ours = best(repeats, lambda: mark.detect_many(key, corpus, vocab))
    loop_s, theirs = best(repeats, lambda: [loop_detect(mark, key, t, vocab) for t in corpus])
    for a, (green, scored, p) in zip(ours, theirs, strict=True):
        assert (a.green, a.scored) == (green, scored) and np.isclose(a.p_value, p), (a, p)
    return total / ours_s, total / loop_s


def generation(model: Any, texts: int, tokens: int, repeats: int) -> tuple[float, float, float]:
    """Tokens/s: watermarked with a fresh key (its first call), watermarked again under the
    same key (the green rows it computed are kept with the key), and plain."""
    mark = scheme("kgw")
    key = mark.keygen(np.random.default_rng(0), model)
    prompts = [model.encode(STORY_REQUEST.format(subject=SUBJECTS[i % 8])) for i in range(texts)]

    def rate(sample: Callable[[np.random.Generator], list], times: int) -> float:
        seconds, replies = best(times, lambda: sample(np.random.default_rng(2)))
        return sum(len(r) for r in replies) / seconds

    def marked(rng: np.random.Generator) -> list:
        return mark.generate(model, key, prompts, max_new_tokens=tokens, rng=rng)

    cold = rate(marked, 1)
    warm = rate(marked, repeats)
    plain = rate(
        lambda rng: model.sample(prompts, max_new_tokens=tokens, temperature=1.0, rng=rng),
        repeats,
    )
    return cold, warm, plain


def smollm2_z(count: int, tokens: int) -> tuple[list[float], list[float]]:
    model: Any = lm.scorer(lm.load("smollm2"))
    mark = scheme("kgw")
    key = mark.keygen(np.random.default_rng(0), model)
    prompts = [model.encode(STORY_REQUEST.format(subject=SUBJECTS[i])) for i in range(count)]
    stop = set(model.stop_ids)
    rng = np.random.default_rng(1)
    marked = mark.generate(model, key, prompts, max_new_tokens=tokens, rng=rng)
    plain = model.sample(prompts, max_new_tokens=tokens, temperature=1.0, rng=rng)

    def z(replies: list) -> list[float]:
        return [mark.detect(key, [t for t in r if t not in stop], model).z for r in replies]

    return z(marked), z(plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smollm2", action="store_true", help="also SmolLM2's z-scores")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = lm.scorer(lm.load("tiny:0"))
    print(
        f"{os.cpu_count()} CPUs ({platform.machine()}), torch {torch.__version__}, 1 thread, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    ours, loop = detection(model, args.texts, args.tokens, args.repeats)
    print(f"detection  ours {ours:,.0f} tok/s  loop {loop:,.0f} tok/s  ratio {ours / loop:.1f}x")
    cold, warm, plain = generation(model, args.texts, args.tokens, args.repeats)
    print(
        f"generation kgw {cold:,.0f} tok/s (fresh key), {warm:,.0f} tok/s (same key again)  "
        f"plain {plain:,.0f} tok/s  ratio {cold / plain:.2f}x / {warm / plain:.2f}x"
    )
    if args.smollm2:
        marked_z, plain_z = smollm2_z(4, 48)
        print("smollm2 z marked", np.round(marked_z, 1), "plain", np.round(plain_z, 1))


if __name__ == "__main__":
    main()
