"""The unlearning schemes: a learning algorithm A and an unlearning update U, batched.

Methods (:data:`METHODS`):

- ``retrain``: exact: U retrains on D \\ S from scratch. Advantage 0 by construction.
- ``sisa``: sharded exact unlearning (Bourtoule et al. 2021): A assigns each record to one of
  ``shards`` shards independently and uniformly and trains one model per shard; the model is
  their ensemble (mean of the shards' probabilities). U retrains, from scratch, only the
  shards that held a record of S. Exact: the records of D \\ S are still assigned
  independently and uniformly, and every shard model is a fresh draw of A on its shard.
- ``finetune``: U continues training on D \\ S for ``unlearn_epochs`` epochs at
  ``unlearn_lr``. No claim.
- ``gradient-ascent``: U ascends the loss on S for ``unlearn_epochs`` epochs at
  ``unlearn_lr``. No claim.
- ``noisy-descent``: certified removal by descent and Gaussian perturbation
  (Neel, Roth, Sharifi-Malvajerdi 2021); the theorem is stated on :class:`NoisyDescent`.
- ``noisy-descent-weak``: the same method with its published noise ten times smaller, claiming
  the same (ε, δ): a planted bug for the empirical check to catch.

A scheme works on a chunk of M trials at once (:class:`TrialModels`), with the privacy
domain's batched trainer (:mod:`games.privacy.training`); each trial's randomness comes from
its own base seed, one stream per stage (learn, unlearn, publish, shard assignment).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from scipy import special

from games.privacy.accounting import dp_advantage_bound
from games.privacy.networks import Params, generators
from games.privacy.training import SGD
from oracles import InvalidArgument

__all__ = [
    "METHODS",
    "Finetune",
    "Fit",
    "GradientAscent",
    "Model",
    "NoisyDescent",
    "NoisyDescentWeak",
    "Retrain",
    "Sisa",
    "TrialModels",
    "gaussian_epsilon",
]

# Stages of a trial's randomness: SeedSequence(base, spawn_key=(stage, shard)).
_LEARN, _UNLEARN, _PUBLISH, _ASSIGN = 0, 1, 2, 3


def _seq(base: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(base, spawn_key=key)


def gaussian_epsilon(sensitivity: float, sigma: float, delta: float) -> float:
    """The smallest ε for which the Gaussian mechanism is (ε, δ)-DP.

    Adding N(0, σ²I) to a value whose ℓ2 sensitivity is Δ is (ε, δ)-DP if and only if
    Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ) ≤ δ (Balle and Wang 2018, Theorem 8); the left side
    falls as ε grows, so ε is found by bisection.
    """
    if not (sensitivity >= 0 and sigma > 0 and 0 < delta < 1):
        raise InvalidArgument(
            f"sensitivity={sensitivity!r} must be >= 0, sigma={sigma!r} > 0, delta={delta!r} in (0, 1)"
        )
    if sensitivity == 0:
        return 0.0
    mu = sensitivity / sigma

    def excess(eps: float) -> float:
        a, b = mu / 2, eps / mu
        return float(special.ndtr(a - b) - math.exp(eps + special.log_ndtr(-a - b))) - delta

    if excess(0.0) <= 0:
        return 0.0
    low, high = 0.0, 1.0
    while excess(high) > 0:
        low, high = high, 2 * high
    for _ in range(200):
        middle = (low + high) / 2
        if excess(middle) > 0:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return high


# -- models -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class Model:
    """White-box access to one published model per trial (an ensemble of shard models for SISA).

    ``params`` are stacked with ``size × shards`` entries (trial-major); ``active`` (size,
    shards) marks the shard models in each ensemble. An ensemble's logits are the logarithm
    of its shards' mean probabilities; a single model's are its own logits.
    """

    trainer: SGD
    params: Params = attrs.field(repr=False)
    shards: int = 1
    active: np.ndarray | None = attrs.field(default=None, repr=False)

    @property
    def size(self) -> int:
        return int(self.params[0].shape[0]) // self.shards

    def logits(self, X: Any) -> np.ndarray:
        """Logits (size, n, classes) on X: (n, d) shared, or (size, n, d) per trial."""
        X = np.array(X, np.float32)  # a copy: inputs may be read-only
        if self.shards == 1:
            return self.trainer.logits(self.params, torch.as_tensor(X)).cpu().numpy()
        if X.ndim == 3:
            X = np.repeat(X, self.shards, axis=0)
        z = self.trainer.logits(self.params, torch.as_tensor(X)).cpu()
        logp = torch.log_softmax(z.double(), -1).view(self.size, self.shards, *z.shape[1:])
        active = torch.as_tensor(
            np.ones((self.size, self.shards), bool) if self.active is None else self.active
        )
        logp = logp.masked_fill(~active[:, :, None, None], -math.inf)
        count = active.sum(1).clamp(min=1).double().log()
        return (logp.logsumexp(1) - count[:, None, None]).float().numpy()

    def loss(self, X: Any, y: Any) -> np.ndarray:
        """Per-example cross-entropy (size, n); y (n,) shared or (size, n)."""
        logp = torch.log_softmax(torch.as_tensor(self.logits(X)).double(), -1)
        y = torch.as_tensor(np.array(y)).long()
        if y.dim() == 1:
            y = y.expand(logp.shape[0], -1)
        return (-logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)).float().numpy()


@attrs.frozen(kw_only=True, eq=False)
class TrialModels:
    """The state of M trials' models: stacked parameters (M × shards), what each shard model
    was trained on (masks (M, shards, records)) and which trials failed."""

    params: Params
    masks: np.ndarray
    diverged: np.ndarray

    @property
    def size(self) -> int:
        return int(self.masks.shape[0])

    @property
    def shards(self) -> int:
        return int(self.masks.shape[1])

    def _rows(self, trials: np.ndarray) -> torch.Tensor:
        rows = np.asarray(trials)[:, None] * self.shards + np.arange(self.shards)
        return torch.as_tensor(rows.ravel(), dtype=torch.long)

    def take(self, trials: np.ndarray) -> TrialModels:
        """The fit of some trials (an index array)."""
        rows = self._rows(trials).to(self.params[0].device)
        return TrialModels(
            params=tuple(p[rows] for p in self.params),
            masks=self.masks[trials],
            diverged=self.diverged[trials],
        )

    def put(self, trials: np.ndarray, other: TrialModels) -> TrialModels:
        """This fit with the given trials replaced by ``other``'s."""
        rows = self._rows(trials).to(self.params[0].device)
        params = []
        for p, q in zip(self.params, other.params, strict=True):
            p = p.clone()
            p[rows] = q
            params.append(p)
        masks = self.masks.copy()
        masks[trials] = other.masks
        diverged = self.diverged.copy()
        diverged[trials] = other.diverged
        return TrialModels(params=tuple(params), masks=masks, diverged=diverged)


