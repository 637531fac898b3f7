"""Model oracles: a language model behind an :class:`oracles.Oracle`, counting tokens too.

:class:`ModelOracle` is an :class:`~oracles.Oracle` (query budget, transcript, the
``exceeded`` mark that loses the trial) whose answer is a model's reply, and which also
counts the tokens its queries spend (prompt and reply, as the runtime counts them) against
a token budget:

- a query is a prompt (a string, the user's message) or a chat; a list of them is a batch,
  generated together and counted as one query per prompt;
- a reply is capped at the tokens left, and an answer that would take the total over the
  token budget is withheld: :class:`TokenBudgetExceeded` is raised and the oracle is
  marked ``exceeded``, exactly as a query over the query budget is;
- the transcript records ``(query, reply)`` pairs for ``replay`` (a batch: the list of
  prompts and the list of replies).

The model's sampling randomness is the challenger's: the oracle holds the generator.
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
from oracles import BudgetExceeded, InvalidArgument, Oracle
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


class ModelOracle(Oracle):
    """A model as an oracle (see the module docstring).

    Args:
        model: any :class:`~games.lm.base.LanguageModel` (a defended system is one too).
        rng: the challenger's generator for the model's sampling.
        system: a system prompt put before every prompt that has none.
        max_new_tokens, temperature: how replies are generated.
        budget: queries (prompts) allowed; ``token_budget``: prompt + reply tokens allowed.
    """

    __slots__ = (
        "_model",
        "_rng",
        "_system",
        "_max_new_tokens",
        "_temperature",
        "_token_budget",
        "_tokens",
        "_generations",
    )

    def __init__(
        self,
        model: LanguageModel,
        *,
        rng: np.random.Generator,
        name: str = "model",
        system: str | None = None,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        budget: int | None = None,
        token_budget: int | None = None,
        transcript: bool = False,
    ) -> None:
        if not isinstance(model, LanguageModel):
            raise InvalidArgument(f"model={model!r} must be a LanguageModel (see games.lm.load)")
        if not isinstance(rng, np.random.Generator):
            raise InvalidArgument(f"rng={rng!r} must be a numpy Generator")
        super().__init__(self._reply, name=name, budget=budget, transcript=transcript)
        self._model = model
        self._rng = rng
        self._system = system
        self._max_new_tokens, self._temperature = check_generation(max_new_tokens, temperature)
        self._token_budget = check_budget(token_budget, "token_budget")
        self._tokens = 0
        self._generations: list[Generation] = []

    # Queries are counted per prompt, so a batch of k prompts is k queries.
    def __call__(self, query: ChatLike | Sequence[ChatLike]) -> Any:
        batch, single = _split(query)
        if self._budget is not None and self._queries + len(batch) > self._budget:
            self._exceeded = True
            raise BudgetExceeded(self._name, self._budget)
        self._queries += len(batch) - 1  # Oracle.__call__ counts the last one
        return super().__call__(query)

    def _reply(self, query: ChatLike | Sequence[ChatLike]) -> Any:
        batch, single = _split(query)
        chats = [self._with_system(chat) for chat in batch]
        left = None if self._token_budget is None else self._token_budget - self._tokens
        # After a withheld answer every further query is refused: the trial is lost anyway.
        if left is not None and (left <= 0 or self._exceeded):
            self._exceeded = True
            raise TokenBudgetExceeded(self._name, self._token_budget or 0, self._tokens, 1)
        max_new = self._max_new_tokens if left is None else max(1, min(self._max_new_tokens, left))
        replies = self._model.generate(
            chats, max_new_tokens=max_new, temperature=self._temperature, rng=self._rng
        )
        spent = sum(r.total_tokens for r in replies)
        budget = self._token_budget
        if budget is not None and self._tokens + spent > budget:
            self._exceeded = True
            raise TokenBudgetExceeded(self._name, budget, self._tokens, spent)
        self._tokens += spent
        self._generations.extend(replies)
        texts = [r.text for r in replies]
        return texts[0] if single else texts

    def _with_system(self, chat: Chat) -> Chat:
        if self._system is None or chat[0].role == "system":
            return chat
        return (Message("system", self._system), *chat)

    @property
    def tokens(self) -> int:
        """Tokens spent so far (prompts and replies)."""
        return self._tokens

    @property
    def token_budget(self) -> int | None:
        return self._token_budget

    @property
    def tokens_remaining(self) -> int | None:
        return None if self._token_budget is None else self._token_budget - self._tokens

    @property
    def generations(self) -> tuple[Generation, ...]:
        """Every reply so far, with its token counts (challenger-side bookkeeping)."""
        return tuple(self._generations)

    def __repr__(self) -> str:
        budget = "∞" if self._budget is None else self._budget
        tokens = "∞" if self._token_budget is None else self._token_budget
        return (
            f"ModelOracle({self._name!r}, queries={self._queries}/{budget}, "
            f"tokens={self._tokens}/{tokens})"
        )


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
