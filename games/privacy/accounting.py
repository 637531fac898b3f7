"""ε of DP-SGD from an established accountant, never from a formula written here.

The mechanism is ``steps`` compositions of the Poisson-subsampled Gaussian mechanism
(sampling rate ``q``, noise multiplier ``σ``), neighbouring datasets differing by one added
or removed record. Google's ``dp-accounting`` is used when installed (``rdp``: Rényi DP,
``pld``: privacy-loss distributions, tighter and slower); otherwise Opacus's RDP accountant.

:data:`DELTA` is the δ at which the domain states ε by default (the audits, ``advantage
audit --delta``, the ``dp-sgd`` proof, noisy descent's claim). This module does not import
torch.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from oracles import InvalidArgument, checks

__all__ = [
    "ACCOUNTANTS",
    "DELTA",
    "NoAccountant",
    "available",
    "dp_advantage_bound",
    "epsilon",
]

ACCOUNTANTS = ("rdp", "pld")

#: The δ at which ε is stated unless a caller says otherwise: below 1/n for the training
#: sets of the membership and unlearning games.
DELTA = 1e-5


class NoAccountant(InvalidArgument):
    """The accounting library that ε needs is not installed: a claim that cannot be
    computed, unlike a scheme that makes none (callers refuse it before any work)."""


def available() -> str | None:
    """The accounting library that :func:`epsilon` will use, or None."""
    try:
        import dp_accounting  # noqa: F401

        return "dp-accounting"
    except ImportError:
        pass
    try:
        import opacus.accountants  # noqa: F401

        return "opacus"
    except ImportError:
        return None


def epsilon(
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "rdp",
) -> float:
    """ε at ``delta`` of ``steps`` Poisson-subsampled Gaussian steps (add/remove one record).

    Raises InvalidArgument for out-of-range arguments, and its :class:`NoAccountant` when
    no accounting library for ``accountant`` is installed (``pip install dp-accounting``).
    """
    return _epsilon(
        checks.number("noise_multiplier", noise_multiplier, 0, open_low=True),
        checks.number("sample_rate", sample_rate, 0, 1, open_low=True),
        checks.positive("steps", steps),
        checks.open_unit("delta", delta),
        checks.choice("accountant", accountant, ACCOUNTANTS),
    )


@functools.lru_cache(maxsize=256)
def _epsilon(sigma: float, q: float, steps: int, delta: float, accountant: str) -> float:
    library = available()
    if library == "dp-accounting":
        import dp_accounting
        from dp_accounting import pld, rdp

        event = dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
        )
        acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
        # The RDP accountant logs a warning for each Rényi order it drops as numerically
        # unstable; the bound stays valid (it is a minimum over the orders it keeps).
        logger = logging.getLogger("absl")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            acc.compose(event)
            return float(acc.get_epsilon(delta))
        finally:
            logger.setLevel(level)
    if library == "opacus":
        if accountant != "rdp":
            raise NoAccountant(
                "accountant='pld' needs dp-accounting: pip install dp-accounting "
                "(or use accountant='rdp')"
            )
        from opacus.accountants import RDPAccountant

        acc = RDPAccountant()
        acc.history = [(sigma, q, steps)]
        return float(acc.get_epsilon(delta))
    raise NoAccountant(
        "computing ε needs an accountant: pip install dp-accounting (or pip install -e '.[opacus]')"
    )


def dp_advantage_bound(eps: float, delta: float) -> float:
    """The largest membership advantage 2·Pr[win] − 1 an (ε, δ)-DP trainer allows.

    (e^ε − 1 + 2δ)/(e^ε + 1), capped at 1: from Pr[win] ≤ (e^ε + δ)/(e^ε + 1) for a
    uniformly drawn bit (Kairouz et al. 2015).
    """
    if not eps >= 0 or not 0 <= delta <= 1:
        raise InvalidArgument(f"eps={eps!r} must be >= 0 and delta={delta!r} in [0, 1]")
    e = np.exp(min(eps, 700.0))
    return float(min(1.0, (e - 1 + 2 * delta) / (e + 1)))
