"""Square Attack (Andriushchenko, Croce, Flammarion and Hein 2020): random search with squares.

A score-based black-box attack: it only reads the defended classifier's outputs. Each
iteration proposes a change of the current best point confined to a random window (a
square of side ≈ √(p·h·w), p shrinking on a fixed schedule) and keeps it where the margin
log p_y − max_{j≠y} log p_j goes down; a point stays put once misclassified.

- ℓ∞: start from vertical stripes of ±ε; a proposal sets the window to ±ε (one sign per
  window) around the clean point.
- ℓ2: start from a sum of ±"eta" patterns (mass concentrated at each block's centre),
  scaled to norm ε; a proposal moves the perturbation's mass of a second window into the
  first, adds a fresh ±eta pattern there, and rescales to keep the norm at ε.

Windows are drawn per point. Vectors (1 × d layouts) get 1 × s windows. With labels only,
the margin is ±1 (a proposal is kept only when it misclassifies): plain random search.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from games.robustness import perturb

__all__ = ["eta", "p_schedule", "square"]


def p_schedule(iteration: int, budget: int, p_init: float) -> float:
    """The fraction of the image a window covers at ``iteration`` (the paper's schedule,
    stretched to a budget of ``budget`` iterations as if it were 10,000)."""
    it = int(iteration / max(budget, 1) * 10_000)
    for bound, divisor in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64), (6000, 128), (8000, 256)):  # fmt: skip
        if it <= bound:
            return p_init / divisor
    return p_init / 512


def _rectangles(h: int, w: int) -> torch.Tensor:
    """Nested rectangles with weights 1/(k+1)² around the centre, unit ℓ2 norm."""
    out = torch.zeros(h, w, dtype=torch.float64)
    if h == 0 or w == 0:
        return out
    ch, cw = h // 2, w // 2
    for k in range(max(ch, cw) + 1):
        out[max(ch - k, 0) : min(ch + k + 1, h), max(cw - k, 0) : min(cw + k + 1, w)] += (
            1.0 / (k + 1) ** 2
        )
    return out / out.norm()


def eta(h: int, w: int, flip: bool) -> torch.Tensor:
    """The ℓ2 attack's pattern of an h × w window: two halves of opposite sign, unit norm."""
    if h == 1 and w == 1:
        return torch.ones(1, 1, dtype=torch.float64)
    out = torch.zeros(h, w, dtype=torch.float64)
    if h >= 2 and (w < 2 or not flip):
        out[: h // 2] = _rectangles(h // 2, w)
        out[h // 2 :] = -_rectangles(h - h // 2, w)
    else:
        out[:, : w // 2] = _rectangles(h, w // 2)
        out[:, w // 2 :] = -_rectangles(h, w - w // 2)
    return out / out.norm()


def _windows(
    size: int, h: int, w: int, sh: int, sw: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """A boolean mask (size, h, w) with one random sh × sw window per point."""
    top = torch.randint(0, h - sh + 1, (size,), generator=generator).to(device)
    left = torch.randint(0, w - sw + 1, (size,), generator=generator).to(device)
    rows = torch.arange(h, device=device)[None, :, None]
    cols = torch.arange(w, device=device)[None, None, :]
    return (
        (rows >= top[:, None, None])
        & (rows < (top + sh)[:, None, None])
        & (cols >= left[:, None, None])
        & (cols < (left + sw)[:, None, None])
    )


def _signs(shape: tuple[int, ...], generator: torch.Generator, device: torch.device):
    return (torch.randint(0, 2, shape, generator=generator) * 2 - 1).to(device)


def _place(pattern: torch.Tensor, mask: torch.Tensor, sh: int, sw: int) -> torch.Tensor:
    """The (size, h, w) array holding ``pattern`` (size, sh, sw) at each point's window."""
    out = torch.zeros(mask.shape, dtype=pattern.dtype, device=mask.device)
    out[mask] = pattern.reshape(-1)
    return out


def square(
    margin: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    radius: torch.Tensor,
    *,
    norm: str,
    low: float,
    high: float,
    image: tuple[int, int],
    queries: int,
    generator: torch.Generator,
    p_init: float = 0.8,
) -> torch.Tensor:
    """Square Attack on a batch with ``queries`` calls of ``margin`` (the first at the start).

    Args:
        margin: ``margin(points) -> (B,)``, positive while a point is classified correctly.

    Returns:
        The best point per point: misclassified where the search found one.
    """
    h, w = image
    size = len(x)
    r = radius.reshape(-1, 1, 1).double()
    x_img = x.reshape(size, h, w).double()

    def clip(points: torch.Tensor) -> torch.Tensor:
        flat = points.reshape(size, -1).float()
        return perturb.project(flat, x, radius, norm, low, high)

    best = clip(x_img + _start(size, image, r, norm, generator, x.device))
    best_margin = margin(best)
    for i in range(1, queries):
        if bool((best_margin <= 0).all()):
            break
        p = p_schedule(i - 1, queries, p_init)
        s = max(1, int(round(math.sqrt(p * h * w))))
        current = best.reshape(size, h, w).double() - x_img
        propose = _linf_proposal if norm == "linf" else _l2_proposal
        candidate = clip(x_img + propose(current, r, s, generator))
        value = margin(candidate)
        keep = (value < best_margin) & (best_margin > 0)
        best = torch.where(keep[:, None], candidate, best)
        best_margin = torch.where(keep, value, best_margin)
    return best


def _start(
    size: int,
    image: tuple[int, int],
    r: torch.Tensor,
    norm: str,
    generator: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """The first perturbation (size, h, w): ℓ∞ vertical stripes of ±ε, or ℓ2 a sum of ±eta
    patterns over blocks, scaled to norm ε."""
    h, w = image
    if norm == "linf":
        stripes = _signs((size, 1, w), generator, device).double()
        return r * stripes.expand(size, h, w)
    delta = torch.zeros(size, h, w, dtype=torch.float64, device=device)
    s = max(1, min(h, w) // 5) if min(h, w) >= 5 else 1
    sh, sw = min(s, h) if h > 1 else 1, min(max(s, 1), w)
    for top in range(0, h - sh + 1, sh):
        for left in range(0, w - sw + 1, sw):
            sign = _signs((size, 1, 1), generator, device).double()
            delta[:, top : top + sh, left : left + sw] += sign * eta(sh, sw, False).to(device)
    return delta / delta.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1) * r


def _linf_proposal(
    current: torch.Tensor, r: torch.Tensor, s: int, generator: torch.Generator
) -> torch.Tensor:
    """The current perturbation with one random s × s window set to ±ε (one sign per point)."""
    size, h, w = current.shape
    sh, sw = min(s, h), min(s, w)
    window = _windows(size, h, w, sh, sw, generator, current.device)
    sign = _signs((size, 1, 1), generator, current.device).double()
    return torch.where(window, r * sign, current)


def _l2_proposal(
    current: torch.Tensor, r: torch.Tensor, s: int, generator: torch.Generator
) -> torch.Tensor:
    """The current perturbation with a second window's mass moved into a first one, plus a
    fresh ±eta pattern there, rescaled to norm ε."""
    size, h, w = current.shape
    device = current.device
    s = max(s, 3) if min(h, w) >= 3 else s
    sh, sw = min(s, h), min(s, w)
    first = _windows(size, h, w, sh, sw, generator, device)
    second = _windows(size, h, w, sh, sw, generator, device)
    total = current.flatten(1).norm(dim=1)
    both = first | second
    moved = (current * both).flatten(1).norm(dim=1)
    inside = (current * first).flatten(1).norm(dim=1)
    pattern = eta(sh, sw, bool(torch.rand(1, generator=generator) > 0.5)).to(device)
    signs = _signs((size, 1, 1), generator, device).double()
    fresh = pattern[None] * signs
    old = current[first].reshape(size, sh, sw) / inside.clamp_min(1e-12).reshape(-1, 1, 1)
    fresh = fresh + old
    budget = ((r.reshape(-1) ** 2 - total**2).clamp_min(0) + moved**2).sqrt()
    fresh = fresh / fresh.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1)
    fresh = fresh * budget.reshape(-1, 1, 1)
    proposal = torch.where(second, torch.zeros_like(current), current)
    proposal = torch.where(first, _place(fresh, first, sh, sw), proposal)
    length = proposal.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1)
    return proposal / length * r
