"""The language-model protocol, its records and its errors (no torch, no transformers).

A :class:`LanguageModel` generates replies to a batch of chats; randomness comes from an
explicit numpy generator (torch runtimes seed a ``torch.Generator`` from it). Two optional
capabilities sit beside it, each its own protocol so that a game can ask for exactly what
it needs:

- :class:`Scorer`: next-token log-probabilities and token-level sampling with a logits
  processor (watermarks generate token by token through it);
- :class:`WhiteBox`: the torch module and its tokenizer (gradients and hidden states for
  white-box attacks).

:func:`scorer` and :func:`white_box` return the model as that capability or raise a
one-line :class:`ModelError` that says which models offer it.

Adapters derive from :class:`ChatModel` (and :class:`TokenModel` when they are scorers),
which check the arguments once and hand the runtime validated values.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import numpy as np

from games.errors import TrialFailed
from oracles import InvalidArgument, OracleError, inert

if TYPE_CHECKING:
    import torch

__all__ = [
    "ROLES",
    "Chat",
    "ChatModel",
    "Decoding",
    "EndpointError",
    "Generation",
    "LanguageModel",
    "Message",
    "MissingExtra",
    "ModelError",
    "ModelFailure",
    "NextToken",
    "Processor",
    "QueryRefused",
    "Scorer",
    "TokenModel",
    "WhiteBox",
    "as_chat",
    "as_chats",
    "check_generation",
    "token_ids",
    "scorer",
    "white_box",
]

#: Message roles: ``tool`` carries a tool's result back to the model.
ROLES = ("system", "user", "assistant", "tool")


class ModelError(InvalidArgument):
    """A model cannot be made or used as asked: unknown spec, bad path, missing runtime.

    Raised before any trial, so the command line prints one line and exits 2.
    """


class MissingExtra(ModelError):
    """A runtime the spec needs is not installed; the message names the pip command."""


_EXTRA = "pip install 'advantage[lm]' (in a checkout: pip install -e '.[lm]')"


def missing_extra(spec: str, module: str) -> MissingExtra:
    """The one-line error for a runtime module that is not installed."""
    return MissingExtra(f"model {spec!r} needs {module}, which is not installed: {_EXTRA}")


class ModelFailure(TrialFailed):
    """A model failed mid-run (a Python-function model raised, a runtime answered nonsense).

    A challenger-side failure (a :class:`~games.TrialFailed`): raised while the challenger
    sets up, the trial is left out; raised while answering the adversary's query, it is the
    adversary's loss (its prompt may have set it off).
    """


class EndpointError(ModelFailure):
    """An endpoint failed mid-run after its retries (HTTP 429/5xx, malformed JSON, timeout),
    or the run's request budget is spent."""


class QueryRefused(OracleError):
    """An endpoint refused the request itself (HTTP 400, 413, 422: a prompt over the
    context, a malformed chat): the query's fault, not the challenger's.

    The adversary gets it as the error of its query and may go on; it is never a
    challenger failure, which would leave the trial out of the count: an adversary that
    could provoke one at will (an over-long prompt once it sees it is losing) would drop
    the trials it loses.
    """


def _check_role(instance: Any, attribute: Any, value: str) -> None:
    if value not in ROLES:
        raise InvalidArgument(f"role={value!r} must be one of {', '.join(ROLES)}")


@attrs.frozen
class Message:
    """One chat message: ``role`` (system, user, assistant or tool) and its text, both plain
    ``str`` (a subclass is copied)."""

    # A str subclass's own methods would run on the challenger's side: one equal to every
    # string was taken for the challenger's system prompt (so it was not put first, and an
    # echo of the adversary's words counted as a leak).
    role: str = attrs.field(converter=inert, validator=_check_role)
    content: str = attrs.field(converter=inert, validator=attrs.validators.instance_of(str))

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


Chat = tuple[Message, ...]
ChatLike = str | Message | Sequence[Message | Mapping[str, str]]


def as_chat(value: ChatLike) -> Chat:
    """A chat from a string (one user message), a message, or a sequence of messages/dicts.

    Messages are made afresh: one given may be a subclass, or have had its fields set
    around the checks (``object.__setattr__``).
    """
    if isinstance(value, str):
        return (Message("user", value),)
    if isinstance(value, Message):
        return (Message(value.role, value.content),)
    if isinstance(value, Sequence):
        out = []
        for item in value:
            if isinstance(item, Message):
                out.append(Message(item.role, item.content))
            elif isinstance(item, Mapping) and {"role", "content"} <= set(item):
                out.append(Message(str(item["role"]), str(item["content"])))
            else:
                raise InvalidArgument(
                    f"chat item {item!r} must be a Message or a mapping with role and content"
                )
        if not out:
            raise InvalidArgument("a chat must hold at least one message")
        return tuple(out)
    raise InvalidArgument(f"chat={value!r} must be a string, a Message or a sequence of them")


