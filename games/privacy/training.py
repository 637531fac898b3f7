"""Training many small classifiers at once: stacked weights and batched matrix products.

A chunk of M models is one computation over the stacked networks of
:mod:`games.privacy.networks` (whose names are importable from here too): a forward pass is
one ``torch.baddbmm`` per layer, a backward pass one ``torch.bmm`` per layer. Each model has
its own data subset (a row of a boolean mask over the shared records) and its own key (from
its own numpy ``SeedSequence``); its initial weights, its batches and its noise are
counter-based draws from that key (:mod:`games.privacy.counter`), made for every model of
the chunk in one call per step on the training device. So training model *i* alone with the
same seed gives the same parameters as training it in any chunk, on CPU exactly, and on
another device to float tolerance.

DP-SGD clips each example's gradient. For these fully connected nets the gradient of
example *j* with respect to ``W_l`` is the outer product ``a_j δ_jᵀ`` of the layer's input
and the loss gradient at its output, so its squared norm is ``‖a_j‖²‖δ_j‖²`` and the sum of
clipped gradients is ``aᵀ (c ⊙ δ)``: per-example clipping costs one extra reduction, not M×B
materialised gradients.

Trainers (:data:`TRAINERS`, built with :func:`make_trainer`): ``sgd``, ``dp-sgd``,
``dp-sgd-noclip`` (a deliberately broken DP-SGD that adds the calibrated noise but never
clips, for auditing demonstrations) and ``opacus`` (the same DP-SGD driven by Opacus's
PrivacyEngine, one model at a time; needs ``pip install -e '.[opacus]'``). Anything with
the :class:`Trainer` protocol's methods can stand in for them.

The module is long because the trainers and the batched loop they drive (the
sampling, the per-example clipping inside the backward pass, the noise) are one
computation, read together; the networks are in :mod:`games.privacy.networks`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import torch

from games.params import param
from games.privacy import accounting, counter
from games.privacy.networks import (
    MODELS,
    NETWORKS,
    Network,
    Params,
    as_tensor,
    forward,
    generators,
    init_params,
    log_softmax,
    logits,
    losses,
    network,
    select,
    unflatten,
)
from oracles import InvalidArgument, checks

__all__ = [
    "MODELS",
    "NETWORKS",
    "SAMPLING",
    "TRAINERS",
    "DPSGD",
    "DPSGDNoClip",
    "Network",
    "Opacus",
    "Params",
    "SGD",
    "Trained",
    "Trainer",
    "device_param",
    "generators",
    "init_params",
    "logits",
    "losses",
    "make_trainer",
    "network",
    "select",
]

SAMPLING = ("poisson", "fixed")
TRAINERS = ("sgd", "dp-sgd", "dp-sgd-noclip", "opacus")

# -- fields -------------------------------------------------------------------------------


def _int_field(default: int) -> Any:
    return attrs.field(default=default, validator=lambda _, a, v: checks.positive(a.name, v))


def _pos_field(default: float) -> Any:
    return attrs.field(
        default=default, validator=lambda _, a, v: checks.number(a.name, v, 0, open_low=True)
    )


def _sampling_field(default: str) -> Any:
    return attrs.field(
        default=default, validator=lambda _, a, v: checks.choice(a.name, v, SAMPLING)
    )


def device_param() -> Any:
    """The ``device`` parameter: where a game trains its models."""
    return param(None, help="torch device the models are trained on (None: cpu)")


# -- trained models -----------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class Trained:
    """What a trainer returns for a chunk of M models.

    Attributes:
        params: the stacked parameters.
        diverged: (M,) bool, models whose loss or weights stopped being finite.
        steps: (M,) int, optimiser steps each model took.
        examples: per-example gradients computed, over the chunk (a resource count).
    """

    params: Params
    diverged: np.ndarray
    steps: np.ndarray
    examples: int = 0

    @property
    def size(self) -> int:
        return int(self.params[0].shape[0])


@runtime_checkable
class Trainer(Protocol):
    """What the membership game needs from a training algorithm (bring your own).

    ``train`` fits M models, model *i* on the records where ``masks[i]`` is true, drawing
    all its randomness from ``seeds[i]`` (a numpy SeedSequence or an int); ``size`` is the
    nominal training-set size that fixes the sampling rate and number of steps (the same for
    neighbouring datasets; each model's own record count when None). ``logits`` and ``loss``
    evaluate the returned stacked parameters.
    """

    def train(
        self,
        X: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        masks: np.ndarray,
        seeds: Sequence[Any],
        device: str = "cpu",
        *,
        size: int | None = None,
    ) -> Trained: ...

    def logits(self, params: Params, X: torch.Tensor) -> torch.Tensor: ...

    def loss(self, params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...


# -- the trainers -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SGD:
    """Minibatch SGD on the cross-entropy, M models in one computation.

    ``sampling="fixed"`` draws ``batch_size`` distinct records per step (uniformly, afresh
    each step); ``"poisson"`` takes each record independently with probability
    ``1/ceil(size/batch_size)`` and divides the gradient sum by the expected batch size.
    An epoch is ``ceil(size/batch_size)`` steps. ``weight_decay`` λ adds (λ/2)‖θ‖² to the
    objective (every parameter, biases included); ``ascent`` climbs the data term instead of
    descending it (the decay still descends).
    """

    network: Network = attrs.field(factory=Network)
    epochs: int = _int_field(5)
    batch_size: int = _int_field(64)
    lr: float = _pos_field(0.1)
    sampling: str = _sampling_field("fixed")
    weight_decay: float = attrs.field(
        default=0.0, validator=lambda _, a, v: checks.number(a.name, v, 0)
    )
    ascent: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    private = False

    def logits(self, params: Params, X: torch.Tensor) -> torch.Tensor:
        return logits(params, X)

    def loss(self, params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return losses(params, X, y)

    def steps(self, size: int) -> int:
        """Optimiser steps for a training set of ``size`` records."""
        return self.epochs * math.ceil(size / self.batch_size)

    def sample_rate(self, size: int) -> float:
        """Poisson sampling rate for a training set of ``size`` records."""
        return 1 / math.ceil(size / self.batch_size)

    def train(
        self,
        X: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        masks: np.ndarray,
        seeds: Sequence[Any],
        device: str = "cpu",
        *,
        size: int | None = None,
        init: Params | None = None,
    ) -> Trained:
        """Train one model per row of ``masks`` (see :class:`Trainer`).

        ``init``: stacked parameters to start from (warm start) instead of a fresh draw.
        """
        return self._fit(_prepare(X, y, masks, seeds, size), device, init)

    # Hooks the other trainers override.
    def _fit(self, data: _Data, device: str, init: Params | None) -> Trained:
        return _fit(self, data, device, init)

    def _noise(self) -> float:
        return 0.0

    def _clip_factors(
        self, inputs: list[torch.Tensor], deltas: list[torch.Tensor]
    ) -> torch.Tensor | None:
        """Per-example factors (M, B) that scale each example's gradient; None: no clipping."""
        return None


@attrs.frozen(kw_only=True)
class DPSGD(SGD):
    """DP-SGD (Abadi et al. 2016): per-example clipping to ``max_grad_norm``, Gaussian noise.

    The noise added to each step's gradient sum has standard deviation
    ``noise_multiplier · max_grad_norm``. With Poisson sampling (the default) the run is
    (ε, δ)-DP for adding or removing one record, ε given by :meth:`epsilon`.
    """

    noise_multiplier: float = _pos_field(1.0)
    max_grad_norm: float = _pos_field(1.0)
    sampling: str = _sampling_field("poisson")

    private = True

    def _noise(self) -> float:
        return self.noise_multiplier * self.max_grad_norm

    def _clip_factors(
        self, inputs: list[torch.Tensor], deltas: list[torch.Tensor]
    ) -> torch.Tensor | None:
        # Example j's gradient for layer l is the outer product a_j δ_jᵀ (plus δ_j for the
        # bias): squared norm (‖a_j‖² + 1)‖δ_j‖².
        norms_sq = sum(
            (torch.linalg.vector_norm(a, dim=-1).square() + 1)
            * torch.linalg.vector_norm(d, dim=-1).square()
            for a, d in zip(inputs, deltas, strict=True)
        )
        # As Opacus: factor C / (‖g‖ + 1e-6), capped at 1.
        return (self.max_grad_norm / (norms_sq.sqrt() + 1e-6)).clamp(max=1.0)  # type: ignore[union-attr]

    def epsilon(self, delta: float, size: int, *, accountant: str = "rdp") -> float:
        """ε of the whole run at ``delta`` for a training set of ``size`` records.

        From Google's ``dp-accounting`` (RDP or PLD accountant of the Poisson-subsampled
        Gaussian mechanism), or Opacus's RDP accountant when only Opacus is installed.
        """
        if self.sampling != "poisson":
            raise InvalidArgument(
                f"sampling={self.sampling!r} has no accountant here; use sampling='poisson'"
            )
        checks.positive("size", size)
        return accounting.epsilon(
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate(size),
            steps=self.steps(size),
            delta=delta,
            accountant=accountant,
        )


@attrs.frozen(kw_only=True)
class DPSGDNoClip(DPSGD):
    """DP-SGD with a planted bug: the calibrated noise is added, the clipping is skipped.

    It claims the same ε as ``dp-sgd`` and is wrong: an example's contribution is unbounded.
    An audit must catch it.
    """

    def _clip_factors(
        self, inputs: list[torch.Tensor], deltas: list[torch.Tensor]
    ) -> torch.Tensor | None:
        return None


@attrs.frozen(kw_only=True)
class Opacus(DPSGD):
    """The same DP-SGD driven by Opacus's PrivacyEngine, one model at a time (a reference).

    Needs ``pip install -e '.[opacus]'``. Each model's initial weights come from the same
    stream as the batched trainers; its batches and noise from Opacus with a
    ``torch.Generator`` seeded from that model's seed, so its results match ``dp-sgd`` in
    distribution, not bit for bit.
    """

    def _fit(self, data: _Data, device: str, init: Params | None) -> Trained:
        if init is not None:
            raise InvalidArgument("the opacus trainer starts from a fresh draw only (init=None)")
        return _fit_opacus(self, data, device)


def make_trainer(
    name: str,
    *,
    network: Network | None = None,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 0.1,
    noise_multiplier: float = 1.0,
    max_grad_norm: float = 1.0,
    sampling: str | None = None,
) -> SGD:
    """A trainer by name (one of :data:`TRAINERS`); DP arguments are ignored by ``sgd``."""
    checks.choice("trainer", name, TRAINERS)
    net = network if network is not None else Network()
    common: dict[str, Any] = {"network": net, "epochs": epochs, "batch_size": batch_size, "lr": lr}
    if sampling is not None:
        common["sampling"] = sampling
    if name == "sgd":
        return SGD(**common)
    dp: dict[str, Any] = {"noise_multiplier": noise_multiplier, "max_grad_norm": max_grad_norm}
    if name == "dp-sgd":
        return DPSGD(**common, **dp)
    if name == "dp-sgd-noclip":
        return DPSGDNoClip(**common, **dp)
    try:  # name == "opacus"
        import opacus  # noqa: F401
    except ImportError:
        raise InvalidArgument("trainer='opacus' needs Opacus: pip install -e '.[opacus]'") from None
    return Opacus(**common, **dp)


# -- the batched loop ---------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class _Data:
    X: torch.Tensor  # (N, d) float32, CPU
    y: torch.Tensor  # (N,) int64, CPU
    index: torch.Tensor  # (M, n_max) rows of each model's records, padded with 0
    counts: np.ndarray  # (M,) records per model
    sizes: np.ndarray  # (M,) nominal sizes (sampling rate and steps)
    seeds: list[Any]
    classes: int


def _prepare(X: Any, y: Any, masks: Any, seeds: Sequence[Any], size: int | None) -> _Data:
    X = as_tensor(X).float().cpu()
    y = as_tensor(y).long().cpu()
    if X.dim() != 2 or y.shape != (X.shape[0],):
        raise InvalidArgument(
            f"X must be (n, d) and y (n,), got {tuple(X.shape)} and {tuple(y.shape)}"
        )
    masks = np.asarray(masks.cpu() if isinstance(masks, torch.Tensor) else masks, bool)
    if masks.ndim != 2 or masks.shape[1] != X.shape[0]:
        raise InvalidArgument(f"masks must be (models, {X.shape[0]}), got {masks.shape}")
    seeds = list(seeds)
    if len(seeds) != len(masks):
        raise InvalidArgument(f"seeds has {len(seeds)} entries for {len(masks)} models")
    counts = masks.sum(axis=1)
    if len(masks) == 0 or counts.min() == 0:
        raise InvalidArgument("every model needs at least one training record (masks rows)")
    if size is not None:
        checks.positive("size", size)
    n_max = int(counts.max())
    # Stable argsort puts each model's records first, in ascending row order.
    order = np.argsort(~masks, axis=1, kind="stable")[:, :n_max]
    order = np.where(np.arange(n_max) < counts[:, None], order, 0)
    sizes = counts if size is None else np.full(len(masks), size)
    return _Data(
        X=X,
        y=y,
        index=torch.as_tensor(order, dtype=torch.long),
        counts=counts,
        sizes=sizes,
        seeds=seeds,
        classes=int(y.max()) + 1,
    )


def _fit(trainer: SGD, data: _Data, device: str, init: Params | None = None) -> Trained:
    dims = data.X.shape[1]
    sizes_l = trainer.network.sizes(dims, data.classes)
    P = trainer.network.count(dims, data.classes)
    M = len(data.counts)
    keys = counter.keys(data.seeds, device)
    params = _start(trainer.network, data, keys, device, init)
    X, y = data.X.to(device), data.y.to(device)
    index = data.index.to(device)
    n_max = index.shape[1]
    counts = torch.as_tensor(data.counts, device=device)
    # Models with fewer records than the widest have padding at the end of their rows.
    pad = (
        torch.arange(n_max, device=device) >= counts[:, None]
        if int(data.counts.min()) < n_max
        else None
    )
    steps, rate, step_size = _schedule(trainer, data, counts, device)
    # Poisson sampling takes a record when its 32-bit word (signed) is below this threshold.
    threshold = (torch.floor(rate.double() * 2.0**32) - 2.0**31).long()[:, None]
    sigma = trainer._noise()
    diverged = torch.zeros(M, dtype=torch.bool, device=device)
    total = int(steps.max())
    first_done = int(steps.min())
    steps_t = torch.as_tensor(steps, device=device)
    decay = trainer.lr * trainer.weight_decay
    examples = torch.zeros((), dtype=torch.int64, device=device)  # read once: no sync a step
    for t in range(total):
        # Every model's batch keys and noise for step t in one call (see games.privacy.counter).
        u = counter.words(keys, counter.BATCH, t, n_max)
        pos, weight = _sample(trainer, u, threshold, counts, pad)
        width = pos.shape[1]
        rows = index.gather(1, pos).reshape(-1)
        examples += weight.sum().long()
        # index_select, not X[rows]: the same rows at a quarter of the cost on CPU.
        xb = X.index_select(0, rows).view(M, width, dims)
        inputs, deltas, loss = _gradients(
            params, xb, y.index_select(0, rows).view(M, width), weight, trainer
        )
        diverged |= ~torch.isfinite(loss)
        # Models whose training set is larger may take more steps; the others stand still.
        rate_now = step_size if t < first_done else step_size * (t < steps_t)
        if decay:
            keep = 1 - decay * (t < steps_t).float()
            for p in params:
                p.mul_(keep.view(M, *([1] * (p.dim() - 1))))
        extra = (
            unflatten(
                counter.normal(keys, counter.NOISE, t, P), sizes_l, scale=False, device=device
            )
            if sigma > 0
            else None
        )
        _descend(params, inputs, deltas, rate_now.view(M, 1, 1), extra, sigma)
    for p in params:
        diverged |= ~torch.isfinite(p.reshape(M, -1)).all(1)
    return Trained(
        params=tuple(params),
        diverged=diverged.cpu().numpy(),
        steps=steps,
        examples=int(examples),
    )


def _start(
    net: Network, data: _Data, keys: torch.Tensor, device: str, init: Params | None
) -> list[torch.Tensor]:
    """The parameters training starts from: a fresh draw, or a copy of ``init``."""
    dims = data.X.shape[1]
    if init is None:
        return list(counter.init_params(net, dims, data.classes, keys, device))
    M = len(data.counts)
    sizes_l = net.sizes(dims, data.classes)
    shapes = [(M, a, b) for a, b in zip(sizes_l, sizes_l[1:], strict=False)]
    expected = [s for w in shapes for s in (w, (M, w[2]))]
    if [tuple(p.shape) for p in init] != expected:
        raise InvalidArgument(f"init has shapes {[tuple(p.shape) for p in init]}, not {expected}")
    return [p.detach().to(device, torch.float32).clone() for p in init]


def _schedule(
    trainer: SGD, data: _Data, counts: torch.Tensor, device: str
) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    """Each model's steps, Poisson sampling rate and step size (lr over the batch divisor)."""
    steps = np.array([trainer.steps(int(s)) for s in data.sizes])
    rate = torch.tensor([trainer.sample_rate(int(s)) for s in data.sizes], device=device)
    # Poisson: the gradient sum is divided by the expected batch size (as Opacus does);
    # fixed-size batches by the batch size.
    if trainer.sampling == "poisson":
        denom = torch.tensor(
            [max(1, int(int(s) * trainer.sample_rate(int(s)))) for s in data.sizes],
            device=device,
            dtype=torch.float32,
        )
    else:
        denom = torch.clamp(counts, max=trainer.batch_size).float()
    return steps, rate, trainer.lr / denom * (-1.0 if trainer.ascent else 1.0)


def _sample(
    trainer: SGD,
    u: torch.Tensor,
    threshold: torch.Tensor,
    counts: torch.Tensor,
    pad: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step's batch per model from its 32-bit words ``u`` (M, n_max): positions in its
    records (M, width) and weights (1 for a record, 0 for padding)."""
    if trainer.sampling == "poisson":
        taken = u < threshold
        if pad is not None:
            taken &= ~pad
        per_model = taken.sum(1)
        width = max(1, int(per_model.max()))
        pos = torch.argsort((~taken).to(torch.int8), dim=1, stable=True)[:, :width]
        return pos, (torch.arange(width, device=u.device) < per_model[:, None]).float()
    width = min(trainer.batch_size, u.shape[1])
    if pad is not None:  # padding comes last: a model takes all its records before any
        u = u.masked_fill(pad, torch.iinfo(torch.int32).max)
    pos = torch.topk(u, width, dim=1, largest=False, sorted=False).indices
    return pos, (pos < counts[:, None]).float()


def _descend(
    params: list[torch.Tensor],
    inputs: list[torch.Tensor],
    deltas: list[torch.Tensor],
    scale: torch.Tensor,
    extra: Params | None,
    sigma: float,
) -> None:
    """θ −= rate · (Σ_j a_j δ_jᵀ + σ·noise), in place: each model's rate (``scale``, (M, 1,
    1)) folded into its δ, so the gradient sum goes straight into the weights (no gradient
    tensors)."""
    for layer, (a, d) in enumerate(zip(inputs, deltas, strict=True)):
        W, b = params[2 * layer], params[2 * layer + 1]
        d.mul_(scale)  # δ is this step's own tensor: scaled where it lies, no copy
        W.baddbmm_(a.transpose(1, 2), d, alpha=-1)
        b.sub_(d.sum(1))
        if extra is not None:
            W.addcmul_(extra[2 * layer], scale, value=-sigma)
            b.addcmul_(extra[2 * layer + 1], scale[:, 0], value=-sigma)


def _gradients(
    params: list[torch.Tensor],
    xb: torch.Tensor,
    yb: torch.Tensor,
    weight: torch.Tensor,
    trainer: SGD,
) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """Each layer's inputs ``a`` and per-example loss gradients ``δ`` at its output (clipped
    for DP: the gradient sum of ``W_l`` is ``a_lᵀ δ_l``, of ``b_l`` ``Σ_j δ_l``), and each
    model's loss sum."""
    inputs, pre = forward(params, xb)
    logp = log_softmax(pre[-1])
    label = yb.unsqueeze(-1)
    loss = -(logp.gather(-1, label).squeeze(-1) * weight).sum(1)
    # Loss gradient at each layer's output, per example (rows of padding are zero).
    delta = logp.exp()
    delta.scatter_add_(-1, label, torch.full_like(label, -1, dtype=delta.dtype))
    delta.mul_(weight.unsqueeze(-1))
    deltas = [delta]
    layers = len(params) // 2
    for layer in range(layers - 1, 0, -1):
        delta = torch.bmm(delta, params[2 * layer].transpose(1, 2)).mul_(pre[layer - 1] > 0)
        deltas.append(delta)
    deltas.reverse()
    factor = trainer._clip_factors(inputs, deltas)
    if factor is not None:
        deltas = [d * factor.unsqueeze(-1) for d in deltas]
    return inputs, deltas, loss


