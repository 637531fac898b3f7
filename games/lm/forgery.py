"""Forging a text watermark: make the detector flag text the watermarked model never wrote.

Two games on the schemes of :mod:`games.lm.watermark`, both search games with baseline α
(a text written without the key is flagged at most α of the time):

- ``watermark-forgery`` (spoofing): the adversary may ask the watermarked model ``queries``
  requests (one call may carry several; each request counts), never seeing the key, and
  must then write a flagged text for a fresh prompt the challenger drew and the model never
  answered (asking it that exact request is refused). A text that shares a run of
  ``window`` tokens with any reply the model gave (or, shorter than that, lies inside one)
  is a copy and is refused (:class:`games.InvalidAnswer`). Stealing the green list from
  token frequencies (Jovanović et al. 2024) wins against ``unigram``.
- ``green-list-hidden`` (the assumption game of the ``unigram-unforgeable`` proof): the
  same oracle and public values; the adversary names token ids and wins when the detector
  flags them, copy or not. For ``unigram`` (``h = 0``) the detector scores each distinct
  token once, so the answer is a set of tokens named as green and the win is "the set is
  green beyond chance at level α": the green list did not stay hidden.

Public in both: the scheme's description (no key), ``vocab``, ``model`` (the spec: the
model itself is public, only the key is secret), ``prompt`` (the target request) and
``requests`` (story requests of the corpus's grammar other than the target, which the
adversary may use or not).

Importing this module imports neither torch nor transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from games.base import Challenge, Search
from games.errors import InvalidAnswer
from games.lm.watermark import (
    MAX_REQUEST,
    STORY_REQUEST,
    Marked,
    _scheme_field,
    _token_array,
    _vocab,
)
from games.params import integer, param
from games.registry import register
from oracles import InvalidArgument

__all__ = ["Forgery", "GreenListHidden", "copies"]


def copies(answer: Sequence[int], replies: Sequence[Sequence[int]], window: int) -> bool:
    """Whether ``answer`` shares a run of ``window`` tokens with a reply (or lies in one)."""
    answer = tuple(answer)
    width = min(window, len(answer))
    if width == 0:
        return False
    runs = {tuple(r[i : i + width]) for r in replies for i in range(len(r) - width + 1)}
    return any(answer[i : i + width] in runs for i in range(len(answer) - width + 1))


class _Generator:
    """The challenger's ``generate``: watermarked replies to requests, the target refused.

    Takes one request (a string; answers one reply) or a list of them (answers a list);
    each request counts as one query (:attr:`cost`). Every reply is kept for the copy check.
    """

    def __init__(self, model: Any, mark: Any, key: Any, length: int, target: str, rng: Any):
        self.model, self.mark, self.key, self.length = model, mark, key, length
        self.target, self.rng = target, rng
        self.replies: list[tuple[int, ...]] = []

    @staticmethod
    def _requests(requests: Any) -> list[str]:
        batch = [requests] if isinstance(requests, str) else requests
        if not isinstance(batch, list | tuple) or not batch:
            raise InvalidArgument("requests must be a string or a non-empty list of strings")
        for request in batch:
            if not isinstance(request, str) or not 0 < len(request) <= MAX_REQUEST:
                raise InvalidArgument(
                    f"each request must be a non-empty string of at most {MAX_REQUEST} characters"
                )
        return list(batch)

    def cost(self, requests: Any) -> int:
        return len(self._requests(requests))

    def __call__(self, requests: Any) -> Any:
        batch = self._requests(requests)
        if any(r.strip() == self.target for r in batch):
            raise InvalidArgument("the target prompt may not be asked: forge its reply instead")
        prompts = [self.model.encode(r) for r in batch]
        replies = self.mark.generate(
            self.model, self.key, prompts, max_new_tokens=self.length, rng=self.rng
        )
        out = [tuple(int(t) for t in reply) for reply in replies]
        self.replies.extend(out)
        return out[0] if isinstance(requests, str) else out


@attrs.frozen(kw_only=True)
class _ForgeryGame(Marked, Search):
    """Setup shared by the forgery game and its assumption game."""

    scheme: str = _scheme_field("unigram")
    length: int = param(48, help="new tokens per reply", check=integer(4, 512))
    queries: int = param(32, help="requests the adversary may ask", check=integer(0))

    @property
    def baseline(self) -> float:
        return self.alpha

    def setup(self, rng: np.random.Generator) -> Challenge:
        from games.lm import corpus

        model, mark, key, public = self.keyed(rng)
        vocab = _vocab(model)
        subjects = list(corpus.STORY_SUBJECTS)
        target = STORY_REQUEST.format(subject=subjects.pop(int(rng.integers(len(subjects)))))
        generate = _Generator(model, mark, key, self.length, target, rng)
        public.update(
            prompt=target, requests=tuple(STORY_REQUEST.format(subject=s) for s in subjects)
        )
        return Challenge(
            oracles={"generate": generate},
            budgets={"generate": self.queries},
            public=public,
            secret={"key": key, "vocab": vocab, "generate": generate},
        )

    def flagged(self, challenge: Challenge, answer: Any) -> bool:
        secret = challenge.secret
        ids = _token_array(answer, secret["vocab"]).tolist()
        return self.mark().detect(secret["key"], ids, secret["vocab"]).flagged


@register("watermark-forgery")
@attrs.frozen(kw_only=True)
class Forgery(_ForgeryGame):
    """Spoof the watermark: a flagged text for a prompt the model never answered, no copy.

    The answer is token ids; one sharing a run of ``window`` tokens with a reply the model
    gave (or lying inside one, when shorter) is refused as a copy. Baseline α.
    """

    window: int = param(8, help="shared tokens that make an answer a copy", check=integer(1))

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        ids = _token_array(answer, challenge.secret["vocab"]).tolist()
        if copies(ids, challenge.secret["generate"].replies, self.window):
            raise InvalidAnswer(
                f"the answer shares {self.window} tokens in a row with a reply of the model: "
                "a copy, not a forgery"
            )
        return self.flagged(challenge, ids)


@register("green-list-hidden")
@attrs.frozen(kw_only=True)
class GreenListHidden(_ForgeryGame):
    """Name green tokens (an assumption game): the detector flags the answer, copy or not.

    With ``unigram`` the detector scores each distinct token once: the adversary wins when
    the set of tokens it names is green beyond chance at level α (baseline α).
    """

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        return self.flagged(challenge, answer)
