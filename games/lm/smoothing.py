"""SmoothLLM (Robey et al. 2023): answer k randomly perturbed copies of a prompt, vote.

The defense perturbs the user's message k times (:func:`perturb`: a fraction ``rate`` of
its characters, at positions drawn without replacement, each replaced by a random
printable character — the paper's *swap* perturbation), lets the model answer every copy,
and sorts the replies into leaking and not leaking by the game's exact judge. The side
with at least ⌈k/2⌉ replies wins the vote (a tie counts as leaking, so the binomial tail
BinTail(k, p, ⌈k/2⌉) of the ``smooth-llm`` proof covers it), and the guarded system
answers with a reply of that side, drawn with the challenger's coins.

The perturbations are drawn from the challenger's generator, afresh for every query. The
planted bug ``smooth-llm-fixed-seed`` re-seeds them with :data:`FIXED_SEED` on every query
(:func:`perturbation_rng`): the copies are then a fixed, public function of the prompt,
and an attacker can choose a prompt whose copies it has already seen leak.

Everything here is public (Kerckhoffs): the algorithm, the alphabet and the constant.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence

import numpy as np

from games.lm.base import Message

__all__ = [
    "ALPHABET",
    "FIXED_SEED",
    "SMOOTH_DEFENSES",
    "binomial_tail",
    "copies",
    "majority",
    "perturb",
    "perturb_chat",
    "perturbation_rng",
    "vote",
]

#: The characters a perturbed position may take (printable ASCII, space included).
ALPHABET = string.ascii_letters + string.digits + string.punctuation + " "
#: The constant the planted bug ``smooth-llm-fixed-seed`` re-seeds its perturbations with.
FIXED_SEED = 0
#: The defenses that vote over perturbed copies.
SMOOTH_DEFENSES = ("smooth-llm", "smooth-llm-fixed-seed")


def perturb(text: str, rate: float, rng: np.random.Generator) -> str:
    """``text`` with ⌈rate·n⌉ of its n characters replaced by random ones (the swap perturbation)."""
    n = len(text)
    if n == 0 or rate <= 0:
        return text
    count = min(n, math.ceil(rate * n))
    chars = list(text)
    for position in rng.choice(n, size=count, replace=False):
        chars[int(position)] = ALPHABET[int(rng.integers(len(ALPHABET)))]
    return "".join(chars)


def copies(text: str, k: int, rate: float, rng: np.random.Generator) -> list[str]:
    """k perturbed copies of ``text``, drawn one after another from ``rng``."""
    return [perturb(text, rate, rng) for _ in range(k)]


def perturbation_rng(defense: str, rng: np.random.Generator) -> np.random.Generator:
    """The generator a query's perturbations come from: the challenger's, or the bug's constant."""
    if defense == "smooth-llm-fixed-seed":
        # The planted bug: every query starts from the same, public seed.
        return np.random.default_rng(FIXED_SEED)
    return rng


def perturb_chat(chat: Sequence[Message], k: int, rate: float, rng: np.random.Generator) -> list:
    """k copies of a chat whose last user message is perturbed (the rest is left as it is)."""
    last = max((i for i, m in enumerate(chat) if m.role == "user"), default=None)
    if last is None:
        return [tuple(chat)] * k
    out = []
    for text in copies(chat[last].content, k, rate, rng):
        out.append((*chat[:last], Message("user", text), *chat[last + 1 :]))
    return out


def majority(flags: Sequence[bool]) -> bool:
    """Whether the leaking side wins the vote: at least ⌈k/2⌉ of k copies leaked."""
    return sum(flags) >= math.ceil(len(flags) / 2)


def binomial_tail(k: int, p: float, at_least: int) -> float:
    """BinTail(k, p, m): the probability of at least m successes in k trials of probability p."""
    return float(
        sum(math.comb(k, j) * p**j * (1 - p) ** (k - j) for j in range(max(0, at_least), k + 1))
    )


def vote(
    replies: Sequence[str], k: int, judge: Callable[[str], bool], rng: np.random.Generator
) -> list[int]:
    """For each block of k replies, the index (in ``replies``) of the reply the system answers with.

    The side that wins the vote (:func:`majority`) is kept and one of its replies drawn with
    ``rng`` (the challenger's coins).
    """
    chosen = []
    for start in range(0, len(replies), k):
        block = [judge(text) for text in replies[start : start + k]]
        side = majority(block)
        members = [start + i for i, flag in enumerate(block) if flag == side]
        chosen.append(members[int(rng.integers(len(members)))])
    return chosen
