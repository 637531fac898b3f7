"""A plain Python function ``prompt -> text`` as a language model (no extra needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from games.lm.base import Chat, ChatModel, Decoding, Generation, ModelFailure
from oracles import InvalidArgument

__all__ = ["FunctionModel"]


class FunctionModel(ChatModel):
    """Wraps ``fn`` as a :class:`~games.lm.base.LanguageModel`.

    By default ``fn`` receives the content of the chat's last user message (``prompt ->
    text``); with ``chat=True`` it receives the whole chat, a tuple of
    :class:`~games.lm.base.Message`. It is called once per chat, ignores ``temperature``
    and ``rng`` (it is its own randomness), and its reply is cut to ``max_new_tokens``
    whitespace-separated words, which is also how its tokens are counted. A function that
    raises or returns something other than a string fails the trial
    (:class:`~games.lm.base.ModelFailure`).
    """

    def __init__(
        self, fn: Callable[[Any], str], *, spec: str | None = None, chat: bool = False
    ) -> None:
        if not callable(fn):
            raise InvalidArgument(f"fn={fn!r} must be callable")
        self.fn = fn
        self.chat = chat
        self.spec = spec or f"py:{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"

    def _generate(self, chats: list[Chat], how: Decoding) -> list[Generation]:
        out = []
        for chat in chats:
            if self.chat:
                argument: Any = chat
            else:
                users = [m.content for m in chat if m.role == "user"]
                argument = users[-1] if users else chat[-1].content
            try:
                text = self.fn(argument)
            except Exception as error:
                raise ModelFailure(f"model {self.spec!r} raised {error!r}") from error
            if not isinstance(text, str):
                raise ModelFailure(
                    f"model {self.spec!r} returned {type(text).__name__}, not a string"
                )
            words = text.split()
            finish = "length" if len(words) > how.max_new_tokens else "stop"
            if finish == "length":
                text = " ".join(words[: how.max_new_tokens])
            prompt = sum(len(m.content.split()) for m in chat)
            out.append(
                Generation(
                    text=text,
                    prompt_tokens=prompt,
                    completion_tokens=min(len(words), how.max_new_tokens),
                    finish=finish,
                )
            )
        return out
