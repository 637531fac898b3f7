"""Finding games and adversaries by name, and turning command-line strings into parameters.

Names are lower-case words joined by hyphens (``ind-cpa``). The project's own entries and
those of third-party packages are declared the same way, as entry points
(``advantage.games``, ``advantage.adversaries``); code defined in a script or notebook
registers itself with the decorator.
"""

from __future__ import annotations

import difflib
import importlib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, TypeVar

import attrs

from oracles import InvalidArgument

__all__ = [
    "ADVERSARIES",
    "GAMES",
    "Entry",
    "Registry",
    "UnknownName",
    "coerce",
    "cost_of",
    "held",
    "name_of",
    "parameters",
    "register",
]

T = TypeVar("T")
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class UnknownName(InvalidArgument):
    """No entry of that name; the message suggests the nearest names."""


@attrs.frozen
class Entry:
    """A registered name and what it stands for, loaded on first use."""

    kind: str
    name: str
    target: str | type
    games: tuple[str, ...] = ()

    def load(self) -> type:
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            return getattr(importlib.import_module(module), attr)
        return self.target

    @property
    def summary(self) -> str:
        """The docstring's first paragraph as one line, or why the entry cannot be loaded here.

        A first sentence often runs over a line break of the source: the first line alone
        would cut it (and `advantage list` would show half a sentence)."""
        try:
            doc = self.load().__doc__ or ""
        except ImportError as error:
            missing = getattr(error, "name", None) or str(error)
            hint = " (pip install -e '.[ml]')" if missing in {"torch", "sklearn"} else ""
            return f"unavailable: needs {missing}{hint}"
        first = re.split(r"\n[ \t]*\n", doc.strip(), maxsplit=1)[0]
        return " ".join(first.split())


class Registry:
    """Names of one kind (game, adversary) mapped to classes."""

    def __init__(self, kind: str, group: str, plural: str) -> None:
        self.kind = kind
        self.group = group
        self.plural = plural
        self._entries: dict[str, Entry] = {}
        self._scanned = False

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for point in metadata.entry_points(group=self.group):
            self._entries.setdefault(point.name, Entry(self.kind, point.name, point.value))

    def add(self, name: str, target: type | str, games: Iterable[str] = ()) -> None:
        if not NAME.match(name):
            raise InvalidArgument(
                f"{self.kind} name {name!r} must be lower-case words joined by hyphens"
            )
        self._scan()
        self._entries[name] = Entry(self.kind, name, target, tuple(games))

    def decorator(self, name: str, **meta: Any) -> Callable[[type[T]], type[T]]:
        def wrap(cls: type[T]) -> type[T]:
            self.add(name, cls, **meta)
            return cls

        return wrap

    def entry(self, name: str) -> Entry:
        self._scan()
        if name in self._entries:
            entry = self._entries[name]
            if isinstance(entry.target, str):
                # Importing the module runs its decorators, which record what the entry
                # point alone cannot (the games an adversary plays).
                entry.load()
                entry = self._entries[name]
            return entry
        close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownName(
            f"unknown {self.kind} {name!r}{hint} (`advantage list {self.plural}` shows them all; "
            f"for one of your own, name its file with --import my_file.py, or declare it in "
            f"the {self.group} entry-point group of its package)"
        )

    def get(self, name: str) -> type:
        return self.entry(name).load()

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        """Every entry, loading each so that decorator metadata is complete."""
        out = []
        for name in self.names():
            try:
                out.append(self.entry(name))
            except ImportError:
                out.append(self._entries[name])
        return out

    def name_of(self, cls: type) -> str | None:
        self._scan()
        for entry in self._entries.values():
            if entry.target is cls or (
                isinstance(entry.target, str)
                and entry.target == f"{cls.__module__}:{cls.__qualname__}"
            ):
                return entry.name
        return None


GAMES = Registry("game", "advantage.games", "games")
ADVERSARIES = Registry("adversary", "advantage.adversaries", "adversaries")


