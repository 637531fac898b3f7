"""Model oracles: a language model as the answer behind an :class:`oracles.Oracle`, counting
tokens too.

A :class:`ModelOracle` is the challenger's side of a model oracle: a game puts it in its
:class:`~games.Challenge`'s oracles, and the engine hands the adversary a plain
:class:`~oracles.Oracle` handle over it (query budget, transcript, the ``exceeded`` mark that
loses the trial). Outside the engine, :func:`oracles.open_oracle` makes the same handle.

- a query is a prompt (a string, the user's message) or a chat; a list of them is a batch,
  generated together and counted as one query per prompt (:meth:`ModelOracle.cost`);
- it counts the tokens its queries spend (prompt and reply, as the runtime counts them)
  against a token budget: a reply is capped at the tokens left, and an answer that would
  take the total over the budget is withheld: :class:`TokenBudgetExceeded` is raised and
  the handle is marked ``exceeded``, exactly as a query over the query budget is;
- the handle's transcript records ``(query, reply)`` pairs for ``replay`` (a batch: the list
  of prompts and the list of replies).

The model's sampling randomness is the challenger's: the oracle holds the generator, and the
adversary's handle reaches neither it nor the token counts (a game that wants the adversary
to know its token budget says so in its public values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from games.lm.base import (
    Chat,
    ChatLike,
    Generation,
    LanguageModel,
    Message,
    as_chat,
    check_generation,
)
from oracles import BudgetExceeded, InvalidArgument
from oracles.core import check_budget

__all__ = ["ModelOracle", "TokenBudgetExceeded"]


class TokenBudgetExceeded(BudgetExceeded):
    """A query would take an oracle's tokens over its token budget."""

    def __init__(self, name: str, budget: int, spent: int, wanted: int) -> None:
        RuntimeError.__init__(
            self,
            f"oracle {name!r}: {wanted} more tokens would exceed its token budget of {budget} "
            f"({spent} spent)",
        )
        self.name = name
        self.budget = budget
        self.spent, self.wanted = spent, wanted

    def __reduce__(self) -> tuple[Any, ...]:  # copied and pickled by its own arguments
        return type(self), (self.name, self.budget, self.spent, self.wanted)


class ModelOracle:
    """A model as an oracle's answer (see the module docstring).

    Args:
        model: any :class:`~games.lm.base.LanguageModel` (a defended system is one too).
        rng: the challenger's generator for the model's sampling.
        system: the challenger's system prompt, put first in every prompt; an adversary's own
            system message follows it (a deployment puts its prompt first, and no user
            removes it).
        max_new_tokens, temperature: how replies are generated.
        token_budget: prompt + reply tokens allowed (None: no limit).
        name: the name its budget errors give.
    """

    def __init__(
        self,
        model: LanguageModel,
        *,
        rng: np.random.Generator,
        name: str = "model",
        system: str | None = None,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        token_budget: int | None = None,
    ) -> None:
        if not isinstance(model, LanguageModel):
            raise InvalidArgument(f"model={model!r} must be a LanguageModel (see games.lm.load)")
        if not isinstance(rng, np.random.Generator):
            raise InvalidArgument(f"rng={rng!r} must be a numpy Generator")
        self.model = model
        self.name = name
        self.system = system
        self._rng = rng
        self.max_new_tokens, self.temperature = check_generation(max_new_tokens, temperature)
        self.token_budget = check_budget(token_budget, "token_budget")
        self.tokens = 0
        self.withheld = False
        self._generations: list[Generation] = []
        self._read: tuple[Any, tuple[list[Chat], bool]] | None = None  # see cost

    def cost(self, query: ChatLike | Sequence[ChatLike]) -> int:
        """Queries a call spends: one per prompt of a batch.

        The query is read here once and kept for the call that follows (the handle asks
        for the cost, then the answer): a batch that read as one prompt while it was
        counted and as 64 when answered (a list whose ``__iter__`` grew) cost one query.
        """
        self._read = (query, _split(query))
        return len(self._read[1][0])

    def __call__(self, query: ChatLike | Sequence[ChatLike]) -> Any:
        read, self._read = self._read, None
        batch, single = read[1] if read is not None and read[0] is query else _split(query)
        chats = [self._with_system(chat) for chat in batch]
        left = self.tokens_remaining
        # After a withheld answer every further query is refused: the trial is lost anyway.
        if left is not None and (left <= 0 or self.withheld):
            self.withheld = True
            raise TokenBudgetExceeded(self.name, self.token_budget or 0, self.tokens, 1)
        max_new = self.max_new_tokens if left is None else max(1, min(self.max_new_tokens, left))
        replies = self.model.generate(
            chats, max_new_tokens=max_new, temperature=self.temperature, rng=self._rng
        )
        spent = sum(r.total_tokens for r in replies)
        if left is not None and spent > left:
            self.withheld = True
            raise TokenBudgetExceeded(self.name, self.token_budget or 0, self.tokens, spent)
        self.tokens += spent
        self._generations.extend(replies)
        texts = [r.text for r in replies]
        return texts[0] if single else texts

    def _with_system(self, chat: Chat) -> Chat:
        # A chat that opened with a system message of its own took the challenger's place:
        # the defense (the prompt's rules) was gone, and a forbidden recipe came out.
        if self.system is None or (chat[0].role == "system" and chat[0].content == self.system):
            return chat
        return (Message("system", self.system), *chat)

    @property
    def tokens_remaining(self) -> int | None:
        return None if self.token_budget is None else self.token_budget - self.tokens

    @property
    def generations(self) -> tuple[Generation, ...]:
        """Every reply so far, with its token counts."""
        return tuple(self._generations)

    def __repr__(self) -> str:
        tokens = "∞" if self.token_budget is None else self.token_budget
        return f"ModelOracle({self.name!r}, tokens={self.tokens}/{tokens})"


def _split(query: Any) -> tuple[list[Chat], bool]:
    """A query as a batch of chats, and whether it was a single prompt."""
    if isinstance(query, (str, Message)):
        return [as_chat(query)], True
    if (
        isinstance(query, Sequence)
        and query
        and all(isinstance(q, Message) or (isinstance(q, dict) and "role" in q) for q in query)
    ):
        return [as_chat(query)], True
    if isinstance(query, Sequence) and query:
        return [as_chat(q) for q in query], False
    raise InvalidArgument(f"query={query!r} must be a prompt, a chat, or a non-empty list of them")
