"""Command lines that reproduce a recorded result: `advantage run`, `certify` and `check`.

A `--json` output names the exact command that made it (``command``, added by
:func:`advantage.common.print_json`). Records that carry no command (a tour's rows, a run
log, a result made through the Python API) get one derived here from what they record:
the game and adversary by their registered names, every parameter that differs from its
default as ``-p``/``-a``, the trials, seed, level and method. A game or adversary that is
not registered by name has no command line (:func:`run_line` and the others return None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from advantage.common import command_line

__all__ = ["certify_line", "check_line", "label", "param_args", "run_line"]

DEFAULT_LEVEL = 0.95
DEFAULT_METHOD = "clopper-pearson"


def _text(value: Any) -> str:
    """A parameter value as `-p key=VALUE` spells it (what the registry's parser reads back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _registered(name: Any, kind: str) -> type | None:
    from games import ADVERSARIES, GAMES

    registry = GAMES if kind == "game" else ADVERSARIES
    if not isinstance(name, str) or name not in registry.names():
        return None
    return registry.get(name)


def _defaults(cls: type | None) -> dict[str, Any]:
    if cls is None or not attrs.has(cls):
        return {}
    out = {}
    for field in attrs.fields(cls):
        if field.default is not attrs.NOTHING and not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            out[field.name] = field.default
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def param_args(flag: str, params: Mapping[str, Any], cls: type | None) -> list[str]:
    """``[flag, "k=v", ...]`` for every parameter that differs from its default on ``cls``."""
    defaults = _defaults(cls)
    out: list[str] = []
    for key, value in params.items():
        if key in defaults and _same(value, defaults[key]):
            continue
        out += [flag, f"{key}={_text(value)}"]
    return out


def label(name: str, params: Mapping[str, Any] | None, kind: str) -> str:
    """A game or adversary by its name and the parameters that differ from their defaults
    (``otp key_reuse=true``), as `-p` spells them."""
    cls = _registered(name, kind)
    args = param_args("-p", params or {}, cls)
    return " ".join([name, *args[1::2]])


# A real-vs-ideal estimate records the two-sample interval its --method became.
_ASKED = {"newcombe": "wilson"}


def _level_method(level: Any, method: Any) -> list[str]:
    out = []
    if isinstance(level, int | float) and level != DEFAULT_LEVEL:
        out += ["--level", repr(float(level))]
    if isinstance(method, str):
        method = _ASKED.get(method, method.removeprefix("bonferroni-"))
        if method != DEFAULT_METHOD:
            out += ["--method", method]
    return out


def _subject(record: Mapping[str, Any]) -> tuple[type, type] | None:
    game = _registered(record.get("game"), "game")
    adversary = _registered(record.get("adversary"), "adversary")
    return None if game is None or adversary is None else (game, adversary)


def _named(record: Mapping[str, Any], game: type, adversary: type) -> list[str]:
    """``GAME -p ... --adversary NAME -a ...``, each parameter that differs from its default."""
    return [
        record["game"],
        *param_args("-p", record.get("params", {}), game),
        "--adversary",
        record["adversary"],
        *param_args("-a", record.get("adversary_params", {}), adversary),
    ]


def run_line(
    record: Mapping[str, Any],
    *,
    log: str | None = None,
    resume: bool = False,
    batched: bool | None = None,
) -> str | None:
    """`advantage run` reproducing an estimate record (an `Estimate.to_json()`, a tour row).

    ``log``: also write the run log there (for a record read from one, with its chunk size,
    on which the batched path's randomness depends); ``resume``: continue the run it records.
    ``batched``: False adds --no-batched (a log of the per-trial path, which a resumed run
    must take too).
    """
    classes = _subject(record)
    if classes is None:
        return None
    argv = [
        "run",
        *_named(record, *classes),
        "--trials",
        str(record["trials"]),
        "--seed",
        str(record["seed"]),
        *_level_method(record.get("level"), record.get("method")),
    ]
    if record.get("chunk_size"):
        argv += ["--chunk-size", str(record["chunk_size"])]
    if batched is False:
        argv.append("--no-batched")
    if record.get("utility"):  # the run measured its defense's cost too
        argv.append("--utility")
    if log is not None:
        argv += ["--log", log, *(["--resume"] if resume else [])]
    return command_line(argv)


def certify_line(record: Mapping[str, Any], *, extra: Sequence[str] = ()) -> str | None:
    """`advantage certify` reproducing a certificate record (`Certificate.to_json()`)."""
    classes = _subject(record)
    if classes is None:
        return None
    argv = [
        "certify",
        *_named(record, *classes),
        "--eps",
        repr(float(record["eps"])),
        "--alpha",
        repr(float(record["alpha"])),
        "--max-trials",
        str(record["max_trials"]),
        "--seed",
        str(record["seed"]),
        *extra,
    ]
    return command_line(argv)


def check_line(record: Mapping[str, Any]) -> str | None:
    """`advantage check` reproducing an empirical check record (`EmpiricalReport.to_json()`).

    The proof is named as recorded: the path of a user's file (``proof_path``), else its
    name (a shipped proof's, or the path it was loaded from).
    """
    adversary = _registered(record.get("adversary"), "adversary")
    proof = record.get("proof_path") or record.get("proof")
    if adversary is None or not proof:
        return None
    params = record.get("overrides", record.get("params", {}))
    argv = [
        "check",
        str(proof),
        "--adversary",
        record["adversary"],
        *[a for k, v in params.items() for a in ("-p", f"{k}={_text(v)}")],
        *param_args("-a", record.get("adversary_params", {}), adversary),
        "--trials",
        str(record["trials"]),
        "--seed",
        str(record["seed"]),
        *_level_method(record.get("level"), record.get("method")),
    ]
    return command_line(argv)
