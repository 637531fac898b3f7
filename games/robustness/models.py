"""The classifiers under attack: a linear rule, a small MLP and a small CNN, trained once.

A model is a function of its :class:`ModelSpec` (data set, architecture, training recipe
and seed): :func:`trained` trains it deterministically on the CPU, on one thread, with a
``torch.Generator`` seeded from the spec's seed (initial weights, batch order, noise and
the inner attack of adversarial training all come from it), and keeps it for the rest of
the process. Training recipes:

- ``standard``: minibatch SGD with momentum on the cross-entropy;
- ``noise``: the same on inputs with fresh Gaussian noise each step (what randomized
  smoothing and the random-noise defense train on, Cohen et al. 2019);
- ``adversarial``: the same on PGD points (Madry et al. 2018): each batch is replaced by
  the PGD attack's points at the training radius before the step;
- any recipe may train on transformed inputs (the quantised or JPEG-like ones a
  preprocessing defense feeds its model).

On ``gaussians`` the model is the Bayes rule sign(u·(x − c)), fixed and untrained.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import torch

from games.robustness import data as datasets
from games.robustness import perturb
from oracles import InvalidArgument

__all__ = [
    "ARCHITECTURES",
    "MODELS",
    "RECIPES",
    "BayesLinear",
    "ModelSpec",
    "network",
    "one_thread",
    "trained",
]

#: The classifiers a robustness game's ``model`` parameter names.
ARCHITECTURES = ("linear", "mlp", "cnn")
#: The old name of :data:`ARCHITECTURES`.
MODELS = ARCHITECTURES
RECIPES = ("standard", "noise", "adversarial")

# Training knobs shared by every recipe: small enough for a test, enough for ~95% on digits.
BATCH = 64
LR = 0.05
MOMENTUM = 0.9
ADVERSARIAL_STEPS = 7
# The Bayes rule's logits are ±SCALE·m/2: a temperature that keeps the softmax unsaturated
# over [0, 1]² (|m| < 0.71), so gradients stay informative everywhere.
SCALE = 20.0


class BayesLinear(torch.nn.Module):
    """The Bayes rule of the ``gaussians`` task: logits ±SCALE·u·(x − c)/2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        margin = (x - datasets.CENTER).sum(-1, keepdim=True) / math.sqrt(x.shape[-1])
        return SCALE * torch.cat([-margin, margin], dim=-1) / 2


class _Images(torch.nn.Module):
    """Reads flat points as one-channel images."""

    def __init__(self, image: tuple[int, int]) -> None:
        super().__init__()
        self.image = image

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), 1, *self.image)


