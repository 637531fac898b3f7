"""Defenses: a trained model, a preprocessing step and a decision rule.

A :class:`Defended` classifier is what the challenger deploys and the adversary attacks:

- ``standard`` and ``adversarial-training``: the model's argmax (they differ in training);
- ``quantize``: inputs rounded to ``levels`` values per coordinate before the model (input
  discretisation, Buckman et al. 2018 style); the rounding has zero gradient almost
  everywhere, so gradients through it vanish;
- ``jpeg-like``: a non-differentiable smoothing step, JPEG's core: the 2-D DCT of the image,
  each coefficient rounded to a step that grows with its frequency, the inverse DCT;
- ``random-noise``: Gaussian noise of standard deviation ``sigma`` added at inference, the
  majority vote of ``votes`` noisy copies;
- ``smoothing``: randomized smoothing (Cohen, Rosenfeld and Kolter 2019): PREDICT for
  classification, CERTIFY for certified radii, exactly as the paper's pseudocode (a
  selection sample of n0 draws picks the class, a separate estimation sample of n draws
  bounds its probability with a one-sided Clopper–Pearson bound; abstain below ½);
- ``smoothing-one-stage``: a planted bug in CERTIFY: the class is picked and its
  probability estimated on the same n draws, with a normal-approximation bound (which
  reaches 1, an infinite radius, whenever all draws agree).

What the adversary's gradient oracle differentiates (:meth:`Defended.surrogate`) is the
defended forward pass as implemented: the model after the preprocessing step (whose
rounding passes no gradient), or for the randomized defenses the log of the mean softmax
over fresh noisy copies (their hard votes have no gradient at all).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from scipy import special

from games.robustness import perturb
from oracles import InvalidArgument

__all__ = [
    "ABSTAIN",
    "DEFENSES",
    "Defended",
    "GaussianNoise",
    "Identity",
    "JpegLike",
    "Quantize",
    "clopper_pearson_lower",
    "dct_matrix",
]

DEFENSES = (
    "standard",
    "adversarial-training",
    "quantize",
    "jpeg-like",
    "random-noise",
    "smoothing",
    "smoothing-one-stage",
)
ABSTAIN = -1


# -- preprocessing steps (public: the adversary knows the defense) --------------------------


@attrs.frozen
class Identity:
    """No preprocessing."""

    randomized: ClassVar[bool] = False

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x


@attrs.frozen
class Quantize:
    """Each coordinate rounded to the nearest of ``levels`` equally spaced values in [low, high]."""

    levels: int
    low: float = 0.0
    high: float = 1.0
    randomized: ClassVar[bool] = False

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        span = (self.high - self.low) / (self.levels - 1)
        return self.low + torch.round((x - self.low) / span) * span


def dct_matrix(size: int) -> torch.Tensor:
    """The orthonormal DCT-II matrix D (size × size): coefficients of a vector v are D v."""
    k = torch.arange(size, dtype=torch.float64)[:, None]
    i = torch.arange(size, dtype=torch.float64)[None, :]
    D = torch.cos(math.pi * (2 * i + 1) * k / (2 * size)) * math.sqrt(2 / size)
    D[0] /= math.sqrt(2)
    return D.float()


@attrs.frozen
class JpegLike:
    """JPEG's lossy core on the whole image: 2-D DCT, coefficient (i, j) rounded to a multiple
    of step·(1 + i + j), inverse DCT, clip to the range. High frequencies get the coarsest
    steps, so most are zeroed: a smoothing step whose rounding has no useful gradient."""

    image: tuple[int, int]
    step: float
    low: float = 0.0
    high: float = 1.0
    randomized: ClassVar[bool] = False

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        h, w = self.image
        rows, cols = dct_matrix(h).to(x.device), dct_matrix(w).to(x.device)
        table = self.step * (
            1 + torch.arange(h, device=x.device)[:, None] + torch.arange(w, device=x.device)
        )
        coefficients = rows @ x.reshape(-1, h, w) @ cols.T
        kept = torch.round(coefficients / table) * table
        return (rows.T @ kept @ cols).reshape(x.shape).clamp(self.low, self.high)


@attrs.frozen
class GaussianNoise:
    """x + sigma·N(0, I), a fresh draw per call from the caller's generator."""

    sigma: float
    randomized: ClassVar[bool] = True

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is None:
            raise InvalidArgument("the random-noise step needs a torch.Generator")
        return x + self.sigma * torch.randn(tuple(x.shape), generator=generator).to(x.device)


