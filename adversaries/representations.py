"""Readers of erased representations, and the reduction from concept erasure to two-moment.

Each probe trains on the labelled erased representations a ``concept-erasure`` trial makes
public (``X``, ``z``) and guesses the concept of ``challenge``. They differ only in what
they can read: a linear function, a quadratic one, or anything (an MLP, nearest neighbours).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from games.base import answer_bit
from games.params import integer, number, param
from games.representations import ERASERS, balanced, erasure_view
from oracles import InvalidArgument, Oracles

__all__ = [
    "PROBES",
    "whiten",
    "ErasureDistinguisher",
    "Knn",
    "LinearProbe",
    "MlpProbe",
    "QuadraticProbe",
    "RoundoffProbe",
]


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def whiten(X: np.ndarray, *others: np.ndarray, tolerance: float = 1e-9) -> list[np.ndarray]:
    """Whiten ``X`` (and ``others`` with X's statistics) on the span of X's covariance.

    Directions whose variance is below ``tolerance`` times the largest are dropped: an
    erased direction has variance ~1e-32 made of rounding error, and scaling that up would
    be reading the floating-point noise, not the representation.
    """
    mean = X.mean(axis=0)
    values, vectors = np.linalg.eigh(
        np.cov(X - mean, rowvar=False, bias=True).reshape(X.shape[1], -1)
    )
    keep = values > tolerance * max(float(values.max()), 0.0)
    transform = vectors[:, keep] / np.sqrt(values[keep])
    return [(A - mean) @ transform for A in (X, *others)]


class _Probe:
    """Fits a scikit-learn classifier on the whitened public training set and labels the challenge.

    ``model(rng, records)`` builds the classifier for a training set of ``records`` rows.
    """

    def model(self, rng: np.random.Generator, records: int) -> Any:
        raise NotImplementedError

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        X = np.asarray(oracles.public["X"], dtype=float)
        z = np.asarray(oracles.public["z"])
        challenge = np.asarray(oracles.public["challenge"], dtype=float).reshape(1, -1)
        values = np.unique(z)
        if len(values) < 2:
            # One class seen: nothing to learn, and guessing it is no better than a coin.
            return int(rng.integers(2))
        X, challenge = whiten(X, challenge)
        if X.shape[1] == 0:
            # Everything erased: the representations are constant.
            return int(rng.integers(2))
        # Small matrices: BLAS threads cost more than they save (tenfold on a busy machine).
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = self.model(rng, len(X)).fit(X, z)
            return int(fitted.predict(challenge)[0])


@register("linear-probe", games=("concept-erasure",))
@attrs.frozen(kw_only=True)
class LinearProbe(_Probe):
    """Logistic regression on whitened representations: the reader LEACE is built against."""

    c: float = param(1.0, help="inverse L2 regularisation strength", check=number(0, open_low=True))

    def model(self, rng: np.random.Generator, records: int) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.c, max_iter=1000)


@register("quadratic-probe", games=("concept-erasure",))
@attrs.frozen(kw_only=True)
class QuadraticProbe(_Probe):
    """Logistic regression on degree-2 features of whitened representations: a quadratic reader."""

    c: float = param(1.0, help="inverse L2 regularisation strength", check=number(0, open_low=True))

    def model(self, rng: np.random.Generator, records: int) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        return make_pipeline(
            PolynomialFeatures(2, include_bias=False),
            StandardScaler(),
            LogisticRegression(C=self.c, max_iter=1000),
        )


@register("mlp-probe", games=("concept-erasure",))
@attrs.frozen(kw_only=True)
class MlpProbe(_Probe):
    """A one-hidden-layer MLP (L-BFGS) on whitened representations: a nonlinear reader."""

    hidden: int = param(32, help="hidden units", check=integer(1, 4096))
    alpha: float = param(1e-3, help="L2 penalty", check=number(0))
    max_iter: int = param(200, help="L-BFGS iterations", check=integer(1))

    def model(self, rng: np.random.Generator, records: int) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            solver="lbfgs",
            alpha=self.alpha,
            max_iter=self.max_iter,
            random_state=_seed(rng),
        )


@register("knn", games=("concept-erasure",))
@attrs.frozen(kw_only=True)
class Knn(_Probe):
    """k nearest neighbours on whitened representations: a nonparametric reader."""

    k: int = param(15, help="neighbours that vote (all of them when fewer)", check=integer(1))

    def model(self, rng: np.random.Generator, records: int) -> Any:
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=min(self.k, records))


@register("roundoff-probe", games=("concept-erasure",))
@attrs.frozen(kw_only=True)
class RoundoffProbe:
    """Reads the rounding error an eraser leaves in the direction it collapses.

    In exact arithmetic an affine eraser's output is constant along the direction it
    removes; in floating point that direction holds ~1e-16-sized rounding error of the
    edit, which depends on the removed (concept-bearing) component. This probe rescales the
    least-variance direction of the training set and fits a logistic regression on it
    alone. Against the erasers here, which round their output to a coarse grid, it should
    find nothing.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(oracles.public["X"], dtype=float)
        z = np.asarray(oracles.public["z"])
        challenge = np.asarray(oracles.public["challenge"], dtype=float)
        mean = X.mean(axis=0)
        _, vectors = np.linalg.eigh(
            np.cov(X - mean, rowvar=False, bias=True).reshape(X.shape[1], -1)
        )
        along = (X - mean) @ vectors[:, 0]
        spread = float(along.std())
        if len(np.unique(z)) < 2 or spread == 0.0:
            return int(rng.integers(2))
        target = (challenge - mean) @ vectors[:, 0]
        probe = LogisticRegression(max_iter=1000).fit((along / spread)[:, None], z)
        return int(probe.predict([[target / spread]])[0])


PROBES: dict[str, type[_Probe]] = {
    "linear-probe": LinearProbe,
    "quadratic-probe": QuadraticProbe,
    "mlp-probe": MlpProbe,
    "knn": Knn,
}


def _check_inner(name: str, value: Any) -> None:
    if isinstance(value, str):
        if value not in PROBES:
            raise InvalidArgument(
                f"{name}={value!r} must be one of: {', '.join(PROBES)}, or an adversary"
            )
    elif not callable(value):
        raise InvalidArgument(f"{name}={value!r} must be a probe name or an adversary")


@register("erasure-distinguisher", games=("two-moment",))
@attrs.frozen(kw_only=True)
class ErasureDistinguisher:
    """The reduction from ``concept-erasure`` to ``two-moment``: erase, let ``inner`` guess, answer "real" if right.

    Given ``two-moment``'s labelled sample, it plays one ``concept-erasure`` trial itself:
    it draws a bit b', takes ``fit_size`` representations (half of each concept value) to
    fit the eraser, ``budget`` more as the inner adversary's training set and one of
    concept b' as the challenge, builds exactly the view the game builds
    (:func:`games.representations.erasure_view`), and answers 1 when ``inner`` guesses b'.

    In the real world that is a ``concept-erasure`` trial on the source, so
    Pr[D→1 | real] = (1 + Adv_CE(A)) / 2. In the ideal world it is a trial on the source's
    Gaussian twin (``concept-erasure`` with ``twin=true``), where the classes differ only
    by their means; LEACE fitted on the population would make them identical, so A's
    advantage there, ε_fit, is only the fitting error of the eraser (it shrinks like
    sqrt(dims / fit_size)). Hence

        Adv_CE(A) = 2·Adv_TM(D) + ε_fit,

    and an adversary that reads the concept after LEACE breaks the two-moment assumption.
    ``two-moment`` must show at least ``fit_size/2 + budget/2 + 1`` (rounded up) of each
    concept value; a smaller sample loses the trial with :class:`InvalidArgument`.
    """

    inner: Any = param(
        "mlp-probe",
        help=f"the erasure adversary: one of {', '.join(PROBES)} (or an adversary object)",
        check=_check_inner,
    )
    eraser: str = param(
        "leace", help="the eraser whose guarantee is reduced", choices=tuple(ERASERS)
    )
    fit_size: int = param(500, help="representations used to fit the eraser", check=integer(4))
    budget: int = param(200, help="representations the inner adversary trains on", check=integer(1))
    iterations: int = param(4, help="directions inlp removes", check=integer(1, 256))

    def _adversary(self) -> Any:
        return PROBES[self.inner]() if isinstance(self.inner, str) else self.inner

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        X = np.asarray(oracles.public["X"], dtype=float)
        z = np.asarray(oracles.public["z"]).astype(np.int64)
        guess_of = int(rng.integers(2))
        want = np.concatenate(
            [balanced(self.fit_size, rng), balanced(self.budget, rng), [guess_of]]
        )
        rows = np.empty(len(want), dtype=np.int64)
        for value in (0, 1):
            have = rng.permutation(np.flatnonzero(z == value))
            need = np.flatnonzero(want == value)
            if len(need) > len(have):
                raise InvalidArgument(
                    f"the sample holds {len(have)} representations of concept {value}; "
                    f"fit_size={self.fit_size} and budget={self.budget} need {len(need)}"
                )
            rows[need] = have[: len(need)]
        view = erasure_view(
            self.eraser,
            X[rows],
            want,
            fit_size=self.fit_size,
            budget=self.budget,
            iterations=self.iterations,
        )
        answer = self._adversary()(Oracles(public=view), rng)
        return int(answer_bit(answer) == guess_of)