def as_chats(values: Sequence[ChatLike] | str) -> list[Chat]:
    """A batch of chats; a single string is refused (it would be a batch of characters)."""
    if isinstance(values, (str, Message)):
        raise InvalidArgument("chats must be a sequence of chats; wrap a single chat in a list")
    return [as_chat(v) for v in values]


def token_ids(prompt: object) -> tuple[int, ...] | None:
    """``prompt`` as token ids when it is a non-empty sequence of integers, else None."""
    if isinstance(prompt, np.ndarray):
        return tuple(int(t) for t in prompt.ravel())
    if (
        isinstance(prompt, Sequence)
        and not isinstance(prompt, str)
        and len(prompt) > 0
        and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in prompt)
    ):
        return tuple(int(t) for t in prompt)
    return None


def check_generation(max_new_tokens: object, temperature: object) -> tuple[int, float]:
    """Validated ``(max_new_tokens, temperature)``, shared by every adapter."""
    if (
        isinstance(max_new_tokens, bool)
        or not isinstance(max_new_tokens, (int, np.integer))
        or max_new_tokens < 1
    ):
        raise InvalidArgument(f"max_new_tokens={max_new_tokens!r} must be a positive integer")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.floating))
        or not 0 <= float(temperature) < float("inf")
    ):
        raise InvalidArgument(f"temperature={temperature!r} must be a number in [0, inf)")
    return int(max_new_tokens), float(temperature)


@attrs.frozen(kw_only=True)
class Generation:
    """One reply: its text, token counts, why it stopped, and its token ids when known.

    ``finish`` is ``"stop"`` (the model ended its turn) or ``"length"`` (``max_new_tokens``
    was reached). Token counts come from the runtime's tokenizer; a Python-function model
    counts whitespace-separated words.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish: str = "stop"
    tokens: tuple[int, ...] | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@attrs.frozen(kw_only=True, eq=False)
class NextToken:
    """The next-token distribution after one prompt.

    ``ids`` and ``logprobs`` are parallel arrays: with ``full`` the whole vocabulary in id
    order (``ids == arange(vocab)``), otherwise the ``k`` most likely tokens, most likely
    first (the rest of the mass is ``1 - exp(logprobs).sum()``).
    """

    ids: np.ndarray = attrs.field(repr=lambda a: f"array{a.shape}")
    logprobs: np.ndarray = attrs.field(repr=lambda a: f"array{a.shape}")
    full: bool

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most likely ``(ids, logprobs)``, most likely first."""
        order = np.argsort(-self.logprobs, kind="stable")[:k]
        return self.ids[order], self.logprobs[order]


#: A logits processor: ``(input_ids (batch, length), logits (batch, vocab)) -> logits``,
#: numpy in and out. Watermarks bias the logits through one.
Processor = Callable[[np.ndarray, np.ndarray], np.ndarray]


@runtime_checkable
class LanguageModel(Protocol):
    """Batched chat generation with explicit randomness: the one method every model has.

    ``temperature=0`` is greedy decoding (no randomness used); otherwise each reply is
    sampled from the model's distribution at that temperature, with no top-k/top-p cut.
    """

    def generate(
        self,
        chats: Sequence[ChatLike],
        *,
        max_new_tokens: int,
        temperature: float,
        rng: np.random.Generator,
    ) -> list[Generation]: ...


@runtime_checkable
class Scorer(Protocol):
    """Next-token log-probabilities, and sampling token by token (optional capability)."""

    def encode(self, chat: ChatLike) -> tuple[int, ...]:
        """The chat's token ids as the model sees them, ending with the reply's start."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids (special tokens dropped)."""
        ...

    def logprobs(
        self, prompts: Sequence[ChatLike | Sequence[int]], *, top_k: int | None = None
    ) -> list[NextToken]:
        """The next-token distribution after each prompt (a chat, or token ids).

        ``top_k=None`` asks for the full vocabulary; runtimes that only report the top
        tokens (llama.cpp) refuse it with a :class:`ModelError`.
        """
        ...

    def sample(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_new_tokens: int,
        temperature: float,
        rng: np.random.Generator,
        processor: Processor | None = None,
    ) -> list[tuple[int, ...]]:
        """Continue each token-id prompt; ``processor`` rewrites the logits at every step.

        Returns the new token ids of each prompt, the end-of-turn token included when
        reached.
        """
        ...


