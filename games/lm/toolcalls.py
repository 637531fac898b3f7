"""An ``openai:`` endpoint as an agent through the official client's tool-calling.

:class:`ToolCallingAgent` offers the world's tools (:data:`games.lm.world.TOOLS`, every
argument a string) as OpenAI tool schemas (``tools=``) and reads the reply's
``tool_calls`` instead of the corpus's text syntax. The loop (:func:`games.lm.agents.run`)
keeps its one syntax: our chat's calls (``CALL tool(key="value")``) are sent back as
assistant ``tool_calls`` with ids, and tool results as ``tool`` messages naming those
ids; a reply's first tool call comes back in the corpus syntax. A call whose arguments are
not a JSON object of strings becomes a malformed call (the agent's failure in the loop);
an unknown tool stays unknown (the same). Requests go through
:meth:`games.lm.endpoint.OpenAIModel.chat_with_tools` (its retries, budget and errors).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from games.lm import corpus
from games.lm.base import Message
from games.lm.world import TOOLS

__all__ = ["ToolCallingAgent", "messages", "schemas"]

#: What a call that cannot be written in the corpus syntax becomes (parse_call refuses it).
MALFORMED = "CALL malformed("


def schemas(tools: dict[str, tuple[str, ...]] = TOOLS) -> list[dict[str, Any]]:
    """The tools as OpenAI function schemas (string arguments, all required)."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"the {name.replace('_', ' ')} tool",
                "parameters": {
                    "type": "object",
                    "properties": {a: {"type": "string"} for a in args},
                    "required": list(args),
                },
            },
        }
        for name, args in tools.items()
    ]


def messages(chat: Sequence[Message]) -> list[dict[str, Any]]:
    """Our chat as OpenAI messages: calls as ``tool_calls``, results as ``tool`` messages."""
    out: list[dict[str, Any]] = []
    pending: str | None = None  # the id of the last call, which the next result answers
    for i, m in enumerate(chat):
        call = corpus.parse_call(m.content) if m.role == "assistant" else None
        if call is not None:
            pending = f"call_{i}"
            function = {"name": call.name, "arguments": json.dumps(dict(call.args))}
            out.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": pending, "type": "function", "function": function}],
                }
            )
        elif m.role == "tool" and pending is not None:
            out.append({"role": "tool", "tool_call_id": pending, "content": m.content})
            pending = None
        else:
            out.append({"role": "user" if m.role == "tool" else m.role, "content": m.content})
    return out


def _reply(message: Any) -> str:
    calls = getattr(message, "tool_calls", None) or []
    if not calls:
        return str(message.content or "")
    function = calls[0].function
    try:
        args = json.loads(function.arguments or "{}")
    except ValueError:
        return MALFORMED
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        return MALFORMED
    text = {
        k: (v if isinstance(v, str) else json.dumps(v)).replace('"', "'") for k, v in args.items()
    }
    return corpus.format_call(function.name, **text)


@attrs.frozen
class ToolCallingAgent:
    """An :class:`games.lm.endpoint.OpenAIModel` as an agent, through ``tools=``.

    At a temperature above 0 each request carries a seed drawn from the loop's generator.
    """

    model: Any
    temperature: float = 0.0
    max_new_tokens: int = 256
    #: The tool schemas offered (None: the mail world's, :func:`schemas`).
    tools: tuple[dict[str, Any], ...] | None = None

    def _seed(self, rng: np.random.Generator | None) -> int | None:
        if self.temperature <= 0:
            return None
        return int((rng or np.random.default_rng(0)).integers(2**31 - 1))

    def generate(self, chats: Sequence[Sequence[Message]], rng: Any = None) -> list[str]:
        return [
            _reply(
                self.model.chat_with_tools(
                    messages(chat),
                    list(self.tools) if self.tools else schemas(),
                    max_new_tokens=self.max_new_tokens,
                    temperature=self.temperature,
                    seed=self._seed(rng),
                )
            )
            for chat in chats
        ]
