"""The robustness games: ``evasion``, and the two games its proofs rest on (its utility side,
``clean-error``, is in :mod:`games.robustness.clean`).

``evasion`` (search): the challenger draws a test point that the defended classifier labels
correctly and hands it to the adversary, who returns a point within the ``norm`` ball of
radius ``eps`` around it and within the data's range; the adversary wins if the defended
classifier mislabels that point. Advantage: the robust error, less the baseline 0 (the
trivial adversary, which returns the point it was given, never wins: see below).

Access (``access``): ``white-box`` gives the oracles ``gradient(x, y, loss)`` (outputs and
gradient of a loss through the defended forward pass, as autograd sees it),
``model_gradient(x, y, loss)`` (the same through the bare model: white-box knows the
weights), ``scores(x)`` and ``labels(x)``; ``scores`` gives ``scores`` and ``labels``;
``labels`` gives ``labels`` only. Each oracle answers ``queries`` calls per trial; on the
batched path one call answers every trial of the batch and counts as one call of each.
Losses: ``ce``, ``dlr``, ``margin`` (:func:`games.robustness.perturb.loss`).

Public values: ``x`` and ``y`` (the point and its label), ``eps``, ``norm``, ``low`` and
``high`` (the valid range), ``classes``, ``image`` (the feature layout), ``defense`` and
``transform`` (the defense's name and its preprocessing step: the defense is public). The
model's training seed is the challenger's key and is not given.

Randomized defenses decide with noise. Each trial draws its *judgement* noise once, and the
clean point is drawn among those the defended classifier labels correctly with that noise,
and the answer is judged with the same noise: so the point handed over is correctly
classified as deployed, and returning it unchanged never wins. Oracle answers use fresh
noise per call. An answer outside the ball or the range (beyond a tolerance of 1e-6 for
rounding) is refused (:class:`games.InvalidAnswer`): the trial is lost and counted as an
invalid answer; on the batched path the whole batch is refused, since its answers are
checked together.

``pgd-gap`` (search, the assumption of ``gradient-masking``): the same trial, and the
challenger also runs its own reference PGD on the point (through the same defended forward
pass); the adversary wins when its point is misclassified and the reference's is not.

``certified-radius`` (search, the theorem of ``randomized-smoothing``): the challenger
runs CERTIFY on a ``gaussians`` test point; where it certifies a class c with ℓ2 radius R,
the adversary gets R as ``eps`` and c as ``y`` and wins by returning a point within R on
which the smoothed classifier's prediction is not c. The base classifier is the Bayes rule
(linear), whose smoothed classifier is known exactly (p_1(x) = Φ(m(x)/σ) for the margin
m), so the win is decided exactly, with no sampling.

The module is long because the three games share one base (the oracles over a
defended classifier and the check of an answer against the ball and the range), read
together with the games that use it; the data, models, defenses and perturbations live in
their own modules.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import torch

from games.base import Challenge, Search
from games.errors import InvalidAnswer, TrialFailed
from games.params import integer, number, param
from games.registry import register
from games.robustness import data as datasets
from games.robustness import perturb
from games.robustness.defenses import (
    ABSTAIN,
    DEFENSES,
    Defended,
    GaussianNoise,
    Identity,
    JpegLike,
    Quantize,
)
from games.robustness.models import ARCHITECTURES, ModelSpec, one_thread, trained
from oracles import InvalidArgument

__all__ = [
    "ACCESS",
    "TOLERANCE",
    "CertifiedRadius",
    "Evasion",
    "PgdGap",
    "deployed",
]

ACCESS = ("white-box", "scores", "labels")
ORACLES = {
    "white-box": ("gradient", "model_gradient", "scores", "labels"),
    "scores": ("scores", "labels"),
    "labels": ("labels",),
}
#: How far (absolute, plus 1e-5 relative for ℓ2) an answer may lie outside the ball or range:
#: float32 rounding of a projected point, nothing an attack could use.
TOLERANCE = 1e-6
#: Rounds of redrawing test points that the defense mislabels before a trial fails.
MAX_ROUNDS = 200


def _model_choice(name: str, value: Any) -> None:
    if value is not None and value not in ARCHITECTURES:
        raise InvalidArgument(
            f"{name}={value!r} must be one of: {', '.join(ARCHITECTURES)} (or None)"
        )


def _threaded(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` run on one torch thread (see :func:`~games.robustness.models.one_thread`)."""

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with one_thread():
            return function(*args, **kwargs)

    return wrapped


