"""How a run is played: one record, checked once, passed to every run procedure."""

from __future__ import annotations

import math
from typing import Any, TypedDict

import attrs

from oracles import InvalidArgument

__all__ = ["BACKENDS", "RunKeywords", "RunOptions"]

BACKENDS = ("serial", "process", "ray")


def _positive_int(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise InvalidArgument(f"{name}={value!r} must be a positive integer")


def _check(instance: RunOptions, attribute: attrs.Attribute, value: Any) -> None:
    name = attribute.name
    if name in ("chunk_size", "workers"):
        _positive_int(name, value)
    elif name == "backend" and value not in BACKENDS:
        raise InvalidArgument(f"backend={value!r} must be one of: {', '.join(BACKENDS)}")
    elif (
        name == "trial_timeout"
        and value is not None
        and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        )
    ):
        raise InvalidArgument(f"trial_timeout={value!r} must be a positive number of seconds")
    elif name == "batched" and value is not None and not isinstance(value, bool):
        raise InvalidArgument(f"batched={value!r} must be True, False or None")


@attrs.frozen(kw_only=True)
class RunOptions:
    """Where and how trials are played; none of it changes what a trial is.

    Attributes:
        batched: None takes the batched path when game and adversary both offer it; True
            insists on it, False forbids it.
        chunk_size: trials per unit of work (a log line, a progress step, a backend task).
            On the batched path it is part of what the answer depends on.
        backend: ``serial``, ``process`` or ``ray``; ``workers`` processes for the latter two.
        address: the Ray cluster to join (``auto`` or HOST:PORT).
        isolate: run the adversary in a separate process that sees only oracle messages
            (see :mod:`games.engine.isolation`); implies the per-trial path.
        device: the torch device for games with a ``device`` parameter.
        trial_timeout: seconds an adversary may take for one trial; over it the trial is
            the adversary's loss, counted as ``timeout``.
    """

    batched: bool | None = attrs.field(default=None, validator=_check)
    chunk_size: int | None = attrs.field(default=None, validator=_check)
    backend: str = attrs.field(default="serial", validator=_check)
    workers: int | None = attrs.field(default=None, validator=_check)
    address: str | None = None
    isolate: bool = False
    device: str | None = None
    trial_timeout: float | None = attrs.field(default=None, validator=_check)

    def __attrs_post_init__(self) -> None:
        if self.isolate and self.batched:
            raise InvalidArgument(
                "isolate=True plays trial by trial; it cannot take the batched path"
            )
        if self.address is not None and self.backend != "ray":
            raise InvalidArgument("address is for backend='ray' only")
        # The serial backend plays in this process: a worker count would be ignored.
        if self.workers is not None and self.backend == "serial":
            raise InvalidArgument(
                f"workers={self.workers} is for backend='process' or 'ray' only: drop it, or "
                "choose one of those backends"
            )


class RunKeywords(TypedDict, total=False):
    """:class:`RunOptions` as the keyword arguments of ``estimate``, ``certify`` and
    ``estimate_best`` (``**run: Unpack[RunKeywords]``), so that they are declared once."""

    batched: bool | None
    chunk_size: int | None
    backend: str
    workers: int | None
    address: str | None
    isolate: bool
    device: str | None
    trial_timeout: float | None
