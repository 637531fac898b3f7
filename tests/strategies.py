"""Hypothesis strategies shared by the test suite."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["counts", "levels", "probabilities", "trials"]


def trials(max_value: int = 10_000) -> st.SearchStrategy[int]:
    """A positive number of trials."""
    return st.integers(min_value=1, max_value=max_value)


@st.composite
def counts(draw: st.DrawFn, max_trials: int = 10_000) -> tuple[int, int]:
    """``(successes, trials)`` with ``0 <= successes <= trials``, often at the edges."""
    n = draw(trials(max_trials))
    k = draw(st.one_of(st.sampled_from([0, n]), st.integers(min_value=0, max_value=n)))
    return k, n


def levels(min_value: float = 0.5, max_value: float = 0.999) -> st.SearchStrategy[float]:
    """A confidence level strictly inside (0, 1)."""
    return st.floats(min_value=min_value, max_value=max_value)


def probabilities(
    min_value: float = 0.0, max_value: float = 1.0, *, open_: bool = True
) -> st.SearchStrategy[float]:
    """A probability, by default strictly inside (0, 1)."""
    return st.floats(
        min_value=min_value,
        max_value=max_value,
        exclude_min=open_,
        exclude_max=open_,
        allow_nan=False,
    )
