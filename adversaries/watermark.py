"""Attacks on text watermarks (:mod:`games.lm.watermark`): soundness and removal.

Each sees only the public values: the scheme's description, the vocabulary size and the
text handed over. None of them knows the PRF key.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from oracles import InvalidArgument, Oracles, checks

__all__ = ["Human", "Repetitive", "SameRequest", "Substitute", "Unchanged"]


@register("human-text", games=("watermark-soundness",))
@attrs.frozen(kw_only=True)
class Human:
    """The trivial soundness adversary: submits the corpus story it was given."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        return oracles.public["human"]


@register("repetitive", games=("watermark-soundness",))
@attrs.frozen(kw_only=True)
class Repetitive:
    """Repetitive text: one token of the human text, ``length`` times over.

    Every scored (context, token) pair is the same, so a detector that counts repeats sees
    either no green token or all of them: flagged with probability about γ.
    """

    length: int = attrs.field(default=64)

    @length.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        checks.integer(attribute.name, value, 2)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        human = oracles.public["human"]
        token = int(human[int(rng.integers(len(human)))])
        return (token,) * self.length


@register("unchanged", games=("watermark-removal",))
@attrs.frozen(kw_only=True)
class Unchanged:
    """The trivial removal adversary: returns the watermarked text as it was given."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        return oracles.public["text"]


@register("substitute", games=("watermark-removal",))
@attrs.frozen(kw_only=True)
class Substitute:
    """Token substitutions at random positions, spending the whole edit budget.

    Each substituted token is drawn uniformly from the vocabulary (a different token); with
    ``h ≥ 1`` one substitution changes ``h + 1`` scored pairs.
    ``fraction`` of the budget is spent (1.0: all of it).
    """

    fraction: float = attrs.field(default=1.0)

    @fraction.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InvalidArgument(f"fraction={value!r} must be a number in [0, 1]")

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        text = list(oracles.public["text"])
        edits = int(np.floor(self.fraction * oracles.public["edits"]))
        vocab = int(oracles.public["vocab"])
        positions = rng.choice(len(text), size=min(edits, len(text)), replace=False)
        for i in positions:
            choices = [t for t in range(vocab) if t != text[i]]
            text[i] = int(choices[int(rng.integers(len(choices)))])
        return tuple(text)


@register("same-request", games=("watermark-undetectable",))
@attrs.frozen(kw_only=True)
class SameRequest:
    """Asks for the same story twice and answers real when the two replies are identical.

    A keyed scheme that is a function of (key, context) repeats itself; the model sampling
    at temperature 1 almost never does over a whole reply.
    """

    request: str = "Tell me a story about a fox."

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        first = oracles["generate"](self.request)
        second = oracles["generate"](self.request)
        return int(tuple(first) == tuple(second))
