"""APGD (Croce and Hein 2020): PGD with momentum and a step size that halves itself.

The step size starts at 2ε and is halved at checkpoints w_j = ⌈p_j·N⌉ (p_0 = 0,
p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)) when either

1. fewer than a fraction ρ of the steps since the last checkpoint increased the loss, or
2. the step size was not halved at the last checkpoint and the best loss has not moved
   since;

after halving, the iterate restarts from the best point so far. The update is
z = P(x_k + η·s(∇)) and x_{k+1} = P(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})) with
α = 0.75 (1 at the first step), s the steepest-ascent direction of the norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from games.robustness import perturb

__all__ = ["apgd", "checkpoints"]


def checkpoints(steps: int) -> list[int]:
    """The iterations at which APGD may halve its step size."""
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    # Rounded before the ceiling: 0.57 · 100 must give 57, not 58.
    marks = sorted({math.ceil(round(q * steps, 9)) for q in p[1:]})
    return [m for m in marks if 0 < m <= steps]


def apgd(
    gradient: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    x: torch.Tensor,
    y: torch.Tensor,
    radius: torch.Tensor,
    *,
    norm: str,
    low: float,
    high: float,
    steps: int,
    loss_kind: str,
    generator: torch.Generator,
    rho: float = 0.75,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One run of APGD on a batch: ``steps + 1`` gradient calls.

    Args:
        gradient: ``gradient(points) -> (outputs, grad)`` of the loss ``loss_kind``.
        radius: (B,) radii.

    Returns:
        (points, found): per point the latest misclassified iterate if any (``found``),
        else the iterate with the highest loss.
    """
    eta = (2 * radius).reshape(-1, 1)
    current = perturb.random_start(x, radius, norm, low, high, generator)
    logits, grad = gradient(current)
    value = perturb.loss(logits, y, loss_kind)
    best, best_value, best_grad = current.clone(), value.clone(), grad.clone()
    found = logits.argmax(1) != y
    hit = torch.where(found[:, None], current, x)
    previous = current.clone()
    marks = set(checkpoints(steps))
    last_mark = 0
    increases = torch.zeros(len(x), device=x.device)
    halved_last = torch.ones(len(x), dtype=torch.bool, device=x.device)
    best_at_mark = best_value.clone()
    for i in range(steps):
        momentum = 0.75 if i > 0 else 1.0
        z = perturb.project(current + eta * perturb.ascent(grad, norm), x, radius, norm, low, high)
        moved = current + momentum * (z - current) + (1 - momentum) * (current - previous)
        previous, current = current, perturb.project(moved, x, radius, norm, low, high)
        logits, grad = gradient(current)
        new_value = perturb.loss(logits, y, loss_kind)
        miss = logits.argmax(1) != y
        hit[miss] = current[miss]
        found |= miss
        increases += (new_value > value).float()
        value = new_value
        better = value > best_value
        best[better], best_grad[better] = current[better], grad[better]
        best_value = torch.where(better, value, best_value)
        if i + 1 in marks:
            stalled = increases < rho * (i + 1 - last_mark)
            flat = ~halved_last & (best_at_mark >= best_value)
            halve = stalled | flat
            eta[halve] /= 2
            current[halve], grad[halve] = best[halve], best_grad[halve]
            halved_last, best_at_mark = halve, best_value.clone()
            increases.zero_()
            last_mark = i + 1
    return torch.where(found[:, None], hit, best), found
