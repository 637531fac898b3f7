import importlib.util
import os
import pathlib
import sys

import pytest
from hypothesis import settings

sys.path.insert(0, str(pathlib.Path(__file__).parent))

# Tests never assert timings, Hypothesis's per-example deadline included (on a loaded machine
# it failed examples that were merely slow). CI replays the same examples on every run, so
# that a landing never hangs on a new random draw; a developer's runs explore fresh examples.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu = [item for item in items if "gpu" in item.keywords]
    if gpu and not _cuda():
        for item in gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module's tests (``pytestmark = pytest.mark.usefixtures(...)``).

    Their models are tiny: a second OpenMP thread only adds contention, badly so on a shared
    CPU. Without torch there is nothing to set.
    """
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def user_imports(monkeypatch):
    """Undo, after the test, what --import (``proofs.import_user``) does to this process:
    the modules it loaded, ``sys.path``, the modules proof files may name, and the games
    and adversaries they registered. Yields the monkeypatch."""
    from games.registry import ADVERSARIES, GAMES
    from proofs import resolve

    monkeypatch.setattr(resolve, "_USER", {})
    monkeypatch.setattr(sys, "path", list(sys.path))
    saved = {}
    for registry in (GAMES, ADVERSARIES):
        registry.names()  # the installed entry points first: what the test adds is the user's
        saved[registry] = registry._entries
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    before = set(sys.modules)
    yield monkeypatch
    for registry, entries in saved.items():
        # Keep what the project's own decorators recorded meanwhile; drop the user's names.
        entries.update({k: v for k, v in registry._entries.items() if k in entries})
    kept = [pathlib.Path(p).resolve() for p in (sys.prefix, sys.base_prefix)]
    kept.append(pathlib.Path(__file__).resolve().parent.parent)
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None)
        if origin and not any(pathlib.Path(origin).resolve().is_relative_to(k) for k in kept):
            del sys.modules[name]
