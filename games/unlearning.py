"""Machine unlearning: can anyone tell a model that forgot S from one never trained on S?

World real: the challenger trains a model on a training set D with the scheme's learning
algorithm A, then removes a forget set S ⊂ D with the scheme's unlearning update U. World
ideal: it trains on D \\ S from scratch with A. The adversary gets the final model and S,
and answers 1 for real. Advantage: Pr[A→1 | real] − Pr[A→1 | ideal]. An exact method makes
the two worlds identical; a certified one bounds the advantage; a heuristic one claims
nothing and is measured.

Methods (the schemes, :data:`METHODS`):

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

How S is chosen (``forget``): ``random`` (``forget_size`` records of D), ``class`` (that many
records of one class of D, drawn among the classes with enough records), ``outliers`` (the
records of D farthest from their class's mean in D), or ``adversary`` (the adversary submits
S through the ``submit`` oracle before it may look at the model; S joins
``training_size − forget_size`` records drawn from the population).

Records are the dataset's standardised features scaled by one constant so that the largest
record has norm 1 (the unit ball certified removal assumes); every method sees the same data.

What the adversary sees:

- oracles: ``model()`` (a :class:`Model`), ``submit(x, y)`` (``forget="adversary"``: S, once,
  before the model).
- public: ``game`` (the scheme is public), ``population``, ``training_size``,
  ``forget_size``, ``forget`` (S as (x, y); absent for ``forget="adversary"``) and ``model``
  (absent for ``forget="adversary"``).

On the per-trial path S is x (k, d) and y (k,); on the batched path x (size, k, d) and
y (size, k). The batched path trains the whole chunk in a few calls of the privacy domain's
batched trainer (:mod:`games.privacy.training`): first A for every trial (on D in the real
world, on D \\ S in the ideal one), then U for the real trials, then the publication noise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from scipy import special

from games.base import REAL, Challenge, RealIdeal
from games.errors import TrialFailed
from games.params import integer, number, param
from games.privacy import data as datasets
from games.privacy.membership import dp_advantage_bound
from games.privacy.training import MODELS, SGD, Params, network
from games.registry import register
from oracles import InvalidArgument

__all__ = [
    "FORGET",
    "METHODS",
    "Finetune",
    "Fit",
    "GradientAscent",
    "Model",
    "NoisyDescent",
    "NoisyDescentWeak",
    "Retrain",
    "Run",
    "Sisa",
    "Unlearning",
    "gaussian_epsilon",
]

FORGET = ("random", "class", "outliers", "adversary")
#: The share of records the population's scaling keeps strictly inside the unit ball.
QUANTILE = 0.9

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
class Fit:
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

    def take(self, trials: np.ndarray) -> Fit:
        """The fit of some trials (an index array)."""
        rows = self._rows(trials).to(self.params[0].device)
        return Fit(
            params=tuple(p[rows] for p in self.params),
            masks=self.masks[trials],
            diverged=self.diverged[trials],
        )

    def put(self, trials: np.ndarray, other: Fit) -> Fit:
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
        return Fit(params=tuple(params), masks=masks, diverged=diverged)


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
    ) -> Fit:
        """A on each row of ``masks`` (M, records)."""
        seeds = [_seq(int(b), _LEARN, 0) for b in bases]
        params, diverged = _train(self.trainer, X, y, masks, seeds, device, size=self.size)
        return Fit(params=params, masks=masks[:, None, :].copy(), diverged=diverged)

    def unlearn(
        self,
        X: np.ndarray,
        y: np.ndarray,
        fit: Fit,
        forget: np.ndarray,
        bases: np.ndarray,
        device: str,
    ) -> Fit:
        """U: remove the records of ``forget`` (M, records) from each model of ``fit``."""
        seeds = [_seq(int(b), _UNLEARN, 0) for b in bases]
        masks = fit.masks[:, 0] & ~forget
        params, diverged = _train(self.trainer, X, y, masks, seeds, device, size=self.size)
        return Fit(params=params, masks=masks[:, None, :], diverged=diverged | fit.diverged)

    def publish(self, fit: Fit, bases: np.ndarray, device: str) -> Fit:
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
    ) -> Fit:
        shard_masks = self._assign(masks, bases)
        seeds = [_seq(int(b), _LEARN, j) for b in bases for j in range(self.shards)]
        flat = shard_masks.reshape(-1, masks.shape[1])
        params, diverged = _train(self.trainer, X, y, flat, seeds, device, size=self.size)
        used = flat.any(axis=1)
        failed = np.asarray((diverged & used).reshape(len(masks), self.shards).any(axis=1))
        return Fit(params=params, masks=shard_masks, diverged=failed)

    def unlearn(
        self,
        X: np.ndarray,
        y: np.ndarray,
        fit: Fit,
        forget: np.ndarray,
        bases: np.ndarray,
        device: str,
    ) -> Fit:
        touched = (fit.masks & forget[:, None, :]).any(axis=2)  # (M, shards)
        masks = fit.masks & ~forget[:, None, :]
        redo = touched & masks.any(axis=2)
        if not redo.any():
            return Fit(params=fit.params, masks=masks, diverged=fit.diverged)
        trials, shards = np.nonzero(redo)
        seeds = [_seq(int(bases[i]), _UNLEARN, int(j)) for i, j in zip(trials, shards, strict=True)]
        params, diverged = _train(
            self.trainer, X, y, masks[trials, shards], seeds, device, size=self.size
        )
        rows = torch.as_tensor(trials * self.shards + shards, device=fit.params[0].device)
        out = []
        for p, q in zip(fit.params, params, strict=True):
            p = p.clone()
            p[rows] = q
            out.append(p)
        failed = fit.diverged.copy()
        failed[trials[diverged]] = True
        return Fit(params=tuple(out), masks=masks, diverged=failed)


@attrs.frozen(kw_only=True)
class Finetune(Retrain):
    """U continues training on D \\ S from the trained model with ``update`` (no claim)."""

    update: SGD

    exact: ClassVar[bool] = False

    def unlearn(
        self,
        X: np.ndarray,
        y: np.ndarray,
        fit: Fit,
        forget: np.ndarray,
        bases: np.ndarray,
        device: str,
    ) -> Fit:
        seeds = [_seq(int(b), _UNLEARN, 0) for b in bases]
        masks = fit.masks[:, 0] & ~forget
        params, diverged = _train(
            self.update, X, y, masks, seeds, device, size=self.size, init=fit.params
        )
        return Fit(params=params, masks=masks[:, None, :], diverged=diverged | fit.diverged)


@attrs.frozen(kw_only=True)
class GradientAscent(Retrain):
    """U ascends the loss on S from the trained model with ``update`` (an ascending trainer;
    no claim)."""

    update: SGD

    exact: ClassVar[bool] = False

    def unlearn(
        self,
        X: np.ndarray,
        y: np.ndarray,
        fit: Fit,
        forget: np.ndarray,
        bases: np.ndarray,
        device: str,
    ) -> Fit:
        seeds = [_seq(int(b), _UNLEARN, 0) for b in bases]
        params, diverged = _train(self.update, X, y, forget, seeds, device, init=fit.params)
        masks = fit.masks[:, 0] & ~forget
        return Fit(params=params, masks=masks[:, None, :], diverged=diverged | fit.diverged)


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

    def publish(self, fit: Fit, bases: np.ndarray, device: str) -> Fit:
        """The models plus N(0, σ²I), σ = ``noise × noise_scale``, from each trial's stream."""
        sigma = self.noise * self.noise_scale
        shapes = [tuple(p.shape[1:]) for p in fit.params]
        counts = [math.prod(s) for s in shapes]
        noise = torch.stack(
            [
                torch.randn(sum(counts), generator=_generator(_seq(int(b), _PUBLISH, 0)))
                for b in bases
            ]
        ).to(fit.params[0].device)
        params, at = [], 0
        for p, shape, count in zip(fit.params, shapes, counts, strict=True):
            params.append(p + sigma * noise[:, at : at + count].reshape(len(bases), *shape))
            at += count
        finite = torch.stack([torch.isfinite(p.reshape(len(bases), -1)).all(1) for p in params])
        diverged = fit.diverged | ~finite.all(0).cpu().numpy()
        return Fit(params=tuple(params), masks=fit.masks, diverged=diverged)


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


