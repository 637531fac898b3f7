"""Score → threshold: the attack machinery that membership and unlearning attacks share.

Such an attack computes one score per trial (higher: the target was trained on, the world
is real) from a :class:`View` of the challenge, and turns the scores into bits with a rule
it calibrated once per game, offline, on trials it simulated itself with the game's public
challenger. :class:`ScoreAttack` plays both paths over those two hooks; the thresholds
(:func:`best_threshold`, :func:`signed_threshold`), the logit-scaled confidence LiRA-style
attacks read (:func:`confidence`) and the key that finds a population record again
(:func:`record_key`) live here too.

Importing this module does not import torch; :func:`confidence` does, when called.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from games import integer, param
from oracles import Oracles

__all__ = [
    "ScoreAttack",
    "View",
    "best_threshold",
    "confidence",
    "offline_seed",
    "record_key",
    "signed_threshold",
]


def offline_seed() -> Any:
    """The ``seed`` parameter of an attack's offline randomness (shadow models, calibration)."""
    return param(0, help="seed of the attack's offline randomness", check=integer(0))


class View:
    """A challenge seen with a trial axis: its oracles, public values and game.

    ``single`` marks the per-trial path (one trial, oracles that take one record); a
    domain's view adds the readers its attacks need.
    """

    def __init__(self, oracles: Oracles, size: int, single: bool) -> None:
        self.oracles = oracles
        self.size = size
        self.single = single
        self.public = oracles.public
        self.game = oracles.public["game"]


class ScoreAttack:
    """Both paths of a score → bit attack over two hooks.

    ``_score(view, rng)``: one score per trial of the view. ``_bits(game, scores)``: the
    answer per trial, by the rule calibrated for ``game``. ``view`` is the class of
    :class:`View` the attack reads challenges through.
    """

    view: ClassVar[type[View]] = View

    def _score(self, view: Any, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _bits(self, game: Any, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def scores(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        """A score per trial, on the batched path."""
        return self._score(self.view(oracles, size, single=False), rng)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        score = self._score(self.view(oracles, 1, single=True), rng)
        return int(self._bits(oracles.public["game"], score)[0])

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        found = self.scores(oracles, rng, size)
        return self._bits(oracles.public["game"], found).astype(np.int64)


def best_threshold(scores: np.ndarray, bits: np.ndarray) -> float:
    """The threshold t maximising the accuracy of ``score > t`` (midpoint between scores)."""
    scores = np.asarray(scores, float)
    bits = np.asarray(bits).astype(bool)
    keep = np.isfinite(scores)
    scores, bits = scores[keep], bits[keep]
    if len(scores) == 0:
        return 0.0
    order = np.argsort(scores)
    s, m = scores[order], bits[order]
    # Threshold just below position i: non-members below are right, members above are right.
    right_below = np.concatenate([[0], np.cumsum(~m)])
    right_above = np.concatenate([np.cumsum(m[::-1])[::-1], [0]])
    correct = right_below + right_above
    # Only cut between distinct scores.
    cuts = np.concatenate([[True], s[1:] > s[:-1], [True]])
    correct = np.where(cuts, correct, -1)
    i = int(np.argmax(correct))
    if i == 0:
        return float(s[0] - 1.0)
    if i == len(s):
        return float(s[-1] + 1.0)
    return float((s[i - 1] + s[i]) / 2)


def signed_threshold(scores: np.ndarray, bits: np.ndarray) -> tuple[float, float]:
    """(sign, t) maximising the accuracy of ``sign·score > t`` on the labelled scores."""
    best = (-1.0, 1.0, 0.0)
    for sign in (1.0, -1.0):
        t = best_threshold(sign * scores, bits)
        accuracy = float(np.mean((sign * scores > t) == bits.astype(bool)))
        if accuracy > best[0]:
            best = (accuracy, sign, t)
    return best[1], best[2]


def confidence(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logit-scaled confidence log p_y − log(1 − p_y), computed stably; y broadcasts."""
    import torch

    z = torch.as_tensor(np.array(logits), dtype=torch.float64)
    label = torch.as_tensor(np.broadcast_to(y, z.shape[:-1]).copy()).long().unsqueeze(-1)
    picked = z.gather(-1, label).squeeze(-1)
    others = z.scatter(-1, label, -torch.inf).logsumexp(-1)
    return (picked - others).numpy()


def record_key(x: np.ndarray, y: Any) -> bytes:
    """A record's features and label as bytes: finds it again among the population's."""
    return np.asarray(x, np.float32).tobytes() + int(y).to_bytes(8, "little", signed=True)