def _optional_positive(name: str, value: Any) -> None:
    if value is not None:
        number(0, open_low=True)(name, value)


def _optional_radius(name: str, value: Any) -> None:
    if value is not None:
        number(0)(name, value)


def torch_coins(rng: np.random.Generator) -> torch.Generator:
    """A torch generator seeded by one draw from the challenger's numpy coins."""
    return torch.Generator().manual_seed(int(rng.integers(2**63)))


@functools.lru_cache(maxsize=32)
def deployed(
    spec: ModelSpec,
    name: str,
    transform: Any,
    rule: str,
    sigma: float,
    votes: int,
    n: int,
    n0: int,
    alpha: float,
    device: str,
) -> Defended:
    """The defended classifier (its model trained once per spec, moved to ``device``)."""
    model = trained(spec)
    if device != "cpu":
        model = copy.deepcopy(model).to(device)
    return Defended(
        name=name,
        model=model,
        transform=transform,
        classes=datasets.load(spec.data).classes,
        rule=rule,
        sigma=sigma,
        votes=votes,
        n=n,
        n0=n0,
        alpha=alpha,
        one_stage=name == "smoothing-one-stage",
    )


class _Robustness(Search):
    """What the three games share: oracles over a defended classifier and the answer check."""

    trials_per_batch = 512

    # Subclasses provide these.
    defense: str
    norm: str
    access: str
    queries: int
    device: str | None

    def task(self) -> datasets.Task:
        raise NotImplementedError

    def defended(self) -> Defended:
        raise NotImplementedError

    def transform(self) -> Any:
        raise NotImplementedError

    def _setup(self, size: int, rng: np.random.Generator, *, single: bool) -> Challenge:
        raise NotImplementedError

    def _wins(self, challenge: Challenge, answers: Any, single: bool) -> np.ndarray:
        raise NotImplementedError

    # Tiny batches: one torch thread (see games.robustness.models.one_thread).
    def setup(self, rng: np.random.Generator) -> Challenge:
        with one_thread():
            return self._setup(1, rng, single=True)

    def setup_batch(self, size: int, rng: np.random.Generator) -> Challenge:
        with one_thread():
            return self._setup(size, rng, single=False)

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        with one_thread():
            return bool(self._wins(challenge, answer, single=True)[0])

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        with one_thread():
            return self._wins(challenge, answers, single=False)

    def _oracles(
        self, deployed_: Defended, size: int, single: bool, generator: torch.Generator
    ) -> dict[str, Callable[..., Any]]:
        task = self.task()
        dims, classes = task.dims, task.classes
        device = deployed_.device

        def points(x: Any) -> torch.Tensor:
            t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
            want = (dims,) if single else (size, dims)
            if tuple(t.shape) != want:
                raise InvalidArgument(f"x has shape {tuple(t.shape)}; the oracle takes {want}")
            t = t.to(device, torch.float32).reshape(size, dims)
            # One reduction in the common case; NaN and infinity propagate into the sum.
            if not torch.isfinite(t.sum()) and not torch.isfinite(t).all():
                raise InvalidArgument("x must be finite (it holds NaN or infinity)")
            return t

        def labels_of(y: Any) -> torch.Tensor:
            t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
            want = () if single else (size,)
            if tuple(t.shape) != want or t.is_floating_point():
                raise InvalidArgument(f"y must be integer labels of shape {want}")
            t = t.to(device, torch.long).reshape(size)
            if ((t < 0) | (t >= classes)).any():
                raise InvalidArgument(f"y must be labels in [0, {classes})")
            return t

        def out(t: torch.Tensor) -> torch.Tensor:
            return t[0] if single else t

        def gradient(x: Any, y: Any, loss: str = "ce") -> tuple[torch.Tensor, torch.Tensor]:
            logits, grad = deployed_.gradient(points(x), labels_of(y), loss, generator)
            return out(logits), out(grad)

        def model_gradient(x: Any, y: Any, loss: str = "ce") -> tuple[torch.Tensor, torch.Tensor]:
            logits, grad = deployed_.gradient(points(x), labels_of(y), loss, bare=True)
            return out(logits), out(grad)

        def scores(x: Any) -> torch.Tensor:
            return out(deployed_.scores(points(x), generator))

        def labels(x: Any) -> Any:
            found = deployed_.predict(points(x), generator=generator)
            return int(found[0]) if single else found

        every: dict[str, Callable[..., Any]] = {
            "gradient": gradient,
            "model_gradient": model_gradient,
            "scores": scores,
            "labels": labels,
        }
        return {name: _threaded(every[name]) for name in ORACLES[self.access]}

    def _public(
        self, X: torch.Tensor, Y: torch.Tensor, eps: torch.Tensor, single: bool
    ) -> dict[str, Any]:
        task = self.task()
        return {
            "x": X[0] if single else X,
            "y": int(Y[0]) if single else Y,
            "eps": float(eps[0]) if single else eps,
            "norm": self.norm,
            "low": task.low,
            "high": task.high,
            "classes": task.classes,
            "image": task.image,
            "defense": self.defense,
            "transform": self.transform(),
            "access": self.access,
        }

    def _valid(
        self, answers: Any, X: torch.Tensor, eps: torch.Tensor, single: bool
    ) -> tuple[torch.Tensor, torch.Tensor, str]:
        """The answers as points (B, d), which of them are valid, and why the first is not."""
        task = self.task()
        size, dims = X.shape
        try:
            t = torch.as_tensor(
                answers if isinstance(answers, torch.Tensor) else np.asarray(answers, np.float32)
            )
        except (TypeError, ValueError) as error:
            raise InvalidAnswer(f"the answer is not an array of points: {error}") from None
        want = (dims,) if single else (size, dims)
        if tuple(t.shape) != want or not (t.is_floating_point() or t.dtype == torch.long):
            raise InvalidAnswer(f"the answer has shape {tuple(t.shape)}; the game takes {want}")
        points = t.to(X.device, torch.float32).reshape(size, dims)
        finite = torch.isfinite(points).all(1)
        safe = torch.where(finite[:, None], points, X)
        delta = (safe - X).double()
        if self.norm == "linf":
            distance = delta.abs().amax(1)
        else:
            distance = torch.linalg.vector_norm(delta, dim=1)
        radius = eps.to(X.device).double()
        inside = distance <= radius + TOLERANCE + 1e-5 * torch.where(
            torch.isfinite(radius), radius, 0.0
        )
        in_range = ((safe >= task.low - TOLERANCE) & (safe <= task.high + TOLERANCE)).all(1)
        valid = finite & inside & in_range
        why = ""
        if not bool(valid.all()):
            first = int(torch.nonzero(~valid)[0, 0])
            if not finite[first]:
                why = "the answer holds NaN or infinity"
            elif not inside[first]:
                why = (
                    f"the answer lies outside the {self.norm} ball of radius "
                    f"{float(radius[first]):.6g} around x (distance {float(distance[first]):.6g})"
                )
            else:
                why = f"the answer lies outside the data range [{task.low}, {task.high}]"
            if not single:
                bad = int((~valid).sum())
                why = f"{bad} of {size} answers are refused; trial {first}: {why}"
        return safe, valid, why