def _generator(sequence: np.random.SeedSequence) -> torch.Generator:
    return torch.Generator().manual_seed(int(sequence.generate_state(1, np.uint64)[0]))


# -- a run of the game --------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class Run:
    """M trials played to the end: the published models and what they were trained on.

    ``X``/``y`` are every record the chunk uses (the population, then the submitted forget
    sets); ``members`` (M, records) is each trial's D and ``forget`` its S; ``models`` counts
    the models trained (shard models included).
    """

    model: Model
    worlds: np.ndarray
    members: np.ndarray
    forget: np.ndarray
    X: np.ndarray = attrs.field(repr=False)
    y: np.ndarray = attrs.field(repr=False)
    failed: np.ndarray
    models: int


@attrs.frozen(kw_only=True, eq=False)
class _Draw:
    worlds: np.ndarray
    members: np.ndarray  # (M, U)
    forget: np.ndarray  # (M, U)
    bases: np.ndarray  # (M,)
    failed: np.ndarray  # (M,)


# -- the game -----------------------------------------------------------------------------


@register("unlearning")
@attrs.frozen(kw_only=True)
class Unlearning(RealIdeal):
    """Machine unlearning: tell a model that forgot S from one retrained without S."""

    dataset: str = param(
        "breast-cancer", help="population the records come from", choices=datasets.DATASETS
    )
    model: str = param("logreg", help="classifier", choices=MODELS)
    width: int = param(32, help="hidden units per layer (mlp)", check=integer(1, 4096))
    depth: int = param(1, help="hidden layers (mlp)", check=integer(1, 16))
    training_size: int = param(128, help="records in D (S included)", check=integer(2))
    forget_size: int = param(8, help="records in the forget set S", check=integer(1))
    forget: str = param("random", help="how S is chosen", choices=FORGET)
    method: str = param("finetune", help="unlearning method (the scheme)", choices=tuple(METHODS))
    epochs: int = param(
        10,
        help="passes of A over its data (noisy-descent: full-batch steps T0)",
        check=integer(1, 100_000),
    )
    batch_size: int = param(32, help="records per step (not noisy-descent)", check=integer(1))
    lr: float = param(
        0.5, help="learning rate of A (not noisy-descent)", check=number(0, open_low=True)
    )
    l2: float = param(
        0.0,
        help="L2 regularisation λ of every training (noisy-descent needs λ > 0)",
        check=number(0),
    )
    unlearn_epochs: int = param(
        2,
        help="passes of U: over D \\ S (finetune; noisy-descent: full-batch steps T) or S "
        "(gradient-ascent)",
        check=integer(1, 100_000),
    )
    unlearn_lr: float = param(
        0.5, help="learning rate of U (finetune, gradient-ascent)", check=number(0, open_low=True)
    )
    shards: int = param(4, help="SISA shards", check=integer(1, 1024))
    noise: float = param(
        1.0,
        help="std of the Gaussian noise noisy-descent publishes",
        check=number(0, open_low=True),
    )
    delta: float = param(
        1e-5,
        help="δ of noisy-descent's (ε, δ) claim",
        check=number(0, 1, open_low=True, open_high=True),
    )
    device: str | None = param(None, help="torch device the models are trained on (None: cpu)")
    data_seed: int = param(0, help="seed of the synthetic gaussian population", check=integer(0))

    def __attrs_post_init__(self) -> None:
        if self.forget_size >= self.training_size:
            raise InvalidArgument(
                f"forget_size={self.forget_size} must be below training_size="
                f"{self.training_size}: D \\ S must keep at least one record"
            )
        size = self.population().size
        if self.training_size >= size:
            raise InvalidArgument(
                f"training_size={self.training_size} must be below the population size {size}"
            )
        if self.method == "sisa" and self.shards > self.training_size:
            raise InvalidArgument(
                f"shards={self.shards} must be at most training_size={self.training_size}"
            )
        if issubclass(METHODS[self.method], NoisyDescent):
            if self.model != "logreg":
                raise InvalidArgument(
                    f"model={self.model!r}: method={self.method!r} is certified for "
                    "model='logreg' only (its proof needs a convex loss)"
                )
            if self.l2 <= 0:
                raise InvalidArgument(
                    f"l2={self.l2!r} must be > 0 for method={self.method!r} (its proof needs a "
                    "strongly convex objective)"
                )

    # -- the scheme -------------------------------------------------------------------

    def population(self) -> datasets.Dataset:
        """The records, scaled into the unit ball."""
        return _population(self.dataset, self.data_seed)

    def scheme(self) -> Retrain:
        """The unlearning method under test, built from the game's parameters."""
        return _scheme(self)

    def claim(self) -> tuple[float, float]:
        """(ε, δ) that a certified method claims; InvalidArgument for the others."""
        scheme = self.scheme()
        if not isinstance(scheme, NoisyDescent):
            raise InvalidArgument(f"method={self.method!r} makes no (ε, δ) claim")
        return scheme.epsilon(), scheme.delta

    def epsilon(self) -> float:
        """ε of the method's claim (certified methods only)."""
        return self.claim()[0]

    def advantage_bound(self) -> float:
        """The advantage the method's claim allows any adversary (0 for exact methods)."""
        scheme = self.scheme()
        if isinstance(scheme, NoisyDescent):
            return scheme.advantage_bound()
        if scheme.exact:
            return 0.0
        raise InvalidArgument(f"method={self.method!r} makes no claim")

    # -- trials -----------------------------------------------------------------------

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        return self._setup(np.array([world]), [rng], single=True)

    def setup_batch(self, world: np.ndarray, rng: np.random.Generator) -> Challenge:
        return self._setup(np.asarray(world), rng.spawn(len(world)), single=False)

    def simulate(
        self,
        worlds: Any,
        rng: np.random.Generator,
        forget: tuple[Any, Any] | None = None,
    ) -> Run:
        """Play ``len(worlds)`` trials to the end with the game's own challenger, in one batch.

        What anyone who knows the (public) scheme can do: an attack's shadow runs. ``forget``:
        the forget set of every trial for ``forget="adversary"``, as x (k, d) and y (k,) shared
        or x (M, k, d) and y (M, k).
        """
        worlds = np.asarray(worlds, np.int64)
        draw = self._draw(worlds, rng.spawn(len(worlds)))
        if self.forget == "adversary":
            if forget is None:
                raise InvalidArgument("forget='adversary': give the forget sets (x, y)")
            x, y = self._check_forget(len(worlds), *forget)
        else:
            x, y = self._no_extra()
        return self._run(draw, x, y)

    def _no_extra(self) -> tuple[np.ndarray, np.ndarray]:
        dims = self.population().dims
        return np.zeros((0, dims), np.float32), np.zeros(0, np.int64)

    def _check_forget(self, size: int, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        pool = self.population()
        k = self.forget_size
        x = np.asarray(x, np.float32)
        y = np.asarray(y)
        try:
            x = np.broadcast_to(x, (size, k, pool.dims)).reshape(size * k, pool.dims)
            y = np.broadcast_to(y, (size, k)).reshape(size * k)
        except ValueError:
            raise InvalidArgument(
                f"the forget set must be x ({k}, {pool.dims}) and y ({k},) per trial, got "
                f"{x.shape} and {y.shape}"
            ) from None
        if not np.isfinite(x).all():
            raise InvalidArgument("the forget set's features must be finite")
        norms = np.linalg.norm(x.astype(np.float64), axis=1)
        if (norms > 1 + 1e-5).any():
            raise InvalidArgument(
                f"the forget set's records must lie in the unit ball (largest norm {norms.max():.4g})"
            )
        if not np.isin(y, np.arange(pool.classes)).all():
            raise InvalidArgument(f"the forget set's labels must be in [0, {pool.classes})")
        x = (x / np.maximum(1.0, norms)[:, None]).astype(np.float32)
        return x, y.astype(np.int64)

    def _draw(self, worlds: np.ndarray, rngs: Sequence[np.random.Generator]) -> _Draw:
        pool = self.population()
        N, M, k = pool.size, len(worlds), self.forget_size
        adversary = self.forget == "adversary"
        U = N + (M * k if adversary else 0)
        members = np.zeros((M, U), bool)
        forget = np.zeros((M, U), bool)
        bases = np.zeros(M, np.uint64)
        failed = np.zeros(M, bool)
        for i, rng in enumerate(rngs):
            if adversary:
                members[i, rng.choice(N, self.training_size - k, replace=False)] = True
                rows = N + i * k + np.arange(k)
                members[i, rows] = forget[i, rows] = True
            else:
                chosen = np.sort(rng.choice(N, self.training_size, replace=False))
                members[i, chosen] = True
                picked, ok = self._pick(chosen, rng)
                forget[i, picked] = True
                failed[i] = not ok
            bases[i] = rng.integers(2**63)
        return _Draw(worlds=worlds, members=members, forget=forget, bases=bases, failed=failed)

    def _pick(self, chosen: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """S ⊂ D (population rows ``chosen``) by the game's rule, and whether it could be drawn."""
        pool = self.population()
        k = self.forget_size
        if self.forget == "random":
            return rng.choice(chosen, k, replace=False), True
        labels = pool.y[chosen]
        if self.forget == "class":
            counts = np.bincount(labels, minlength=pool.classes)
            candidates = np.flatnonzero(counts >= k)
            if len(candidates) == 0:
                return chosen[:k], False
            label = rng.choice(candidates)
            return rng.choice(chosen[labels == label], k, replace=False), True
        # outliers: farthest from their class's mean in D
        X = pool.X[chosen].astype(np.float64)
        means = np.zeros((pool.classes, pool.dims))
        np.add.at(means, labels, X)
        means /= np.maximum(1, np.bincount(labels, minlength=pool.classes))[:, None]
        distance = np.linalg.norm(X - means[labels], axis=1)
        return chosen[np.argsort(-distance, kind="stable")[:k]], True

    def _run(self, draw: _Draw, extra_x: np.ndarray, extra_y: np.ndarray) -> Run:
        pool = self.population()
        scheme = self.scheme()
        device = self.device or "cpu"
        X = np.concatenate([pool.X, extra_x]) if len(extra_x) else pool.X
        y = np.concatenate([pool.y, extra_y]) if len(extra_y) else pool.y
        real = draw.worlds == REAL
        # A on D in the real world, on D \ S in the ideal one: one batch for both worlds.
        learn = draw.members & ~(draw.forget & ~real[:, None])
        fit = scheme.learn(X, y, learn, draw.bases, device)
        models = int(fit.masks.any(axis=2).sum())
        trials = np.flatnonzero(real)
        if len(trials):
            before = fit.take(trials)
            after = scheme.unlearn(X, y, before, draw.forget[trials], draw.bases[trials], device)
            models += _retrained(before, after)
            fit = fit.put(trials, after)
        fit = scheme.publish(fit, draw.bases, device)
        model = Model(
            trainer=scheme.trainer,
            params=fit.params,
            shards=fit.shards,
            active=np.asarray(fit.masks.any(axis=2)),
        )
        return Run(
            model=model,
            worlds=draw.worlds,
            members=draw.members,
            forget=draw.forget,
            X=X,
            y=y,
            failed=draw.failed | fit.diverged,
            models=models,
        )

    def _setup(
        self, worlds: np.ndarray, rngs: Sequence[np.random.Generator], *, single: bool
    ) -> Challenge:
        pool = self.population()
        size, k = len(worlds), self.forget_size
        draw = self._draw(worlds, rngs)
        if single and draw.failed[0]:
            raise TrialFailed(f"no class of D has forget_size={k} records")
        failed = draw.failed.copy()
        state: dict[str, Any] = {}
        adversary = self.forget == "adversary"

        def model() -> Model:
            if "run" not in state:
                if adversary and "forget" not in state:
                    raise InvalidArgument(
                        "submit the forget set (oracle 'submit') before using the model"
                    )
                x, y = state.get("forget") or self._no_extra()
                run = self._run(draw, x, y)
                failed[:] = run.failed
                if single and failed[0]:
                    raise TrialFailed("a model diverged (its loss or weights are not finite)")
                state["run"] = run
            return state["run"].model

        def submit(x: Any, y: Any) -> None:
            if "forget" in state:
                raise InvalidArgument("the forget set was already submitted")
            state["forget"] = self._check_forget(size, x, y)

        oracles: dict[str, Callable[..., Any]] = {"model": model}
        budgets: dict[str, int | None] = {}
        public: dict[str, Any] = {
            "game": self,
            "population": pool,
            "training_size": self.training_size,
            "forget_size": k,
        }
        if adversary:
            oracles["submit"] = submit
            budgets["submit"] = 1
        else:
            rows = np.nonzero(draw.forget)[1].reshape(size, k)
            x, y = pool.X[rows], pool.y[rows]
            public["forget"] = (x[0], y[0]) if single else (x, y)
            public["model"] = model()
        return Challenge(
            oracles=oracles, budgets=budgets, public=public, secret=worlds, failed=failed
        )


def _retrained(before: Fit, after: Fit) -> int:
    """Models U trained: shard models whose parameters changed."""
    changed = torch.zeros(before.size * before.shards, dtype=torch.bool)
    for p, q in zip(before.params, after.params, strict=True):
        changed |= (p != q).reshape(len(changed), -1).any(1).cpu()
    return int(changed.sum())


@functools.lru_cache(maxsize=16)
def _population(name: str, seed: int) -> datasets.Dataset:
    rng = np.random.default_rng(seed) if name == "gaussian" else None
    raw = datasets.load(name, rng=rng)
    X = raw.X.astype(np.float64)
    norms = np.linalg.norm(X, axis=1)
    # One constant puts nine records in ten inside the ball; the rest are projected onto its
    # sphere. A hair under 1, so that rounding keeps every record inside.
    X *= 1 / max(float(np.quantile(norms, QUANTILE)), 1e-12)
    X /= np.maximum(1.0, np.linalg.norm(X, axis=1) / (1 - 1e-6))[:, None]
    X = X.astype(np.float32)
    X.setflags(write=False)
    return datasets.Dataset(name=raw.name, X=X, y=raw.y, classes=raw.classes)


@functools.lru_cache(maxsize=64)
def _scheme(game: Unlearning) -> Retrain:
    net = network(game.model, width=game.width, depth=game.depth)
    cls = METHODS[game.method]
    if issubclass(cls, NoisyDescent):
        pool = game.population()
        claim: dict[str, Any] = {
            "l2": game.l2,
            "noise": game.noise,
            "delta": game.delta,
            "training_size": game.training_size,
            "forget_size": game.forget_size,
            "dims": pool.dims,
            "classes": pool.classes,
        }
        probe = cls(trainer=SGD(network=net), update=SGD(network=net), **claim)
        # Full-batch descent: Poisson sampling at rate 1 takes every record at each step, and
        # the gradient sum is divided by the nominal size n for D and D \ S alike.
        descent: dict[str, Any] = {
            "network": net,
            "batch_size": game.training_size,
            "lr": probe.step,
            "sampling": "poisson",
            "weight_decay": game.l2,
        }
        return cls(
            trainer=SGD(epochs=game.epochs, **descent),
            update=SGD(epochs=game.unlearn_epochs, **descent),
            size=game.training_size,
            **claim,
        )
    trainer = SGD(
        network=net,
        epochs=game.epochs,
        batch_size=game.batch_size,
        lr=game.lr,
        weight_decay=game.l2,
    )
    if cls is Sisa:
        return Sisa(trainer=trainer, shards=game.shards)
    if cls in (Finetune, GradientAscent):
        update = SGD(
            network=net,
            epochs=game.unlearn_epochs,
            batch_size=game.batch_size,
            lr=game.unlearn_lr,
            weight_decay=game.l2,
            ascent=cls is GradientAscent,
        )
        return cls(trainer=trainer, update=update)  # type: ignore[call-arg]
    return cls(trainer=trainer)
