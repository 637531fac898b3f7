"""Perturbations within a norm ball: projection, random starts, steps, losses and PGD.

The machinery that both sides of a robustness game share: the challenger uses it to train
adversarially (Madry et al. 2018) and to run the reference attack of the ``pgd-gap``
assumption; the attacks in :mod:`adversaries.robustness` use it through oracles. Every
function works on a batch: points are (B, d) float tensors, ``eps`` is a (B,) tensor of
radii (one per point), randomness comes from an explicit ``torch.Generator`` (drawn on the
CPU, so a seed gives the same draws on any device).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from oracles import InvalidArgument, checks

__all__ = [
    "LOSSES",
    "SCHEDULES",
    "ascent",
    "loss",
    "pgd",
    "project",
    "random_start",
    "uniform",
]

LOSSES = ("ce", "dlr", "margin")
SCHEDULES = ("constant", "cosine")

Gradient = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _column(eps: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(eps, dtype=x.dtype, device=x.device).reshape(-1, 1).expand(len(x), 1)


def project(
    x_adv: torch.Tensor,
    x: torch.Tensor,
    eps: torch.Tensor | float,
    norm: str,
    low: float,
    high: float,
) -> torch.Tensor:
    """``x_adv`` moved into the ``norm`` ball of radius ``eps`` around ``x``, then into [low, high].

    Clipping to the range after the ball never leaves the ball (``x`` lies in the range,
    so each coordinate only moves towards it).
    """
    radius = _column(eps, x)
    if norm == "linf":
        out = torch.minimum(torch.maximum(x_adv, x - radius), x + radius)
    else:
        delta = x_adv - x
        length = torch.linalg.vector_norm(delta, dim=1, keepdim=True)
        factor = torch.where(length > radius, radius / length.clamp_min(1e-30), 1.0)
        out = x + delta * factor
    return out.clamp(low, high)


def uniform(
    shape: tuple[int, ...], generator: torch.Generator, device: torch.device | str
) -> torch.Tensor:
    """U(0, 1) draws on the CPU from ``generator``, moved to ``device``."""
    return torch.rand(shape, generator=generator).to(device)


def random_start(
    x: torch.Tensor,
    eps: torch.Tensor | float,
    norm: str,
    low: float,
    high: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """A point drawn uniformly from the ball around each point (then clipped to the range)."""
    radius = _column(eps, x)
    if norm == "linf":
        delta = (2 * uniform(tuple(x.shape), generator, x.device) - 1) * radius
    else:
        direction = torch.randn(tuple(x.shape), generator=generator).to(x.device)
        direction = direction / torch.linalg.vector_norm(direction, dim=1, keepdim=True).clamp_min(
            1e-30
        )
        scale = uniform((len(x), 1), generator, x.device) ** (1.0 / x.shape[1])
        delta = direction * scale * radius
    return project(x + delta, x, eps, norm, low, high)


def ascent(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent direction of unit ``norm`` for a gradient: sign (ℓ∞), normalised (ℓ2)."""
    if norm == "linf":
        return grad.sign()
    length = torch.linalg.vector_norm(grad, dim=1, keepdim=True)
    return torch.where(length > 0, grad / length.clamp_min(1e-30), torch.zeros_like(grad))


def loss(logits: torch.Tensor, y: torch.Tensor, kind: str = "ce") -> torch.Tensor:
    """A per-point loss that an untargeted attack climbs: ``ce``, ``dlr`` or ``margin``.

    ``margin`` is max_{j≠y} z_j − z_y (positive iff misclassified); ``dlr`` is Croce and
    Hein's difference-of-logits ratio −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3), invariant to
    shifting and scaling the logits. With two classes there is no third logit, and ``dlr``
    falls back to ``margin``.
    """
    if kind == "ce":
        return torch.nn.functional.cross_entropy(logits, y, reduction="none")
    own = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], -math.inf).amax(1)
    if kind == "margin" or (kind == "dlr" and logits.shape[1] < 3):
        return others - own
    if kind == "dlr":
        top = logits.sort(dim=1, descending=True).values
        return (others - own) / (top[:, 0] - top[:, 2] + 1e-12)
    raise InvalidArgument(f"loss={kind!r} must be one of: {', '.join(LOSSES)}")


def pgd(
    gradient: Gradient,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: torch.Tensor | float,
    *,
    norm: str,
    low: float,
    high: float,
    steps: int,
    step: float,
    restarts: int = 1,
    schedule: str = "constant",
    start: bool = True,
    generator: torch.Generator,
    loss_kind: str = "ce",
    keep_hits: bool = True,
) -> torch.Tensor:
    """Projected gradient ascent (Madry et al. 2018) on a batch, with restarts.

    Args:
        gradient: ``gradient(points) -> (logits, grad)`` of the loss being climbed; the
            logits tell which queried points are already misclassified.
        step: the step size as a fraction of each point's radius.
        schedule: ``constant``, or ``cosine`` (the step decays to 0 over the steps).
        start: begin each restart at a uniformly random point of the ball (else at x).
        keep_hits: return each point's latest queried point that was misclassified, if
            any; False returns the last iterates (adversarial training climbs the loss to
            the end). The latest rather than the first: with a randomized defense a hit is
            judged on noisy outputs, and later iterates lie deeper past the boundary.

    Returns:
        Per point, the latest queried point that was misclassified, if any
        (``keep_hits``); else the last iterate of the restart whose last queried point
        had the highest loss. Uses ``restarts × steps`` gradient calls.
    """
    checks.choice("schedule", schedule, SCHEDULES)
    radius = _column(eps, x)
    found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    best = x.clone()
    fallback = x.clone()
    fallback_loss = torch.full((len(x),), -math.inf, device=x.device)
    for _ in range(restarts):
        current = random_start(x, eps, norm, low, high, generator) if start else x.clone()
        last = torch.full((len(x),), -math.inf, device=x.device)
        for t in range(steps):
            logits, grad = gradient(current)
            if keep_hits:
                hit = logits.argmax(1) != y
                best = torch.where(hit[:, None], current, best)
                found |= hit
            if t == steps - 1:
                last = loss(logits.detach(), y, loss_kind)
            size = (
                step if schedule == "constant" else step * 0.5 * (1 + math.cos(math.pi * t / steps))
            )
            current = project(current + size * radius * ascent(grad, norm), x, eps, norm, low, high)
        better = last > fallback_loss
        fallback[better] = current[better]
        fallback_loss = torch.where(better, last, fallback_loss)
    return torch.where(found[:, None], best, fallback)
