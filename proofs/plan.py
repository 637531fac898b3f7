"""What an empirical check plays: every game, every adversary, built before anything is played.

:func:`plan_check` reads a proof and an adversary A and returns a :class:`CheckPlan`:

- the theorem's game G as played (the file's parameters with the caller's overrides), its
  parameters as played and the resources' values there;
- for each assumption, an :class:`AssumptionPlay`: the assumption's game H with what B
  spends, and B = R(A), built by the reduction the file names;
- for each hop, a :class:`HopPlay`: its two ends, each a game A plays (see :func:`endpoint`)
  or an advantage the proof states exactly (see :func:`stated_advantage`), or the reason
  it cannot be measured; and the games the measured hops need beyond G.

Everything that can be wrong with the file or the overrides (an unknown game, a parameter
out of range, a reduction that cannot be imported or raises) is found here, before the
first trial.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from oracles import InvalidArgument
from proofs.errors import ProofError
from proofs.model import Assumption, Hop, Proof
from proofs.reports import GameKey, game_key

__all__ = [
    "AssumptionPlay",
    "HopPlay",
    "CheckPlan",
    "Stated",
    "endpoint",
    "plan_check",
    "stated_advantage",
]

_ENDPOINT = re.compile(
    r"^(?:[^:]*:)?\s*(?P<game>[a-z0-9]+(?:-[a-z0-9]+)*)(?P<rest>(?:\s+[A-Za-z_]\w*=\S+)*)\s*$"
)
_STATED = re.compile(r"^(?:[^:]*:)?\s*advantage\s+(?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+))(?:,.*)?$")


def _frozen(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping or {}))


# -- hop ends -------------------------------------------------------------------------------


def endpoint(text: str) -> tuple[str, dict[str, str]] | None:
    """The game a hop's ``from`` or ``to`` names, if it is playable, else None.

    A playable end reads ``[LABEL:] GAME [key=value ...]`` with GAME a registered game,
    e.g. ``"G1: prp prf=blake2"``. Parameters the text does not set are carried over from
    the theorem's game as played, where GAME has a parameter of that name.
    """
    from games.registry import GAMES

    match = _ENDPOINT.match(text)
    if match is None or match.group("game") not in GAMES.names():
        return None
    params = dict(token.split("=", 1) for token in match.group("rest").split())
    return match.group("game"), params


def stated_advantage(text: str) -> float | None:
    """The advantage a hop's ``from`` or ``to`` states, if it states one, else None.

    An end reading ``[LABEL:] advantage NUMBER[, words]`` (``"G2: advantage 0, the classes
    coincide"``) is a world in which the proof shows every adversary's advantage to be
    exactly NUMBER (a hidden bit independent of the view, say). The checker takes the value
    as exact, so a hop from a playable game to it is measured from that game alone.
    """
    match = _STATED.match(text.strip())
    if match is None:
        return None
    value = float(match.group("value"))
    return value if math.isfinite(value) and -1 <= value <= 1 else None


@attrs.frozen
class Stated:
    """A hop end whose advantage the proof states exactly."""

    value: float


End = GameKey | Stated


# -- the records ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AssumptionPlay:
    """One assumption as played: its game H and B = R(A).

    Attributes:
        assumption: the assumption, with the overrides it shares with the theorem.
        game: H, with its parameters and what B spends at the resources.
        adversary: B, the adversary the reduction built from A.
    """

    assumption: Assumption
    game: Any = attrs.field(eq=False)
    adversary: Any = attrs.field(eq=False)


@attrs.frozen(kw_only=True)
class HopPlay:
    """One hop as played: its two ends (a game A plays, or a stated advantage), or why not.

    Attributes:
        hop: the hop as written.
        source, target: the ends' :func:`~proofs.reports.game_key` (a key of
            :attr:`CheckPlan.games`) or :class:`Stated`; None when the hop is not measured.
        reason: why it is not measured.
    """

    hop: Hop
    source: End | None = None
    target: End | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class CheckPlan:
    """Everything an empirical check plays, and what it knows before playing.

    Attributes:
        proof: the proof.
        adversary: A.
        game: G, the theorem's game as played.
        params: G's parameters as played (its defaults included); ``overrides`` the caller's.
        resources: the resources' values in that play.
        assumptions: one play per assumption, in file order.
        hops: one per hop, in order.
        games: the games A plays for the measured hops, G first, by key.
    """

    proof: Proof
    adversary: Any = attrs.field(eq=False)
    game: Any = attrs.field(eq=False)
    params: Mapping[str, Any] = attrs.field(converter=_frozen)
    overrides: Mapping[str, Any] = attrs.field(converter=_frozen)
    resources: Mapping[str, Any] = attrs.field(converter=_frozen)
    assumptions: tuple[AssumptionPlay, ...] = ()
    hops: tuple[HopPlay, ...] = ()
    games: Mapping[GameKey, Any] = attrs.field(factory=dict, converter=_frozen, eq=False)

    @property
    def theorem_key(self) -> GameKey:
        return game_key(self.proof.theorem.game, self.params)

    @property
    def hop_games(self) -> tuple[GameKey, ...]:
        """The keys of the games played for the hops beyond G, in the order first named."""
        return tuple(key for key in self.games if key != self.theorem_key)

    @property
    def estimates(self) -> int:
        """How many estimates the check makes: G, each H, each hop game (the Bonferroni count)."""
        return 1 + len(self.assumptions) + len(self.hop_games)


# -- building the plan ----------------------------------------------------------------------


def plan_check(proof: Proof, adversary: Any, params: Mapping[str, Any]) -> CheckPlan:
    """Build every game and every adversary an empirical check of ``proof`` against A plays.

    Args:
        proof: a loaded proof.
        adversary: A (an instance; see :func:`proofs.check_empirical` for names).
        params: overrides of the theorem game's parameters (strings are parsed as the
            parameter's type).

    Raises:
        ProofError: an unknown game in the file, parameters its games refuse, a reduction
            that cannot be imported or that raises.
        InvalidArgument: bad overrides (an unknown parameter, a value out of range, a
            resource outside the proof's domain).
    """
    game, overrides = _theorem_game(proof, params)
    effective = game.describe()
    resources = proof.resource_values(params=effective)
    assumptions = tuple(
        _assumption_play(proof, assumption, overrides, resources, adversary, effective)
        for assumption in proof.assumptions
    )
    theorem_key = game_key(proof.theorem.game, effective)
    found: dict[GameKey, Any] = {theorem_key: game}
    hops = tuple(_hop_play(proof, hop, effective, found) for hop in proof.hops)
    # A game named by a hop that cannot be measured (its other end is words) is not played.
    needed = {theorem_key, *(end for hop in hops for end in (hop.source, hop.target))}
    games = {key: found[key] for key in found if key in needed}
    return CheckPlan(
        proof=proof,
        adversary=adversary,
        game=game,
        params=effective,
        overrides=overrides,
        resources=resources,
        assumptions=assumptions,
        hops=hops,
        games=games,
    )


def _theorem_game(proof: Proof, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """G with the caller's overrides, and the overrides as typed values."""
    name = proof.theorem.game
    cls = _game_class(name, file=proof.file, key="theorem.game")
    overrides = _typed(cls, params, f"parameter of game {name}")
    try:
        return cls(**{**proof.theorem.params, **overrides}), overrides
    except (InvalidArgument, TypeError) as error:
        if overrides:  # the caller's values may be at fault: not the file's
            raise InvalidArgument(
                f"game {name} with the proof's parameters and the overrides "
                f"{', '.join(f'{k}={v!r}' for k, v in overrides.items())}: {error}"
            ) from None
        raise ProofError(f"{name}: {error}", file=proof.file, key="theorem.params") from None


def _assumption_play(
    proof: Proof,
    assumption: Assumption,
    overrides: Mapping[str, Any],
    resources: Mapping[str, Any],
    adversary: Any,
    effective: Mapping[str, Any],
) -> AssumptionPlay:
    """H with what B spends at ``resources``, and B = R(A) given G's parameters as played."""
    assumption = _shared_overrides(assumption, proof.theorem.params, overrides)
    cls = _game_class(assumption.game, file=proof.file, key=f"{assumption.key}.game")
    game = _make(
        cls, assumption.game_params(resources), file=proof.file, key=f"{assumption.key}.params"
    )
    reduction = assumption.resolve_reduction()
    try:
        b = reduction(adversary, MappingProxyType(dict(effective)))
    except Exception as error:
        raise ProofError(
            f"reduction {assumption.reduction!r} raised {type(error).__name__}: {error}",
            file=proof.file,
            key=f"{assumption.key}.reduction",
        ) from error
    return AssumptionPlay(assumption=assumption, game=game, adversary=b)


def _shared_overrides(
    assumption: Assumption, theorem_params: Mapping[str, Any], overrides: Mapping[str, Any]
) -> Assumption:
    """The assumption with the overrides it shares with the theorem.

    A parameter the file sets to the same value in the theorem and in the assumption is one
    instantiation (the PRF under CTR and the PRF assumed secure): overriding it for the
    theorem's game overrides it for the assumption's game too.
    """
    params = dict(assumption.params)
    for key, value in overrides.items():
        if key in params and key in theorem_params and params[key] == theorem_params[key]:
            params[key] = value
    return attrs.evolve(assumption, params=params)


def _hop_play(
    proof: Proof, hop: Hop, effective: Mapping[str, Any], found: dict[GameKey, Any]
) -> HopPlay:
    """The hop's two ends, registering in ``found`` each game they name (first one kept)."""
    ends: list[End] = []
    for side, text in (("from", hop.source), ("to", hop.target)):
        stated = stated_advantage(text)
        if stated is not None:
            ends.append(Stated(stated))
            continue
        parsed = endpoint(text)
        if parsed is None:
            return HopPlay(hop=hop, reason=_unplayable(hop, text))
        ends.append(_end_game(proof, f"{hop.key}.{side}", *parsed, effective, found))
    return HopPlay(hop=hop, source=ends[0], target=ends[1])


def _unplayable(hop: Hop, text: str) -> str:
    """Why a hop whose end ``text`` is prose is not measured, and what carries it instead."""
    if hop.assumption is not None:
        # The usual case for a behavioural reduction: the hop's ends are games in words, and
        # the assumption's own game (its row of the check) measures what the hop costs.
        return f"carried by the assumption {hop.assumption}, measured in its own row"
    return (
        f"{text!r} names no registered game (GAME key=value ...) "
        "nor states an advantage (advantage NUMBER)"
    )


def _end_game(
    proof: Proof,
    key: str,
    name: str,
    strings: Mapping[str, str],
    effective: Mapping[str, Any],
    found: dict[GameKey, Any],
) -> GameKey:
    """A hop end's game: its own parameters, the rest carried over from G as played."""
    from games.registry import parameters

    cls = _game_class(name, file=proof.file, key=key)
    fields = parameters(cls)
    carried = {k: v for k, v in effective.items() if k in fields}
    try:
        own = _typed(cls, strings, f"parameter of game {name}")
    except InvalidArgument as error:
        raise ProofError(str(error), file=proof.file, key=key) from None
    game = _make(cls, {**carried, **own}, file=proof.file, key=key)
    end = game_key(name, game.describe())
    found.setdefault(end, game)
    return end


# -- games by name ----------------------------------------------------------------------------


def _typed(cls: type, values: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Values for ``cls``: strings parsed as the parameter's type, other values as they are."""
    from games.registry import coerce, parameters

    strings = {k: v for k, v in values.items() if isinstance(v, str)}
    out = {k: v for k, v in values.items() if not isinstance(v, str)}
    known = parameters(cls)
    unknown = [k for k in out if k not in known]
    if unknown:
        coerce(cls, {unknown[0]: ""}, what=what)  # raises, naming the known parameters
    out.update(coerce(cls, strings, what=what))
    return out


def _game_class(name: str, *, file: str, key: str) -> type:
    from games.registry import GAMES

    try:
        return GAMES.get(name)
    except InvalidArgument as error:
        raise ProofError(str(error), file=file, key=key) from None


def _make(cls: type, params: Mapping[str, Any], *, file: str, key: str) -> Any:
    from games.registry import GAMES

    try:
        return cls(**params)
    except (InvalidArgument, TypeError) as error:
        name = GAMES.name_of(cls) or cls.__name__
        raise ProofError(f"{name}: {error}", file=file, key=key) from None