def _fit_opacus(trainer: Opacus, data: _Data, device: str) -> Trained:
    import warnings

    from opacus import PrivacyEngine
    from opacus.data_loader import DPDataLoader
    from torch.utils.data import TensorDataset

    dims = data.X.shape[1]
    sizes_l = trainer.network.sizes(dims, data.classes)
    gens = generators(data.seeds)
    init = counter.init_params(trainer.network, dims, data.classes, counter.keys(data.seeds))
    M = len(data.counts)
    out: list[list[torch.Tensor]] = [[] for _ in init]
    diverged = np.zeros(M, bool)
    steps = np.array([trainer.steps(int(s)) for s in data.sizes])
    examples = 0
    for i in range(M):
        layers: list[torch.nn.Module] = []
        for layer, (fan_in, fan_out) in enumerate(zip(sizes_l, sizes_l[1:], strict=False)):
            linear = torch.nn.Linear(fan_in, fan_out)
            with torch.no_grad():
                linear.weight.copy_(init[2 * layer][i].T)
                linear.bias.copy_(init[2 * layer + 1][i])
            layers += [linear, torch.nn.ReLU()]
        module = torch.nn.Sequential(*layers[:-1]).to(device)
        size = int(data.sizes[i])
        rate = trainer.sample_rate(size)
        expected = max(1, int(size * rate))
        # The loss is a sum, so the optimiser's step lr/expected divides the noisy sum of
        # clipped gradients by the expected batch size, as the batched trainer does.
        optimizer = torch.optim.SGD(module.parameters(), lr=trainer.lr / expected)
        rows = data.index[i, : data.counts[i]]
        dataset = TensorDataset(data.X[rows], data.y[rows])
        loader = DPDataLoader(dataset, sample_rate=rate, generator=gens[i])
        loader.batch_sampler.steps = int(steps[i])
        with warnings.catch_warnings():
            # Opacus warns that its secure RNG is off: randomness here is seeded on purpose.
            warnings.simplefilter("ignore")
            engine = PrivacyEngine(accountant="rdp")
            module, optimizer, loader = engine.make_private(
                module=module,
                optimizer=optimizer,
                data_loader=loader,
                noise_multiplier=trainer.noise_multiplier,
                max_grad_norm=trainer.max_grad_norm,
                poisson_sampling=False,
                loss_reduction="sum",
                noise_generator=gens[i],
            )
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(
                    module(xb.to(device)), yb.to(device), reduction="sum"
                )
                loss.backward()
                optimizer.step()
                examples += len(yb)
                if not torch.isfinite(loss):
                    diverged[i] = True
        linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
        for layer, linear in enumerate(linears):
            out[2 * layer].append(linear.weight.detach().T.to(device))
            out[2 * layer + 1].append(linear.bias.detach().to(device))
    params = tuple(torch.stack(p) for p in out)
    for p in params:
        diverged |= ~torch.isfinite(p.reshape(M, -1)).all(1).cpu().numpy()
    return Trained(params=params, diverged=diverged, steps=steps, examples=examples)