def clopper_pearson_lower(successes: Any, trials: int, alpha: float) -> np.ndarray:
    """One-sided lower confidence bound on a binomial proportion at level 1 − alpha (exact)."""
    from scipy.stats import beta  # imported on first use, as in games.stats

    k = np.asarray(successes, np.float64)
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(alpha, np.maximum(k, 1), trials - k + 1)
    return np.where(k > 0, bound, 0.0)


# -- the defended classifier ---------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class Defended:
    """A deployed classifier: ``model`` after ``transform``, decided by ``rule``.

    Attributes:
        rule: ``argmax`` (deterministic), ``vote`` (majority of ``votes`` noisy copies) or
            ``smoothing`` (PREDICT with ``n`` draws at level ``alpha``; CERTIFY with ``n0``
            selection and ``n`` estimation draws, or one sample when ``one_stage``).
        sigma: the noise of ``vote`` and ``smoothing``.
        votes: noisy copies per evaluation of the vote, and of the gradient surrogate of
            every randomized rule.
    """

    name: str
    model: torch.nn.Module = attrs.field(repr=False)
    transform: Any
    classes: int
    rule: str = "argmax"
    sigma: float = 0.0
    votes: int = 1
    n: int = 100
    n0: int = 10
    alpha: float = 0.001
    one_stage: bool = False

    @property
    def randomized(self) -> bool:
        return self.rule != "argmax"

    @property
    def device(self) -> torch.device:
        for parameter in self.model.parameters():
            return parameter.device
        return torch.device("cpu")

    # -- randomness -------------------------------------------------------------------

    def draws(self) -> int:
        """Noisy copies per decision: ``votes`` (vote), ``n`` (smoothing), 0 (argmax)."""
        return {"argmax": 0, "vote": self.votes, "smoothing": self.n}[self.rule]

    def noise(self, size: int, copies: int, dims: int, generator: torch.Generator) -> torch.Tensor:
        """Standard normal draws (size, copies, dims) from ``generator``, on the model's device."""
        return torch.randn((size, copies, dims), generator=generator).to(self.device)

    def judgement(self, size: int, dims: int, generator: torch.Generator) -> torch.Tensor | None:
        """The noise a trial's decisions use (None for a deterministic rule): drawn once, so
        the clean point and the answer are judged with the same coins."""
        copies = self.draws()
        return self.noise(size, copies, dims, generator) if copies else None

    # -- decisions --------------------------------------------------------------------

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The model's logits after the (deterministic) preprocessing step."""
        return self.model(self.transform(x))

    def counts(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Votes per class (B, classes) of the model on x + sigma·noise, noise (B, k, d)."""
        B, k, d = noise.shape
        points = (x[:, None, :] + self.sigma * noise).reshape(B * k, d)
        labels = self.model(points).argmax(1).reshape(B, k)
        return torch.nn.functional.one_hot(labels, self.classes).sum(1)

    def predict(
        self,
        x: torch.Tensor,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Labels (B,), ``ABSTAIN`` (−1) where smoothing abstains; randomized rules use
        ``noise`` if given, else fresh draws from ``generator``."""
        with torch.no_grad():
            if self.rule == "argmax":
                return self.logits(x).argmax(1)
            if noise is None:
                if generator is None:
                    raise InvalidArgument(f"defense {self.name!r} is randomized: pass a generator")
                noise = self.noise(len(x), self.draws(), x.shape[1], generator)
            votes = self.counts(x, noise)
            if self.rule == "vote":
                return votes.argmax(1)
            return _predict(votes, self.alpha)

    def scores(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Class probabilities (B, classes) in float64: the softmax, or the vote frequencies."""
        with torch.no_grad():
            if self.rule == "argmax":
                return torch.softmax(self.logits(x).double(), 1)
            if generator is None:
                raise InvalidArgument(f"defense {self.name!r} is randomized: pass a generator")
            copies = self.draws()
            votes = self.counts(x, self.noise(len(x), copies, x.shape[1], generator))
            return votes.double() / copies

    def surrogate(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The differentiable output an autograd-based attacker sees (logits, or log-probabilities)."""
        if self.rule == "argmax":
            return self.logits(x)
        if generator is None:
            raise InvalidArgument(f"defense {self.name!r} is randomized: pass a generator")
        noise = self.noise(len(x), self.votes, x.shape[1], generator)
        B, k, d = noise.shape
        points = (x[:, None, :] + self.sigma * noise).reshape(B * k, d)
        log_probs = torch.log_softmax(self.model(points), 1).reshape(B, k, -1)
        return torch.logsumexp(log_probs, 1) - math.log(k)

    def gradient(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        kind: str = "ce",
        generator: torch.Generator | None = None,
        *,
        bare: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs, gradient of the loss ``kind`` at x) through the defended forward pass, or
        through the bare model when ``bare`` (white-box access to the weights)."""
        points = x.detach().requires_grad_(True)  # a new leaf sharing x's storage
        with torch.enable_grad():
            out = self.model(points) if bare else self.surrogate(points, generator)
            value = perturb.loss(out, y, kind).sum()
            if value.requires_grad:
                (grad,) = torch.autograd.grad(value, points, allow_unused=True)
            else:
                grad = None
        return out.detach(), torch.zeros_like(x) if grad is None else grad.detach()

    def certify(
        self, x: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        """CERTIFY (Cohen et al. 2019, Algorithm 1): a class and an ℓ2 radius per point.

        Two stages: the class c_A is the majority of ``n0`` selection draws; an independent
        sample of ``n`` draws gives p_A's one-sided Clopper–Pearson lower bound at level
        1 − alpha; below ½ the point is abstained on (class −1, radius 0), else the radius
        is sigma·Φ⁻¹(p_A lower). With ``one_stage`` (the planted bug) one sample of ``n``
        draws does both, and p_A's bound is the normal approximation p̂ − z·√(p̂(1 − p̂)/n).
        """
        if self.rule != "smoothing":
            raise InvalidArgument(f"defense {self.name!r} does not certify; use smoothing")
        with torch.no_grad():
            d = x.shape[1]
            if self.one_stage:
                votes = self.counts(x, self.noise(len(x), self.n, d, generator))
                guess = votes.argmax(1)
                top = votes.gather(1, guess[:, None])[:, 0].cpu().numpy()
                p = top / self.n
                lower = p - special.ndtri(1 - self.alpha) * np.sqrt(p * (1 - p) / self.n)
            else:
                guess = self.counts(x, self.noise(len(x), self.n0, d, generator)).argmax(1)
                votes = self.counts(x, self.noise(len(x), self.n, d, generator))
                top = votes.gather(1, guess[:, None])[:, 0].cpu().numpy()
                lower = clopper_pearson_lower(top, self.n, self.alpha)
        certified = lower >= 0.5
        with np.errstate(over="ignore"):
            radius = np.where(certified, self.sigma * special.ndtri(np.minimum(lower, 1.0)), 0.0)
        label = torch.where(torch.from_numpy(certified).to(guess.device), guess, ABSTAIN)
        return label, radius


def _predict(votes: torch.Tensor, alpha: float) -> torch.Tensor:
    """PREDICT (Cohen et al. 2019): the top class if a two-sided binomial test of its count
    against the runner-up's rejects equal odds at level alpha, else abstain."""
    from scipy.stats import binom

    top = votes.argmax(1)
    n_a = votes.gather(1, top[:, None])[:, 0].cpu().numpy()
    runner_up = votes.scatter(1, top[:, None], -1).amax(1).cpu().numpy()
    total = n_a + runner_up
    # Two-sided p-value of Binomial(total, ½) at n_a ≥ total/2: 2·Pr[X ≥ n_a], capped at 1.
    p_value = np.minimum(1.0, 2 * binom.sf(n_a - 1, total, 0.5))
    keep = torch.from_numpy(p_value <= alpha).to(votes.device)
    return torch.where(keep, top, ABSTAIN)
