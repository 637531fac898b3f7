"""Quantity functions: named Python functions that a proof file may refer to by name.

A proof file cannot run code, but some resources are computed from the theorem's game
parameters by code the domain already has: the ε of a differentially private trainer
from its noise multiplier, sampling rate and steps, say. The domain registers such a
function once::

    @proofs.quantity("dp_epsilon")
    def dp_epsilon(params):
        return accountant(params["noise"], params["rate"], params["steps"])

and a proof file names it as a resource's source (``eps = { quantity = "dp_epsilon" }``).
The name is looked up when a value is needed, never when the file is loaded, so a domain
module that needs torch is imported only then.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from oracles import InvalidArgument

__all__ = ["QUANTITY_NAME", "Quantity", "get_quantity", "quantities", "quantity"]

Quantity = Callable[[Mapping[str, Any]], float]

#: Quantity names: lower-case words joined by underscores or hyphens (``dp_epsilon``).
QUANTITY_NAME = re.compile(r"^[a-z][a-z0-9]*([_-][a-z0-9]+)*$")
GROUP = "advantage.quantities"

_REGISTRY: dict[str, Quantity] = {}


def quantity(name: str) -> Callable[[Quantity], Quantity]:
    """Decorator: register ``function(params) -> float`` under ``name``.

    ``params`` is the theorem's game parameters as a read-only mapping. Registering a
    second function under a taken name raises :class:`InvalidArgument`, unless it is the
    same function (a module imported twice).
    """
    if not isinstance(name, str) or not QUANTITY_NAME.match(name):
        raise InvalidArgument(
            f"quantity name {name!r} must be lower-case words joined by '_' or '-'"
        )

    def register(function: Quantity) -> Quantity:
        if not callable(function):
            raise InvalidArgument(f"quantity {name!r} must be a callable, got {function!r}")
        known = _REGISTRY.get(name)
        if known is not None and _identity(known) != _identity(function):
            raise InvalidArgument(f"quantity {name!r} is already registered to {_identity(known)}")
        _REGISTRY[name] = function
        return function

    return register


def _identity(function: Any) -> str:
    return f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', repr(function))}"


def quantities() -> dict[str, Quantity]:
    """The quantity functions registered so far, by name (entry points included)."""
    _scan_entry_points()
    return dict(sorted(_REGISTRY.items()))


def _scan_entry_points() -> None:
    for point in metadata.entry_points(group=GROUP):
        if point.name not in _REGISTRY:
            _REGISTRY[point.name] = point.load()


def get_quantity(name: str, *, modules: tuple[str, ...] = ()) -> Quantity:
    """The quantity function called ``name``.

    Args:
        modules: modules to import first if the name is not registered yet (the domain
            package a proof file lives in registers its quantities when imported).

    Raises:
        InvalidArgument: no quantity of that name; the message lists the near ones.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        if name in _REGISTRY:
            return _REGISTRY[name]
    known = quantities()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    listed = ", ".join(known) or "none"
    raise InvalidArgument(f"unknown quantity {name!r}{hint} (registered: {listed})")