#: The old name of :class:`TrialModels`.
Fit = TrialModels


def _train(
    trainer: SGD,
    X: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    seeds: Sequence[Any],
    device: str,
    *,
    size: int | None = None,
    init: Params | None = None,
) -> tuple[Params, np.ndarray]:
    """Train the rows of ``masks`` that hold a record; empty rows get zero parameters and
    count as diverged (callers make sure they are never used)."""
    keep = masks.any(axis=1)
    rows = np.flatnonzero(keep)
    start = None if init is None else tuple(p[torch.as_tensor(rows, device=p.device)] for p in init)
    trained = trainer.train(
        X, y, masks[rows], [seeds[int(r)] for r in rows], device, size=size, init=start
    )
    if keep.all():
        return trained.params, trained.diverged
    params = []
    index = torch.as_tensor(rows, device=trained.params[0].device)
    for p in trained.params:
        full = torch.zeros((len(masks), *p.shape[1:]), dtype=p.dtype, device=p.device)
        full[index] = p
        params.append(full)
    diverged = np.ones(len(masks), bool)
    diverged[rows] = trained.diverged
    return tuple(params), diverged


# -- the schemes --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Retrain:
    """Exact unlearning: U retrains on D \\ S from scratch with A (advantage 0 by construction).

    A is ``trainer`` on the records a mask selects; ``size`` is the nominal training-set size
    the trainer is given (None: each model's own record count).
    """

    trainer: SGD
    size: int | None = None

    exact: ClassVar[bool] = True

    def learn(
        self, X: np.ndarray, y: np.ndarray, masks: np.ndarray, bases: np.ndarray, device: str
    ) -> TrialModels:
        """A on each row of ``masks`` (M, records)."""
        seeds = [_seq(int(b), _LEARN, 0) for b in bases]
        params, diverged = _train(self.trainer, X, y, masks, seeds, device, size=self.size)
        return TrialModels(params=params, masks=masks[:, None, :].copy(), diverged=diverged)

    def unlearn(
        self,
        X: np.ndarray,
        y: np.ndarray,
        fit: TrialModels,
        forget: np.ndarray,
        bases: np.ndarray,
        device: str,
    ) -> TrialModels:
        """U: remove the records of ``forget`` (M, records) from each model of ``fit``."""
        seeds = [_seq(int(b), _UNLEARN, 0) for b in bases]
        kept = fit.masks[:, 0] & ~forget
        trainer, rows, size, init = self._update(fit, kept, forget)
        params, diverged = _train(trainer, X, y, rows, seeds, device, size=size, init=init)
        return TrialModels(params=params, masks=kept[:, None, :], diverged=diverged | fit.diverged)

    def _update(
        self, fit: TrialModels, kept: np.ndarray, forget: np.ndarray
    ) -> tuple[SGD, np.ndarray, int | None, Params | None]:
        """What U trains: the trainer, each model's records, the nominal training-set size and
        the parameters it starts from (here A on D \\ S, from scratch)."""
        return self.trainer, kept, self.size, None

    def publish(self, fit: TrialModels, bases: np.ndarray, device: str) -> TrialModels:
        """What is released: the models as they are."""
        return fit


