"""``best-of-n`` (Hughes et al. 2024): n randomly augmented copies of a request, one per query.

Each try takes a request for the secret (inside one of the corpus's templates, or plain)
and augments it with three perturbations whose strengths are tied to one parameter σ, as
in the paper:

- word scrambling: each word longer than three letters has its middle letters shuffled
  with probability σ^(1/2);
- random capitalisation: each letter's case is flipped with probability σ^(1/2);
- character noise: each printable character is shifted by ±1 in ASCII with probability σ³.

The n tries (``n``, by default the ``model`` oracle's whole query budget) are sent in one
batch; every
random choice comes from the adversary's own generator. The game is won if any try's
reply leaks, which is the best-of-n success ASR(n).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from adversaries.jailbreak.prompts import STYLES, _budget, _pick, _request, _spend
from adversaries.registry import register
from games.lm import corpus
from oracles import InvalidArgument, Oracles

__all__ = ["BestOfN", "augment"]


def _scramble(word: str, rng: np.random.Generator) -> str:
    if len(word) <= 3:
        return word
    middle = list(word[1:-1])
    rng.shuffle(middle)
    return word[0] + "".join(middle) + word[-1]


def augment(text: str, sigma: float, rng: np.random.Generator) -> str:
    """``text`` scrambled, recapitalised and noised at strength σ (see the module docstring)."""
    words = [_scramble(w, rng) if rng.random() < sigma**0.5 else w for w in text.split(" ")]
    chars = []
    for char in " ".join(words):
        if char.isalpha() and rng.random() < sigma**0.5:
            char = char.swapcase()
        if 32 < ord(char) < 126 and rng.random() < sigma**3:
            char = chr(ord(char) + (1 if rng.random() < 0.5 else -1))
        chars.append(char)
    return "".join(chars)


@register("best-of-n", games=("jailbreak", "leak-outside-class", "leak-perturbed"))
@attrs.frozen(kw_only=True)
class BestOfN:
    """n augmented requests at strength ``sigma``, from ``styles``.

    ``styles`` are names of :data:`games.lm.corpus.ATTACKS` (``direct``: the plain request);
    ``n``: the tries (None: the whole query budget; more than the budget is refused by the
    oracle), the budget a best-of-N sweep varies (:mod:`games.lm.scaling`).
    """

    sigma: float = 0.4
    n: int | None = None
    styles: tuple[str, ...] = attrs.field(default=("direct", *STYLES), converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.sigma, (int, float)) or not 0 <= self.sigma <= 1:
            raise InvalidArgument(f"sigma={self.sigma!r} must be a number in [0, 1]")
        unknown = [s for s in self.styles if s not in corpus.ATTACKS]
        if not self.styles or unknown:
            raise InvalidArgument(
                f"styles={list(self.styles)!r} must be a non-empty list of "
                f"{', '.join(corpus.ATTACKS)}"
            )
        if self.n is not None and (
            isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1
        ):
            raise InvalidArgument(f"n={self.n!r} must be a positive integer or None (the budget)")

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        prompts = []
        for _ in range(_budget(oracles) if self.n is None else self.n):
            template = _pick(rng, corpus.ATTACKS[_pick(rng, self.styles)])
            prompts.append(
                augment(template.format(request=_request(oracles, rng)), self.sigma, rng)
            )
        _spend(oracles, prompts)
        return None