# -- evasion ----------------------------------------------------------------------------------


def _defense_param() -> Any:
    return param("standard", help="the defense under test (the scheme)", choices=DEFENSES)


@register("evasion")
@attrs.frozen(kw_only=True)
class Evasion(_Robustness):
    """Evasion: move a correctly classified point within a norm ball until the defense mislabels it."""

    cost_game: ClassVar[str | None] = "clean-error"

    data: str = param("digits", help="the data set", choices=datasets.DATASETS)
    model: str | None = param(
        None, help="classifier (None: mlp on digits, linear on gaussians)", check=_model_choice
    )
    defense: str = _defense_param()
    norm: str = param("linf", help="the norm of the ball", choices=datasets.NORMS)
    eps: float = param(0.1, help="the radius of the ball", check=number(0))
    access: str = param("white-box", help="what the adversary may query", choices=ACCESS)
    queries: int = param(1000, help="calls per oracle and trial", check=integer(0))
    width: int = param(64, help="hidden units (mlp) or channels x 4 (cnn)", check=integer(1, 4096))
    epochs: int = param(30, help="training passes over the data", check=integer(1, 10_000))
    seed: int = param(
        0, help="the model's training seed (kept from the adversary)", check=integer(0)
    )
    levels: int = param(2, help="quantize: values per coordinate", check=integer(2, 1 << 16))
    jpeg_step: float = param(
        0.05,
        help="jpeg-like: rounding step of the lowest DCT frequency",
        check=number(0, open_low=True),
    )
    sigma: float = param(
        0.25, help="random-noise and smoothing: noise std", check=number(0, open_low=True)
    )
    votes: int = param(
        16,
        help="random-noise: votes per decision; randomized: draws per gradient",
        check=integer(1),
    )
    n: int = param(100, help="smoothing: draws of PREDICT", check=integer(1))
    alpha: float = param(
        0.001,
        help="smoothing: PREDICT's test level",
        check=number(0, 1, open_low=True, open_high=True),
    )
    train_eps: float | None = param(
        None, help="adversarial-training: training radius (None: eps)", check=_optional_radius
    )
    device: str | None = param(None, help="torch device of the model (None: cpu)")

    def __attrs_post_init__(self) -> None:
        if self.data == "gaussians":
            if self.model not in (None, "linear"):
                raise InvalidArgument(
                    f"model={self.model!r} is not available for data='gaussians': its "
                    "classifier is the Bayes rule (model='linear')"
                )
            if self.defense == "adversarial-training":
                raise InvalidArgument(
                    "defense='adversarial-training' needs a trained model; data='gaussians' "
                    "is classified by its Bayes rule"
                )

    # -- the scheme ---------------------------------------------------------------------

    def task(self) -> datasets.Task:
        return datasets.load(self.data)

    def model_kind(self) -> str:
        return self.model or ("linear" if self.data == "gaussians" else "mlp")

    def transform(self) -> Any:
        """The defense's preprocessing step (public)."""
        task = self.task()
        if self.defense == "quantize":
            return Quantize(self.levels, task.low, task.high)
        if self.defense == "jpeg-like":
            return JpegLike(task.image, self.jpeg_step, task.low, task.high)
        if self.defense in ("random-noise", "smoothing", "smoothing-one-stage"):
            return GaussianNoise(self.sigma)
        return Identity()

    def spec(self) -> ModelSpec:
        """How the defense's model is trained."""
        base = ModelSpec(
            data=self.data,
            model=self.model_kind(),
            width=self.width,
            epochs=self.epochs,
            seed=self.seed,
        )
        if self.defense == "adversarial-training":
            eps = self.eps if self.train_eps is None else self.train_eps
            return attrs.evolve(base, recipe="adversarial", eps=eps, norm=self.norm)
        if self.defense in ("random-noise", "smoothing", "smoothing-one-stage"):
            return attrs.evolve(base, recipe="noise", sigma=self.sigma)
        if self.defense in ("quantize", "jpeg-like"):
            return attrs.evolve(base, transform=self.transform())
        return base

    def defended(self) -> Defended:
        """The defended classifier (trained on first use, then cached)."""
        rule = {
            "random-noise": "vote",
            "smoothing": "smoothing",
            "smoothing-one-stage": "smoothing",
        }
        transform = self.transform()
        return deployed(
            self.spec(),
            self.defense,
            Identity() if transform.randomized else transform,
            rule.get(self.defense, "argmax"),
            self.sigma,
            self.votes,
            self.n,
            1,  # n0: evasion predicts, it does not certify
            self.alpha,
            self.device or "cpu",
        )

    # -- trials -------------------------------------------------------------------------

    def _draw(
        self, classifier: Defended, size: int, rng: np.random.Generator, noise: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` test points that ``classifier`` labels correctly (with the judgement noise)."""
        task = self.task()
        X = torch.zeros((size, task.dims), device=classifier.device)
        Y = torch.zeros(size, dtype=torch.long, device=classifier.device)
        missing = torch.arange(size, device=classifier.device)
        for _ in range(MAX_ROUNDS):
            drawn_x, drawn_y = task.draw(rng, len(missing))
            x = torch.from_numpy(np.array(drawn_x)).to(X.device)
            y = torch.from_numpy(np.array(drawn_y)).to(X.device)
            right = classifier.predict(x, None if noise is None else noise[missing]) == y
            X[missing[right]] = x[right]
            Y[missing[right]] = y[right]
            missing = missing[~right]
            if len(missing) == 0:
                return X, Y
        raise TrialFailed(
            f"the defense mislabelled every test point drawn for {len(missing)} of the trials, "
            f"{MAX_ROUNDS} draws each"
        )

    def _setup(self, size: int, rng: np.random.Generator, *, single: bool) -> Challenge:
        classifier = self.defended()
        task = self.task()
        noise = classifier.judgement(size, task.dims, torch_coins(rng))
        queries = torch_coins(rng)
        X, Y = self._draw(classifier, size, rng, noise)
        eps = torch.full((size,), float(self.eps), dtype=torch.float64, device=X.device)
        oracles = self._oracles(classifier, size, single, queries)
        return Challenge(
            oracles=oracles,
            budgets={name: self.queries for name in oracles},
            public=self._public(X, Y, eps, single),
            secret={
                "x": X,
                "y": Y,
                "noise": noise,
                "eps": eps,
                **self._extra(classifier, X, Y, eps, noise, rng),
            },
        )

    def _extra(self, classifier: Defended, X: Any, Y: Any, eps: Any, noise: Any, rng: Any) -> dict:
        return {}

    def _wins(self, challenge: Challenge, answers: Any, single: bool) -> np.ndarray:
        secret = challenge.secret
        points, valid, why = self._valid(answers, secret["x"], secret["eps"], single)
        if not bool(valid.all()):
            raise InvalidAnswer(why)
        wrong = self.defended().predict(points, secret["noise"]) != secret["y"]
        return self._judge(secret, wrong).cpu().numpy()

    def _judge(self, secret: dict, wrong: torch.Tensor) -> torch.Tensor:
        return wrong


@register("pgd-gap")
@attrs.frozen(kw_only=True)
class PgdGap(Evasion):
    """PGD gap: find an adversarial point where the challenger's own PGD finds none (an assumption game).

    The assumption it measures, "gradient-based attacks find adversarial examples when
    they exist", says no adversary wins it often. The reference PGD runs through the same
    defended forward pass as the ``gradient`` oracle, from a random start, with the
    cross-entropy loss; it counts as successful when the defense mislabels its point.
    """

    ref_steps: int = param(20, help="reference PGD: steps", check=integer(1, 100_000))
    ref_restarts: int = param(1, help="reference PGD: restarts", check=integer(1, 1000))
    ref_step: float | None = param(
        None,
        help="reference PGD: step as a fraction of eps (None: 2.5/steps)",
        check=_optional_positive,
    )

    def _extra(self, classifier: Defended, X: Any, Y: Any, eps: Any, noise: Any, rng: Any) -> dict:
        task = self.task()
        coins, queries = torch_coins(rng), torch_coins(rng)
        found = perturb.pgd(
            lambda p: classifier.gradient(p, Y, "ce", queries),
            X,
            Y,
            eps,
            norm=self.norm,
            low=task.low,
            high=task.high,
            steps=self.ref_steps,
            step=self.ref_step if self.ref_step is not None else 2.5 / self.ref_steps,
            restarts=self.ref_restarts,
            generator=coins,
        )
        return {"reference": classifier.predict(found, noise) != Y}

    def _judge(self, secret: dict, wrong: torch.Tensor) -> torch.Tensor:
        return wrong & ~secret["reference"]


# -- certified radius -------------------------------------------------------------------------


@register("certified-radius")
@attrs.frozen(kw_only=True)
class CertifiedRadius(_Robustness):
    """Certified radius: change randomized smoothing's certified prediction within its certified radius."""

    defense: str = param(
        "smoothing", help="the certifier", choices=("smoothing", "smoothing-one-stage")
    )
    sigma: float = param(0.05, help="the smoothing noise std", check=number(0, open_low=True))
    n0: int = param(10, help="CERTIFY's selection draws", check=integer(1))
    n: int = param(100, help="CERTIFY's estimation draws", check=integer(1))
    alpha: float = param(
        0.01,
        help="CERTIFY's failure probability",
        check=number(0, 1, open_low=True, open_high=True),
    )
    votes: int = param(16, help="draws per gradient of the smoothed classifier", check=integer(1))
    access: str = param("white-box", help="what the adversary may query", choices=ACCESS)
    queries: int = param(1000, help="calls per oracle and trial", check=integer(0))
    device: str | None = param(None, help="torch device of the model (None: cpu)")

    norm = "l2"

    def task(self) -> datasets.Task:
        return datasets.load("gaussians")

    def transform(self) -> Any:
        return GaussianNoise(self.sigma)

    def defended(self) -> Defended:
        return deployed(
            ModelSpec(data="gaussians", model="linear"),
            self.defense,
            Identity(),
            "smoothing",
            self.sigma,
            self.votes,
            self.n,
            self.n0,
            self.alpha,
            self.device or "cpu",
        )

    def _setup(self, size: int, rng: np.random.Generator, *, single: bool) -> Challenge:
        classifier = self.defended()
        task = self.task()
        x, _ = task.draw(rng, size)
        X = torch.from_numpy(np.array(x)).to(classifier.device)
        label, radius = classifier.certify(X, torch_coins(rng))
        certified = label != ABSTAIN
        # An abstained point claims nothing: radius 0, and the class CERTIFY would have named.
        named = torch.where(
            certified, label, classifier.predict(X, generator=torch_coins(rng)).clamp_min(0)
        )
        eps = torch.from_numpy(radius).to(X.device)
        oracles = self._oracles(classifier, size, single, torch_coins(rng))
        public = self._public(X, named, eps, single)
        public["certified"] = bool(certified[0]) if single else certified
        return Challenge(
            oracles=oracles,
            budgets={name: self.queries for name in oracles},
            public=public,
            secret={"x": X, "label": named, "certified": certified, "eps": eps},
        )

    def smoothed(self, X: torch.Tensor) -> torch.Tensor:
        """The smoothed classifier's exact prediction: p_1(x) = Φ(m(x)/σ) > ½ iff m(x) > 0."""
        margin = torch.from_numpy(self.task().bayes_margin(X.detach().cpu().numpy()))
        return (margin > 0).long().to(X.device)

    def violation(self, *, grid: int = 2001) -> float:
        """Pr[CERTIFY issues a certificate that the smoothed classifier violates], computed.

        The best adversary's win rate. The margin m of a test point is N(±δ, τ²) (each
        class half the time); the smoothed classifier names sign(m) with probability
        p = Φ(|m|/σ) and its true radius is |m|. A certificate (c, R) is violated iff c is
        the wrong class, or c is right and R > |m|, i.e. the bound on p exceeds p. The
        votes of the right class are Binomial(n, p) (and of the selection stage
        Binomial(n0, p); a tie names class 0), so for each m the probability is a finite
        sum, integrated numerically over m.
        """
        from scipy import special as sp
        from scipy import stats

        from games.robustness.defenses import clopper_pearson_lower

        delta, tau = datasets.DELTA, datasets.TAU
        m = np.linspace(-delta - 8 * tau, delta + 8 * tau, grid)
        density = 0.5 * (stats.norm.pdf(m, delta, tau) + stats.norm.pdf(m, -delta, tau))
        p = stats.norm.cdf(np.abs(m) / self.sigma)
        k = np.arange(self.n + 1)
        if self.defense == "smoothing-one-stage":
            share = k / self.n
            lower = share - sp.ndtri(1 - self.alpha) * np.sqrt(share * (1 - share) / self.n)
        else:
            lower = clopper_pearson_lower(k, self.n, self.alpha)
        certified = lower >= 0.5
        total = np.empty_like(m)
        for i, (pi, mi) in enumerate(zip(p, m, strict=True)):
            # Right class named with its own count k ~ Bin(n, p): violated iff its bound > p.
            right = stats.binom.pmf(k, self.n, pi) @ (certified & (lower > pi))
            # Wrong class named with its count ~ Bin(n, 1 − p): violated whenever certified.
            wrong = stats.binom.pmf(k, self.n, 1 - pi) @ certified
            if self.defense == "smoothing-one-stage":
                total[i] = right + wrong  # one sample: its majority is the class named
                continue
            tie = stats.binom.pmf(self.n0 // 2, self.n0, pi) if self.n0 % 2 == 0 else 0.0
            select = stats.binom.sf(self.n0 // 2, self.n0, pi) + tie * (mi <= 0)
            total[i] = select * right + (1 - select) * wrong
        return float(np.trapezoid(total * density, m))

    def _wins(self, challenge: Challenge, answers: Any, single: bool) -> np.ndarray:
        secret = challenge.secret
        points, valid, why = self._valid(answers, secret["x"], secret["eps"], single)
        if not bool(valid.all()):
            raise InvalidAnswer(why)
        changed = self.smoothed(points) != secret["label"]
        return (changed & secret["certified"]).cpu().numpy()
