"""The oracle handle an adversary queries, with its budget and transcript.

An oracle's count, budget, transcript and the challenger's function live in a closure on the
challenger's side (a *gate*); the handle the adversary holds reaches them only through two
functions, so writing to a handle's attributes changes nothing the engine reads. The engine
keeps its own reference to the gate's :class:`Account` reader. In one interpreter nothing is
truly out of reach (frames, ``gc`` and closure cells are one reflection away): this protects
against mistakes, and ``--isolate`` against malice.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from oracles.errors import BudgetExceeded, InvalidArgument, OracleError

__all__ = ["Account", "Oracle", "Oracles", "inert", "open_oracle", "open_oracles"]

# Values of these exact types cannot be changed in place, and carry no method of the
# adversary's own (numpy's scalars too, but for np.void: a structured array's element is a
# view that writes into the array); an array of the exact type carries none either.
_IMMUTABLE = frozenset(
    {int, float, bool, str, bytes, complex, type(None)}
    | {kind for kind in np.sctypeDict.values() if kind is not np.void}
)
_BASE = _IMMUTABLE | {np.ndarray}
_DEPTH = 64


def inert(value: Any, depth: int = 0) -> Any:
    """``value`` as the challenger may use it: no method of the adversary's runs on its side.

    A subclass of ``numpy.ndarray``, of a numpy scalar, of ``torch.Tensor``, ``str``,
    ``bytes``, ``int`` or ``float`` becomes its base type (an array's ``__array_function__``
    was handed the hidden bits when ``numpy.where`` picked a message; a ``str``'s
    ``__len__`` lied to a length limit), and lists, tuples, dicts and arrays of objects are
    rebuilt of inert values. Other objects (a chat message) pass as they are: the game
    reads them through its own checks, and never compares one with a secret as it is (its
    own ``__eq__`` would answer).
    """
    kind = type(value)
    if kind in _BASE and not (kind is np.ndarray and value.dtype.hasobject):
        return value
    if depth > _DEPTH:
        raise InvalidArgument(f"a value the adversary sends may nest at most {_DEPTH} deep")
    if isinstance(value, list | tuple):
        return (list if isinstance(value, list) else tuple)(inert(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return {inert(k, depth + 1): inert(v, depth + 1) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        array = value.view(np.ndarray)
        return _objects(array, depth) if array.dtype.hasobject else array
    if isinstance(value, np.generic):  # a subclass of a numpy scalar: the same value, numpy's
        return np.asarray(value)[()]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(memoryview(value))
    if isinstance(value, int):  # bool cannot be subclassed: this is a subclass of int
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    torch = sys.modules.get("torch")  # loaded by whoever made a tensor: never imported here
    if torch is not None and isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor)
    return value


def _objects(array: np.ndarray, depth: int) -> np.ndarray:
    """An array of objects rebuilt of inert elements: numpy calls each element's own methods
    (``==`` compares element by element), so an ``int`` subclass equal to everything, kept in
    an object array, was taken for every secret on the batched path."""
    if array.dtype != object:
        raise InvalidArgument(
            f"a structured array holding objects ({array.dtype}) cannot be sent: send its fields"
        )
    out = np.empty(array.size, object)
    for i, element in enumerate(array.flat):
        out[i] = inert(element, depth + 1)
    return out.reshape(array.shape)


def check_budget(budget: int | None, name: str = "budget") -> int | None:
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int) or budget < 0
    ):
        raise InvalidArgument(f"{name}={budget!r} must be None or a non-negative integer")
    return budget


class Account(NamedTuple):
    """What one oracle did in a trial, as the challenger's side records it.

    ``failure`` is the exception the challenger's function raised last (the engine's
    business: it tells a diverged model from a bad query); the adversary only ever sees a
    fresh copy of it, without the challenger's frames.
    """

    queries: int
    exceeded: bool
    failure: BaseException | None
    transcript: tuple[tuple[Any, Any], ...]


def _fresh(error: Exception) -> Exception:
    """A copy of ``error`` that carries no traceback, cause or context (so no frames)."""
    try:
        fresh = copy.copy(error)  # its type, arguments and attributes; never its frames
    except Exception:
        fresh = OracleError(f"{type(error).__name__}: {error}")
    fresh.__traceback__ = fresh.__cause__ = fresh.__context__ = None
    return fresh


def _gate(
    answer: Callable[..., Any], name: str, budget: int | None, transcript: bool
) -> tuple[Callable[..., Any], Callable[[], Account]]:
    """The challenger's side of one oracle: ``(ask, read)``, sharing state only by closure."""
    queries = 0
    exceeded = False
    failure: BaseException | None = None
    log: list[tuple[Any, Any]] | None = [] if transcript else None

    cost = getattr(answer, "cost", None)  # queries one call spends (a batch: one per prompt)
    limit = _UNLIMITED if budget is None else budget

    def ask(*query: Any) -> Any:
        nonlocal queries, exceeded, failure
        for part in query:  # a loop, not any(): this runs on every query
            kind = type(part)
            if kind not in _BASE or (kind is np.ndarray and part.dtype.hasobject):
                query = tuple(inert(q) for q in query)
                break
        if cost is None:
            spend = 1
        else:
            refused = None
            try:
                spend = cost(*query)
            except Exception as error:  # a malformed query: refused before it is counted
                failure = error
                refused = _fresh(error)
            if refused is not None:
                raise refused
        if queries + spend > limit:
            exceeded = True
            raise BudgetExceeded(name, budget)  # type: ignore[arg-type]
        queries += spend
        try:
            reply = answer(*query)
        except BudgetExceeded as error:  # the answer's own budget (tokens, say): a loss too
            exceeded = True
            refused = _fresh(error)
        except Exception as error:
            failure = error
            refused = _fresh(error)
        else:
            if log is not None:
                log.append((query[0] if len(query) == 1 else query, reply))
            return reply
        # Raised here, outside the handler, so that the adversary's exception has no
        # __context__ leading to the challenger's frames.
        raise refused

    def read() -> Account:
        return _account((queries, exceeded, failure, tuple(log) if log else ()))

    return ask, read