@attrs.frozen(kw_only=True)
class Sisa(Retrain):
    """SISA (Bourtoule et al. 2021): an ensemble of shard models; U retrains the shards S touched.

    Each record goes to one of ``shards`` shards, independently and uniformly (so deleting
    records leaves the others' assignment exactly as a fresh one would be); each shard model
    is trained from scratch on its shard alone. A shard left empty drops out of the ensemble.
    """

    shards: int = 4

    def _assign(self, masks: np.ndarray, bases: np.ndarray) -> np.ndarray:
        out = np.zeros((len(masks), self.shards, masks.shape[1]), bool)
        for i, base in enumerate(bases):
            rng = np.random.default_rng(_seq(int(base), _ASSIGN))
            shard = np.asarray(rng.integers(self.shards, size=masks.shape[1]))
            out[i] = masks[i][None, :] & (shard[None, :] == np.arange(self.shards)[:, None])
        return out

    def learn(
        self, X: np.ndarray, y: np.ndarray, masks: np.ndarray, bases: np.ndarray, device: str
    ) -> TrialModels:
        shard_masks = self._assign(masks, bases)
        seeds = [_seq(int(b), _LEARN, j) for b in bases for j in range(self.shards)]
        flat = shard_masks.reshape(-1, masks.shape[1])
        params, diverged = _train(self.trainer, X, y, flat, seeds, device, size=self.size)
        used = flat.any(axis=1)
        failed = np.asarray((diverged & used).reshape(len(masks), self.shards).any(axis=1))
        return TrialModels(params=params, masks=shard_masks, diverged=failed)

    def unlearn(
        self,
        X: np.ndarray,
        y: np.ndarray,
        fit: TrialModels,
        forget: np.ndarray,
        bases: np.ndarray,
        device: str,
    ) -> TrialModels:
        touched = (fit.masks & forget[:, None, :]).any(axis=2)  # (M, shards)
        masks = fit.masks & ~forget[:, None, :]
        left = masks.any(axis=2)
        # A shard S emptied gets zero parameters, as A on D \ S gives a shard it never
        # trains: its stale fit (on records of S alone) would tell the worlds apart.
        emptied = np.flatnonzero((touched & ~left).reshape(-1))
        redo = touched & left
        if not redo.any() and not emptied.size:
            return TrialModels(params=fit.params, masks=masks, diverged=fit.diverged)
        out = [p.clone() for p in fit.params]
        failed = fit.diverged.copy()
        if redo.any():
            trials, shards = np.nonzero(redo)
            seeds = [
                _seq(int(bases[i]), _UNLEARN, int(j)) for i, j in zip(trials, shards, strict=True)
            ]
            params, diverged = _train(
                self.trainer, X, y, masks[trials, shards], seeds, device, size=self.size
            )
            rows = torch.as_tensor(trials * self.shards + shards, device=out[0].device)
            for p, q in zip(out, params, strict=True):
                p[rows] = q
            failed[trials[diverged]] = True
        for p in out:
            p[torch.as_tensor(emptied, device=p.device)] = 0
        return TrialModels(params=tuple(out), masks=masks, diverged=failed)