@runtime_checkable
class WhiteBox(Protocol):
    """The torch module and tokenizer behind a model (optional capability).

    ``module`` is a ``transformers`` causal LM (``output_hidden_states``, gradients through
    ``inputs_embeds``); ``tokenizer`` its tokenizer, with the chat template set.
    """

    @property
    def module(self) -> torch.nn.Module: ...

    @property
    def tokenizer(self) -> Any: ...


@attrs.frozen
class Decoding:
    """Checked decoding settings, as :class:`ChatModel` hands them to a runtime."""

    max_new_tokens: int
    temperature: float
    rng: np.random.Generator
    processor: Processor | None = None


class ChatModel(abc.ABC):
    """What every adapter shares: :meth:`generate` checks its arguments once, then calls the
    runtime's :meth:`_generate` with message tuples and validated numbers."""

    spec: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    def generate(
        self,
        chats: Sequence[ChatLike],
        *,
        max_new_tokens: int,
        temperature: float,
        rng: np.random.Generator,
    ) -> list[Generation]:
        max_new_tokens, temperature = check_generation(max_new_tokens, temperature)
        return self._generate(as_chats(chats), Decoding(max_new_tokens, temperature, rng))

    @abc.abstractmethod
    def _generate(self, chats: list[Chat], how: Decoding) -> list[Generation]: ...


class TokenModel(ChatModel):
    """A :class:`ChatModel` that is also a :class:`Scorer`: :meth:`logprobs` and
    :meth:`sample` check their arguments and turn prompts into token ids (:meth:`ids`)
    before the runtime's :meth:`_logprobs` and :meth:`_sample`."""

    @abc.abstractmethod
    def encode(self, chat: ChatLike) -> tuple[int, ...]: ...

    @abc.abstractmethod
    def decode(self, ids: Sequence[int]) -> str: ...

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int: ...

    def ids(self, prompt: ChatLike | Sequence[int]) -> tuple[int, ...]:
        """``prompt`` as token ids: given ids (checked against the vocabulary), or the chat's."""
        ids = token_ids(prompt)
        if ids is None:
            return self.encode(prompt)  # type: ignore[arg-type]
        if min(ids) < 0 or max(ids) >= self.vocab_size:
            raise InvalidArgument(f"token ids must be non-empty and in [0, {self.vocab_size})")
        return ids

    def logprobs(
        self, prompts: Sequence[ChatLike | Sequence[int]], *, top_k: int | None = None
    ) -> list[NextToken]:
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise InvalidArgument(f"top_k={top_k!r} must be None or a positive integer")
        return self._logprobs([self.ids(p) for p in prompts], top_k)

    def sample(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_new_tokens: int,
        temperature: float,
        rng: np.random.Generator,
        processor: Processor | None = None,
    ) -> list[tuple[int, ...]]:
        max_new_tokens, temperature = check_generation(max_new_tokens, temperature)
        how = Decoding(max_new_tokens, temperature, rng, processor)
        return self._sample([self.ids(p) for p in prompts], how)

    @abc.abstractmethod
    def _logprobs(self, rows: list[tuple[int, ...]], top_k: int | None) -> list[NextToken]: ...

    @abc.abstractmethod
    def _sample(self, rows: list[tuple[int, ...]], how: Decoding) -> list[tuple[int, ...]]: ...


def scorer(model: object) -> Scorer:
    """``model`` as a :class:`Scorer`, or a one-line error naming the models that are."""
    if isinstance(model, Scorer):
        return model
    raise ModelError(
        f"{_name(model)} gives no next-token log-probabilities; "
        "use tiny, smollm2, smollm2:llamacpp, llamacpp:PATH or hf:PATH"
    )


def white_box(model: object) -> WhiteBox:
    """``model`` as a :class:`WhiteBox`, or a one-line error naming the models that are."""
    if isinstance(model, WhiteBox):
        return model
    raise ModelError(
        f"{_name(model)} has no torch module (white-box attacks need tiny, smollm2 or hf:PATH)"
    )


def _name(model: object) -> str:
    spec = getattr(model, "spec", None)
    return f"model {spec!r}" if isinstance(spec, str) else f"{type(model).__name__}"