_UNLIMITED = float("inf")
_account = functools.partial(tuple.__new__, Account)  # Account(...) without its Python frame


class Oracle:
    """A callable the adversary may query, at most ``budget`` times per trial.

    The handle's public attributes are the oracle's name, budget, query count and (when
    asked for) its transcript, so nothing public leads back to the challenger's secrets.
    Going over the budget raises :class:`BudgetExceeded` and is recorded on the challenger's
    side, so the trial is lost even when the adversary catches the exception. An answer
    function may say what a call costs (a ``cost(*query) -> int`` attribute: a batch of k
    prompts is k queries) and may keep budgets of its own (tokens, say) by raising
    :class:`BudgetExceeded`, which loses the trial the same way. An error the
    challenger's function raises reaches the adversary as a fresh copy with no traceback.
    """

    __slots__ = ("_ask", "_read", "_name", "_limit")
    _ask: Callable[..., Any]
    _read: Callable[[], Account]
    _name: str
    _limit: int | None

    def __init__(
        self,
        answer: Callable[..., Any],
        *,
        name: str = "oracle",
        budget: int | None = None,
        transcript: bool = False,
    ) -> None:
        _fill(self, answer, name, budget, transcript)

    def __call__(self, *query: Any) -> Any:
        return self._ask(*query)

    @property
    def name(self) -> str:
        return self._name

    @property
    def budget(self) -> int | None:
        return self._limit

    @property
    def queries(self) -> int:
        """Queries answered so far in this trial."""
        return self._read().queries

    @property
    def remaining(self) -> int | None:
        return None if self._limit is None else self._limit - self._read().queries

    @property
    def exceeded(self) -> bool:
        """Whether the adversary asked for more than the budget."""
        return self._read().exceeded

    @property
    def transcript(self) -> tuple[tuple[Any, Any], ...]:
        """The (query, answer) pairs so far; empty unless recording was asked for."""
        return self._read().transcript

    def __repr__(self) -> str:
        budget = "∞" if self._limit is None else self._limit
        return f"Oracle({self._name!r}, queries={self.queries}/{budget})"


def _fill(
    handle: Oracle, answer: Callable[..., Any], name: str, budget: int | None, transcript: bool
) -> Oracle:
    if not callable(answer):
        raise InvalidArgument(f"answer={answer!r} must be callable")
    if type(budget) is not int or budget < 0:  # the common case, a plain int, skips the check
        budget = check_budget(budget)
    handle._ask, handle._read = _gate(answer, name, budget, transcript)
    handle._name, handle._limit = name, budget
    return handle


