"""The statistics the engine reports: intervals, shapes, planning, sequential decisions, curves.

- :mod:`games.stats.intervals`: Clopper–Pearson, Wilson and Hoeffding intervals, one-sided
  bounds, advantage intervals, two-sample intervals, a weighted rate over strata.
- :mod:`games.stats.shapes`: the three shapes and the arithmetic each one owns.
- :mod:`games.stats.planning`: how many trials a fixed-size run needs.
- :mod:`games.stats.sequential`: anytime-valid confidence sequences (what ``certify`` uses).
- :mod:`games.stats.curves`: success against budget, fitted with a simultaneous band.
- :mod:`games.stats.judged`: a rate read through an imperfect judge (Rogan–Gladen).

Every routine checks its arguments and raises :class:`oracles.InvalidArgument` naming the
bad one; every one is property-tested for what it claims (coverage, monotonicity, bounds).

``scipy.stats`` and ``scipy.optimize`` are imported where they are used: they were most of
``import games``'s time, which ``advantage --help`` and runs that never plan, fit or certify
should not pay. ``scipy.special`` (the intervals' functions) is imported as usual.
"""

from games.stats.intervals import (
    METHODS,
    TWO_SAMPLE_METHODS,
    binomial_bound,
    binomial_interval,
    difference_interval,
    percent,
    stratified_interval,
)
from games.stats.judged import JudgeTooWeak, rogan_gladen, rogan_gladen_interval
from games.stats.planning import EXACT_PLAN_LIMIT, Plan, plan
from games.stats.shapes import (
    HIDDEN_BIT,
    REAL_VS_IDEAL,
    SEARCH,
    SHAPES,
    Shape,
    advantage_interval,
    shape_of,
)

__all__ = [
    "EXACT_PLAN_LIMIT",
    "HIDDEN_BIT",
    "JudgeTooWeak",
    "METHODS",
    "REAL_VS_IDEAL",
    "SEARCH",
    "SHAPES",
    "TWO_SAMPLE_METHODS",
    "Plan",
    "Shape",
    "advantage_interval",
    "binomial_bound",
    "binomial_interval",
    "difference_interval",
    "percent",
    "plan",
    "rogan_gladen",
    "rogan_gladen_interval",
    "shape_of",
    "stratified_interval",
]
