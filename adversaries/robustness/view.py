"""The attacks' view of a robustness challenge: batches of points, whatever the path.

On the per-trial path the oracles take one point (d,) and the public values are scalars; on
the batched path they take (size, d). :class:`View` turns both into (B, d) tensors so that
each attack is written once, for a batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from games.robustness import perturb
from oracles import Oracles

__all__ = ["View", "generator"]


def generator(rng: np.random.Generator) -> torch.Generator:
    """A torch generator seeded from the adversary's numpy generator."""
    return torch.Generator().manual_seed(int(rng.integers(2**63)))


def _tensor(value: Any, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    return torch.as_tensor(np.asarray(value), dtype=dtype)


class View:
    """One challenge as a batch: ``x`` (B, d), ``y`` (B,), ``eps`` (B,) and the oracles.

    ``radius`` is ``eps`` capped at the diameter of the data range, so that an unbounded
    radius (a certificate that claims everything) still gives finite steps.
    """

    def __init__(self, oracles: Oracles, size: int, single: bool) -> None:
        public = oracles.public
        self.oracles = oracles
        self.single = single
        x = _tensor(public["x"], torch.float32)
        self.x = x.reshape(size, -1)
        self.device = self.x.device
        self.y = _tensor(public["y"], torch.long).reshape(size).to(self.device)
        self.eps = _tensor(public["eps"], torch.float64).reshape(size).to(self.device)
        self.norm: str = public["norm"]
        self.low: float = float(public["low"])
        self.high: float = float(public["high"])
        self.classes: int = int(public["classes"])
        height, width = public["image"]
        self.image = (int(height), int(width))
        self.transform = public["transform"]
        dims = self.x.shape[1]
        span = self.high - self.low
        diameter = span if self.norm == "linf" else span * math.sqrt(dims)
        self.radius = self.eps.clamp(max=diameter).float()

    @property
    def size(self) -> int:
        return len(self.x)

    @property
    def ball(self) -> dict[str, Any]:
        """Where answers must lie, as the searches take it: ``norm``, ``low`` and ``high``."""
        return {"norm": self.norm, "low": self.low, "high": self.high}

    def has(self, name: str) -> bool:
        return name in self.oracles

    def _ask(self, name: str, *args: Any) -> Any:
        if self.single:
            args = tuple(a[0] if isinstance(a, torch.Tensor) and a.dim() > 0 else a for a in args)
        return self.oracles[name](*args)

    def _batch(self, value: Any, dtype: torch.dtype) -> torch.Tensor:
        return _tensor(value, dtype).to(self.device)

    def gradient(
        self, points: torch.Tensor, loss: str = "ce", *, bare: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs, gradient of ``loss``) at ``points``: through the defense, or the bare
        model (``bare``)."""
        name = "model_gradient" if bare else "gradient"
        logits, grad = self._ask(name, points, self.y, loss)
        return (
            self._batch(logits, torch.float32).reshape(self.size, -1),
            self._batch(grad, torch.float32).reshape(self.size, -1),
        )

    def scores(self, points: torch.Tensor) -> torch.Tensor:
        """Class probabilities (B, classes)."""
        return self._batch(self._ask("scores", points), torch.float64).reshape(self.size, -1)

    def labels(self, points: torch.Tensor) -> torch.Tensor:
        """The defended classifier's labels (B,); −1 where it abstains."""
        return self._batch(self._ask("labels", points), torch.long).reshape(self.size)

    def project(self, points: torch.Tensor) -> torch.Tensor:
        return perturb.project(points, self.x, self.radius, self.norm, self.low, self.high)

    def answer(self, points: torch.Tensor) -> torch.Tensor:
        """What to return to the game: one point, or the batch."""
        points = points.detach()
        return points[0] if self.single else points