@attrs.frozen(kw_only=True)
class Finetune(Retrain):
    """U continues training on D \\ S from the trained model with ``update`` (no claim)."""

    update: SGD

    exact: ClassVar[bool] = False

    def _update(
        self, fit: TrialModels, kept: np.ndarray, forget: np.ndarray
    ) -> tuple[SGD, np.ndarray, int | None, Params | None]:
        return self.update, kept, self.size, fit.params


@attrs.frozen(kw_only=True)
class GradientAscent(Retrain):
    """U ascends the loss on S from the trained model with ``update`` (an ascending trainer;
    no claim)."""

    update: SGD

    exact: ClassVar[bool] = False

    def _update(
        self, fit: TrialModels, kept: np.ndarray, forget: np.ndarray
    ) -> tuple[SGD, np.ndarray, int | None, Params | None]:
        return self.update, forget, None, fit.params


@attrs.frozen(kw_only=True)
class NoisyDescent(Finetune):
    """Certified removal by gradient descent and Gaussian perturbation ("Descent-to-Delete").

    The algorithm (Neel, Roth and Sharifi-Malvajerdi 2021, perturbed gradient descent): for a
    dataset E, f_E(θ) = (1/n)·Σ_{(x, y) ∈ E} ℓ(θ; x, y) + (λ/2)‖θ‖², with ℓ the cross-entropy
    of multinomial logistic regression θ = (W, b) and n = ``training_size`` a fixed constant
    (the same for D and D \\ S).

    - A(E): T₀ = ``epochs`` steps of full-batch gradient descent on f_E with step η = 2/(β+λ)
      from the trainer's random start θ₀; publish θ + N(0, σ²I).
    - U(D, S): from A's internal (unpublished, noiseless) θ_D, T = ``unlearn_epochs`` steps of
      the same descent on f_{D\\S}; publish θ + N(0, σ²I).

    Theorem. Assume every record has ‖x‖ ≤ R (R = 1 here) and |S| = k. Then ℓ is convex,
    L-Lipschitz with L = √2·√(R²+1) (its gradient is x̃(p − e_y), x̃ = (x, 1)) and
    (R²+1)/2-smooth (Böhning's bound on the softmax Hessian), so f_E is λ-strongly convex and
    β-smooth with β = λ + (R²+1)/2, and a descent step with η = 2/(β+λ) is a contraction of
    ratio γ = (β−λ)/(β+λ). With ρ = ‖θ₀‖_max + L/λ (a bound on the distance from any start to
    any minimiser; ‖θ*_E‖ ≤ L/λ and ‖θ₀‖ ≤ √(c(d+1)/d) for the trainer's uniform start) and
    ‖θ*_D − θ*_{D\\S}‖ ≤ kL/(λn) (strong convexity; f_D − f_{D\\S} has gradients of norm at
    most kL/n), the noiseless outputs of the two worlds are at distance at most

        Δ = γ^T·(γ^{T₀}·ρ + kL/(λn)) + γ^{T₀}·ρ

    for every D, S and pair of starts. Adding N(0, σ²I) makes the published models
    (ε, δ)-indistinguishable with ε = :func:`gaussian_epsilon` (Δ, σ, δ) (the analytic
    Gaussian mechanism, Balle and Wang 2018), for every D and S, hence for any way of drawing
    them, an S the adversary picks included. Any adversary's advantage is then at most
    (e^ε − 1 + 2δ)/(e^ε + 1) (Kairouz, Oh and Viswanath 2015).

    Not covered: floating-point rounding (float32 descent), and records outside the ball
    (the game scales the population into it and refuses submitted records outside it).
    """

    l2: float
    noise: float
    delta: float
    radius: float = 1.0
    training_size: int
    forget_size: int
    dims: int
    classes: int

    exact: ClassVar[bool] = False
    #: The published noise as a multiple of ``noise`` (the claim always uses ``noise``).
    noise_scale: ClassVar[float] = 1.0

    # -- the claim ------------------------------------------------------------------------

    @property
    def lipschitz(self) -> float:
        return math.sqrt(2.0) * math.sqrt(self.radius**2 + 1)

    @property
    def smoothness(self) -> float:
        return self.l2 + (self.radius**2 + 1) / 2

    @property
    def step(self) -> float:
        """The descent's step size η = 2/(β + λ)."""
        return 2 / (self.smoothness + self.l2)

    @property
    def contraction(self) -> float:
        """γ = (β − λ)/(β + λ)."""
        return (self.smoothness - self.l2) / (self.smoothness + self.l2)

    def sensitivity(self) -> float:
        """Δ: the largest distance between the two worlds' noiseless outputs."""
        gamma = self.contraction
        start = math.sqrt(self.classes * (self.dims + 1) / self.dims)
        rho = start + self.lipschitz / self.l2
        moved = self.forget_size * self.lipschitz / (self.l2 * self.training_size)
        trained = gamma**self.trainer.epochs * rho
        return gamma**self.update.epochs * (trained + moved) + trained

    def epsilon(self) -> float:
        """ε of the claim, at ``delta``."""
        return gaussian_epsilon(self.sensitivity(), self.noise, self.delta)

    def advantage_bound(self) -> float:
        """(e^ε − 1 + 2δ)/(e^ε + 1): the most any adversary can gain, as claimed."""
        return dp_advantage_bound(self.epsilon(), self.delta)

    # -- the algorithm ----------------------------------------------------------------------

    def publish(self, fit: TrialModels, bases: np.ndarray, device: str) -> TrialModels:
        """The models plus N(0, σ²I), σ = ``noise × noise_scale``, from each trial's stream."""
        sigma = self.noise * self.noise_scale
        shapes = [tuple(p.shape[1:]) for p in fit.params]
        counts = [math.prod(s) for s in shapes]
        noise = torch.stack(
            [
                torch.randn(sum(counts), generator=generators([_seq(int(b), _PUBLISH, 0)])[0])
                for b in bases
            ]
        ).to(fit.params[0].device)
        params, at = [], 0
        for p, shape, count in zip(fit.params, shapes, counts, strict=True):
            params.append(p + sigma * noise[:, at : at + count].reshape(len(bases), *shape))
            at += count
        finite = torch.stack([torch.isfinite(p.reshape(len(bases), -1)).all(1) for p in params])
        diverged = fit.diverged | ~finite.all(0).cpu().numpy()
        return TrialModels(params=tuple(params), masks=fit.masks, diverged=diverged)


@attrs.frozen(kw_only=True)
class NoisyDescentWeak(NoisyDescent):
    """``noisy-descent`` with a planted bug: it publishes a tenth of the noise its claim
    assumes, and claims the same (ε, δ). The empirical check must catch it."""

    noise_scale: ClassVar[float] = 0.1


METHODS: dict[str, type[Retrain]] = {
    "retrain": Retrain,
    "sisa": Sisa,
    "finetune": Finetune,
    "gradient-ascent": GradientAscent,
    "noisy-descent": NoisyDescent,
    "noisy-descent-weak": NoisyDescentWeak,
}