def open_oracle(
    answer: Callable[..., Any],
    *,
    name: str = "oracle",
    budget: int | None = None,
    transcript: bool = False,
) -> tuple[Oracle, Callable[[], Account]]:
    """An oracle handle for the adversary and the challenger's own reader of its account."""
    oracle = _fill(Oracle.__new__(Oracle), answer, name, budget, transcript)
    return oracle, oracle._read


def open_oracles(
    answers: Mapping[str, Callable[..., Any]],
    budgets: Mapping[str, int | None],
    public: Mapping[str, Any] | None = None,
    transcript: bool = False,
) -> tuple[Oracles, dict[str, Callable[[], Account]]]:
    """The adversary's view of a challenge — a handle per answer function, with its budget
    (a missing name is unlimited), and the public values — and the challenger's own reader
    of each handle's account. What :func:`open_oracle` and :class:`Oracles` make, built
    once per trial without their checks of what is built here."""
    handles: dict[str, Oracle] = {}
    readers: dict[str, Callable[[], Account]] = {}
    new = Oracle.__new__
    for name, answer in answers.items():
        handles[name] = _fill(new(Oracle), answer, name, budgets.get(name), transcript)
        readers[name] = handles[name]._read
    view = Oracles.__new__(Oracles)
    view._oracles = handles
    view._public = _handed(public) if public else _NO_PUBLIC
    return view, readers


def _handed(public: Mapping[str, Any]) -> Mapping[str, Any]:
    """The public values as the adversary gets them: its own copy of anything that changes
    in place (an array, a tensor, a list, a model), so that changing it changes nothing the
    challenger reads. A robustness game's public clean points and labels were its secret's
    own tensors: relabelling them in place won every trial at any radius."""
    memo: dict[int, Any] = {}  # one copy of what several values share
    handed: dict[str, Any] = {}
    for name, value in public.items():
        if type(value) in _IMMUTABLE:
            handed[name] = value
            continue
        try:
            handed[name] = copy.deepcopy(value, memo)
        except Exception as error:
            raise InvalidArgument(
                f"the public value {name!r} ({type(value).__name__}) cannot be copied for the "
                f"adversary ({type(error).__name__}: {error}); make it plain data, arrays, "
                "tensors or objects that copy.deepcopy copies"
            ) from None
    return MappingProxyType(handed)


_NO_PUBLIC: Mapping[str, Any] = MappingProxyType({})


class Oracles(Mapping[str, Oracle]):
    """What the adversary is handed: oracle handles by name plus the public inputs.

    ``public`` holds what the game reveals openly (parameters, a challenge value, a
    model): a read-only mapping. Oracles are also reachable as attributes
    (``oracles.enc``) for brevity.
    """

    __slots__ = ("_oracles", "_public")

    def __init__(
        self, oracles: Mapping[str, Oracle] | None = None, public: Mapping[str, Any] | None = None
    ) -> None:
        self._oracles = dict(oracles or {})
        for key, oracle in self._oracles.items():
            if type(oracle) is not Oracle and not isinstance(oracle, Oracle):
                raise InvalidArgument(
                    f"oracle {key!r} must be an Oracle, got {type(oracle).__name__}"
                )
        # A read-only view of a private copy: the adversary can neither change nor share it.
        self._public = MappingProxyType(dict(public)) if public else _NO_PUBLIC

    @property
    def public(self) -> Mapping[str, Any]:
        """The challenge's public values: the adversary's own copies (read-only mapping)."""
        return self._public

    def __getitem__(self, name: str) -> Oracle:
        try:
            return self._oracles[name]
        except KeyError:
            known = ", ".join(sorted(self._oracles)) or "none"
            raise KeyError(f"no oracle named {name!r}; this game offers: {known}") from None

    def __getattr__(self, name: str) -> Oracle:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(str(error)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._oracles)

    def __len__(self) -> int:
        return len(self._oracles)

    def __repr__(self) -> str:
        return f"Oracles({', '.join(map(repr, self._oracles.values()))}; public={sorted(self._public)})"
