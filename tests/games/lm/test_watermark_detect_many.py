"""``Watermark.detect_many`` against a detector written token by token: the scalar PRF, a set
of seen (context, token) pairs, the exact tails (no model needed)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from games.crypto.primitives import get_prf
from games.lm.watermark import SCHEMES, Watermark, scheme

VOCAB = 50
texts = st.lists(
    st.lists(st.integers(0, VOCAB - 1), min_size=1, max_size=30)
    | st.lists(st.sampled_from([3, 4]), min_size=1, max_size=30),  # repetitive text
    min_size=1,
    max_size=6,
)


def by_hand(mark: Watermark, key: np.ndarray, tokens: list[int]) -> tuple[int, int, float]:
    """Green count (exp: 0), scored pairs and p-value, one pair at a time."""
    prf = get_prf(mark.prf, 64, 64)
    seen: set[tuple[int, ...]] = set()
    green, scored, score = 0, 0, 0.0
    for i in range(mark.h, len(tokens)):
        pair = tuple(tokens[i - mark.h : i + 1])
        if mark.dedupe and pair in seen:
            continue
        seen.add(pair)
        point = sum(t * VOCAB**j for j, t in enumerate(reversed(pair))) % 2**64
        u = ((prf(key, point) >> 11) + 0.5) * 2.0**-53
        green, scored, score = green + (u < mark.gamma), scored + 1, score - np.log1p(-u)
    if not scored:
        return 0, 0, 1.0
    if mark.kind == "exp":
        return 0, scored, float(special.gammaincc(scored, score))
    return green, scored, float(stats.binom.sf(green - 1, scored, mark.gamma))


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(SCHEMES),
    prf=st.sampled_from(["siphash", "blake2"]),
    corpus=texts,
    seed=st.integers(0, 2**32 - 1),
    as_arrays=st.booleans(),
)
def test_detect_many_is_the_per_token_detector(name, prf, corpus, seed, as_arrays):
    mark = scheme(name, gamma=0.5, prf=prf)
    key = mark.keygen(np.random.default_rng(seed))
    given_texts = [np.array(t) for t in corpus] if as_arrays else corpus
    found = mark.detect_many(key, given_texts, VOCAB)
    for detection, tokens in zip(found, corpus, strict=True):
        green, scored, p = by_hand(mark, key, tokens)
        assert (detection.green, detection.scored) == (green, scored)
        assert np.isclose(detection.p_value, p, rtol=1e-9, atol=1e-12)
        assert detection.flagged == (detection.p_value <= mark.alpha)
        assert detection == mark.detect(key, tokens, VOCAB)
