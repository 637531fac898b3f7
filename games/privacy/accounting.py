"""ε of DP-SGD from an established accountant, never from a formula written here.

The mechanism is ``steps`` compositions of the Poisson-subsampled Gaussian mechanism
(sampling rate ``q``, noise multiplier ``σ``), neighbouring datasets differing by one added
or removed record. Google's ``dp-accounting`` is used when installed (``rdp``: Rényi DP,
``pld``: privacy-loss distributions, tighter and slower); otherwise Opacus's RDP accountant.
"""

from __future__ import annotations

import functools
import logging
import math

from oracles import InvalidArgument

__all__ = ["ACCOUNTANTS", "available", "epsilon"]

ACCOUNTANTS = ("rdp", "pld")


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

    Raises InvalidArgument for out-of-range arguments or when no accounting library is
    installed (``pip install dp-accounting``).
    """
    if (
        not (isinstance(noise_multiplier, int | float) and math.isfinite(noise_multiplier))
        or noise_multiplier <= 0
    ):
        raise InvalidArgument(f"noise_multiplier={noise_multiplier!r} must be a finite number > 0")
    if not (isinstance(sample_rate, int | float) and 0 < sample_rate <= 1):
        raise InvalidArgument(f"sample_rate={sample_rate!r} must be in (0, 1]")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InvalidArgument(f"steps={steps!r} must be a positive integer")
    if not (isinstance(delta, int | float) and 0 < delta < 1):
        raise InvalidArgument(f"delta={delta!r} must be in (0, 1)")
    if accountant not in ACCOUNTANTS:
        raise InvalidArgument(f"accountant={accountant!r} must be one of: {', '.join(ACCOUNTANTS)}")
    return _epsilon(
        float(noise_multiplier), float(sample_rate), int(steps), float(delta), accountant
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
            raise InvalidArgument("accountant='pld' needs dp-accounting: pip install dp-accounting")
        from opacus.accountants import RDPAccountant

        acc = RDPAccountant()
        acc.history = [(sigma, q, steps)]
        return float(acc.get_epsilon(delta))
    raise InvalidArgument(
        "computing ε needs an accountant: pip install dp-accounting (or pip install -e '.[opacus]')"
    )