def network(kind: str, task: datasets.Task, width: int) -> torch.nn.Module:
    """An untrained network of ``kind`` for ``task`` (parameters left uninitialised)."""
    skip = torch.nn.utils.skip_init  # no draw from torch's global generator
    d, k = task.dims, task.classes
    if kind == "linear":
        return torch.nn.Sequential(skip(torch.nn.Linear, d, k))
    if kind == "mlp":
        return torch.nn.Sequential(
            skip(torch.nn.Linear, d, width),
            torch.nn.ReLU(),
            skip(torch.nn.Linear, width, width),
            torch.nn.ReLU(),
            skip(torch.nn.Linear, width, k),
        )
    if kind == "cnn":
        h, w = task.image
        if h < 4 or w < 4:
            raise InvalidArgument(f"model='cnn' needs image inputs; data={task.name!r} is a vector")
        channels = max(4, width // 4)
        flat = 2 * channels * math.ceil(h / 2) * math.ceil(w / 2)
        return torch.nn.Sequential(
            _Images(task.image),
            skip(torch.nn.Conv2d, 1, channels, 3, padding=1),
            torch.nn.ReLU(),
            skip(torch.nn.Conv2d, channels, 2 * channels, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            skip(torch.nn.Linear, flat, k),
        )
    raise InvalidArgument(f"model={kind!r} must be one of: {', '.join(ARCHITECTURES)}")


def _initialise(module: torch.nn.Module, generator: torch.Generator) -> None:
    """torch's default draw, U(−1/√fan_in, 1/√fan_in), from an explicit generator."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear | torch.nn.Conv2d):
                fan_in = layer.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                layer.weight.uniform_(-bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=generator)


@attrs.frozen(kw_only=True)
class ModelSpec:
    """Everything a trained model is a function of (hashable: the cache key).

    Attributes:
        data, model, width, epochs, seed: the task, architecture, hidden width, passes
            over the training set and training seed.
        recipe: one of :data:`RECIPES`.
        sigma: the noise of the ``noise`` recipe.
        eps, norm: the training radius and norm of the ``adversarial`` recipe.
        transform: a preprocessing step applied to every training input (None: none).
    """

    data: str
    model: str
    width: int = 64
    epochs: int = 30
    seed: int = 0
    recipe: str = "standard"
    sigma: float = 0.0
    eps: float = 0.0
    norm: str = "linf"
    transform: Any = None


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block's torch work on one CPU thread, then restore the thread count.

    The models here are tiny: torch's thread hand-offs cost more than a layer's work (a
    512 × 64 by 64 × 64 product takes ~0.1 ms on one thread and ~2 ms on two of a busy
    two-core machine), and a trained model must not depend on the machine's core count.
    The games and attacks of this domain run their torch work inside it.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _generator(seed: int) -> torch.Generator:
    state = np.random.SeedSequence(seed, spawn_key=(0x6D6F64656C,)).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


@functools.lru_cache(maxsize=32)
def trained(spec: ModelSpec) -> torch.nn.Module:
    """The model ``spec`` describes, trained on the CPU (cached per process; do not modify)."""
    task = datasets.load(spec.data)
    if task.name == "gaussians":
        if spec.model != "linear" or spec.recipe == "adversarial":
            raise InvalidArgument(
                "data='gaussians' is classified by its Bayes rule: model='linear', "
                "and no adversarial training"
            )
        return BayesLinear().eval().requires_grad_(False)
    module = network(spec.model, task, spec.width)
    generator = _generator(spec.seed)
    with one_thread():
        _initialise(module, generator)
        _fit(module, task, spec, generator)
    return module.eval().requires_grad_(False)


def _fit(
    module: torch.nn.Module, task: datasets.Task, spec: ModelSpec, generator: torch.Generator
) -> None:
    X = torch.from_numpy(np.array(task.train_x))
    Y = torch.from_numpy(np.array(task.train_y))
    optimiser = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM)
    criterion = torch.nn.CrossEntropyLoss()

    def model_gradient(
        points: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        points = points.detach().requires_grad_(True)
        logits = module(_apply(spec.transform, points))
        value = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
        (grad,) = torch.autograd.grad(value, points)
        return logits.detach(), grad

    for _ in range(spec.epochs):
        order = torch.randperm(len(Y), generator=generator)
        for start in range(0, len(Y), BATCH):
            rows = order[start : start + BATCH]
            xb, yb = X[rows], Y[rows]
            if spec.recipe == "noise":
                xb = xb + spec.sigma * torch.randn(tuple(xb.shape), generator=generator)
            elif spec.recipe == "adversarial":
                xb = perturb.pgd(
                    functools.partial(_swap, model_gradient, yb),
                    xb,
                    yb,
                    spec.eps,
                    norm=spec.norm,
                    low=task.low,
                    high=task.high,
                    steps=ADVERSARIAL_STEPS,
                    step=2.5 / ADVERSARIAL_STEPS,
                    generator=generator,
                    keep_hits=False,
                )
            optimiser.zero_grad()
            criterion(module(_apply(spec.transform, xb)), yb).backward()
            optimiser.step()


def _swap(
    gradient: Callable[[torch.Tensor, torch.Tensor], Any], labels: torch.Tensor, points: Any
) -> Any:
    return gradient(points, labels)


def _apply(transform: Any, x: torch.Tensor) -> torch.Tensor:
    return x if transform is None else transform(x)