def register(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make a game findable by ``name`` (``advantage run NAME``)."""
    return GAMES.decorator(name)


def name_of(obj: Any, registry: Registry = GAMES) -> str:
    """The registered name of a game or adversary instance (its class name otherwise)."""
    return registry.name_of(type(obj)) or type(obj).__name__


def cost_of(game: Any) -> Any:
    """The game that measures ``game``'s defense on honest input (its ``cost_game``), with
    the parameters of ``game`` that it takes too: the same defense, model and data.

    Its win rate is the defense's cost, 1 − its utility; its adversary is given nothing and
    its answer is not read, so any adversary plays it (``constant``).

    Raises:
        InvalidArgument: ``game`` names no cost game.
    """
    name = getattr(type(game), "cost_game", None)
    if name is None:
        raise InvalidArgument(
            f"game {name_of(game)} has no cost game: only a game of a defense has one "
            "(`advantage list games NAME` names it)"
        )
    cls = GAMES.get(name)
    shared = parameters(cls)
    return cls(**{key: getattr(game, key) for key in parameters(type(game)) if key in shared})


# -- parameters from strings --------------------------------------------------------------


def parameters(cls: type) -> dict[str, attrs.Attribute]:
    """The parameters of an attrs game or adversary class, by name: its fields that the
    constructor takes (a :func:`~games.params.fixed` field is none)."""
    if not attrs.has(cls):
        return {}
    attrs.resolve_types(cls)
    return {field.name: field for field in attrs.fields(cls) if field.init}


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _convert(name: str, kind: Any, text: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if text.lower() == "none" and len(options) < len(typing.get_args(kind)):
            return None
        errors = []
        for option in options:
            try:
                return _convert(name, option, text)
            except InvalidArgument as error:
                errors.append(str(error))
        raise InvalidArgument(errors[0] if errors else f"{name}={text!r} is not accepted")
    if origin is typing.Literal:
        allowed = typing.get_args(kind)
        for value in allowed:
            if str(value) == text:
                return value
        raise InvalidArgument(f"{name}={text!r} must be one of: {', '.join(map(str, allowed))}")
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidArgument(f"{name}={text!r} must be true or false")
    if kind is int:
        try:
            return int(text, 0)
        except ValueError:
            raise InvalidArgument(f"{name}={text!r} must be an integer") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise InvalidArgument(f"{name}={text!r} must be a number") from None
    if kind is str or kind is Any:
        return text
    if origin in (tuple, list):
        inner = typing.get_args(kind)
        item = inner[0] if inner else str
        values = [_convert(name, item, part.strip()) for part in text.split(",") if part.strip()]
        return tuple(values) if origin is tuple else values
    raise InvalidArgument(f"{name} cannot be set from the command line")


def coerce(cls: type, values: Mapping[str, str], *, what: str = "parameter") -> dict[str, Any]:
    """Turn ``key=value`` strings into typed keyword arguments for ``cls``.

    Raises InvalidArgument naming an unknown key (with the known ones) or a value that
    does not parse as the parameter's type.
    """
    fields = parameters(cls)
    out = {}
    for key, text in values.items():
        field = fields.get(key) or fields.get(key.replace("-", "_"))
        if field is None or field.name.startswith("_"):
            known = ", ".join(sorted(f for f in fields if not f.startswith("_"))) or "none"
            fixed = held(cls).get(key.replace("-", "_"))
            if fixed is not None:
                raise InvalidArgument(
                    f"{what} {key!r} plays no part in {cls.__name__} (held at {fixed.default!r}); "
                    f"it accepts: {known}"
                )
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            named = what if what != "parameter" else f"parameter of {cls.__name__}"
            raise InvalidArgument(f"unknown {named}: {key!r}{hint}; it accepts: {known}")
        out[field.name] = _convert(field.name, field.type, text)
    return out


def held(cls: type) -> dict[str, attrs.Attribute]:
    """The inherited parameters that ``cls`` holds fixed (:func:`~games.params.fixed`): no
    parameters of ``cls``, by name."""
    if not attrs.has(cls):
        return {}
    return {f.name: f for f in attrs.fields(cls) if f.metadata.get("fixed")}


def help_of(field: attrs.Attribute) -> str:
    """A field's help text with its default and choices."""
    text = field.metadata.get("help", "")
    choices = field.metadata.get("choices")
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = "(computed)"
    extra = f" [one of: {', '.join(map(str, choices))}]" if choices else ""
    return f"{text}{extra} (default: {default})"
