"""Where a proof file may lead: every import path it names is checked and resolved here.

A proof file is data, but some of its keys lead to code: an assumption's ``reduction``
(``package.module:function``) is imported and called by the empirical check, and the
quantities a resource names are looked up in the domain package beside the file. So that
a proof file alone never causes code outside installed packages to run (nor an installed
package's ``__main__``, which parses our own arguments), an import path is allowed only
inside:

- this project's packages: ``proofs``, ``games``, ``adversaries``, ``oracles``;
- packages that register through an ``advantage.*`` entry-point group
  (``advantage.games``, ``advantage.adversaries``, ``advantage.proofs``,
  ``advantage.quantities``): installed, and declared as extensions of this project;
- modules the user names with ``--import`` (or :func:`import_user` from Python), and the
  submodules of a package named that way.

No module path may have a ``__dunder__`` part (``__main__`` runs a program when imported),
and the function a reduction path resolves to must itself be defined in an allowed module
(``os.path.join`` re-exported by an allowed module is still refused).

:func:`import_user` is what ``--import MODULE_OR_FILE.py`` and ``ADVANTAGE_IMPORT`` call:
it imports a module by name or a ``.py`` file by path, before any name is resolved, so
that its games, adversaries and reductions register themselves.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from oracles import InvalidArgument
from proofs.errors import ProofError

__all__ = [
    "GROUP_PREFIX",
    "PROJECT_PACKAGES",
    "allowed",
    "check_path",
    "domain_package",
    "import_module",
    "import_user",
    "reduction",
    "registered_packages",
    "user_modules",
]

#: This project's packages, where proofs may find reductions and quantities.
PROJECT_PACKAGES = ("proofs", "games", "adversaries", "oracles")
#: Entry-point groups whose packages are extensions of this project.
GROUP_PREFIX = "advantage."

# ``package.module:function``
PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
ROOT = Path(__file__).resolve().parent

# Module name -> what the user gave (--import): a module name or a file's path.
_USER: dict[str, str] = {}


@functools.lru_cache(maxsize=1)
def registered_packages() -> frozenset[str]:
    """Top-level packages named by an entry point of an ``advantage.*`` group (read once;
    ``registered_packages.cache_clear()`` reads them again)."""
    found = set()
    points = (point for dist in metadata.distributions() for point in dist.entry_points)
    for point in points:
        if point.group.startswith(GROUP_PREFIX):
            module = point.value.split(":", 1)[0].strip()
            if MODULE.match(module):
                found.add(module.split(".", 1)[0])
    # An entry point naming the standard library (os:system) registers no package.
    return frozenset(found - set(sys.stdlib_module_names) - {"builtins", "__main__"})


def user_modules() -> tuple[str, ...]:
    """The modules brought in by ``--import`` (or :func:`import_user`), in order."""
    return tuple(_USER)


def _where_allowed() -> str:
    registered = ", ".join(sorted(registered_packages() - set(PROJECT_PACKAGES)))
    users = ", ".join(user_modules())
    return (
        f"this project's packages ({', '.join(PROJECT_PACKAGES)}), packages registered "
        f"through an {GROUP_PREFIX}* entry point ({registered or 'none besides this project'}) "
        f"and modules given with --import ({users or 'none given'})"
    )


def allowed(module: str) -> bool:
    """Whether a proof file may lead to ``module`` (see the module docstring)."""
    if not MODULE.match(module):
        return False
    parts = module.split(".")
    if any(part.startswith("__") and part.endswith("__") for part in parts):
        return False
    if parts[0] in PROJECT_PACKAGES or parts[0] in registered_packages():
        return True
    return any(module == name or module.startswith(name + ".") for name in _USER)


def check_path(path: Any, *, file: str, key: str, what: str = "reduction") -> str:
    """Check a ``package.module:function`` path's shape and place, importing nothing.

    Raises:
        ProofError: a malformed path, or one outside the allowed modules; the message
            says where paths may lead.
    """
    if not isinstance(path, str):
        raise ProofError(
            f"must be a string, got {type(path).__name__} {path!r}", file=file, key=key
        )
    if not PATH.match(path):
        raise ProofError(
            f"{what} {path!r} must be an import path 'package.module:function'",
            file=file,
            key=key,
        )
    module, _, name = path.partition(":")
    if name.startswith("__"):
        raise ProofError(f"{what} {path!r}: {name!r} is not a {what} function", file=file, key=key)
    if not allowed(module):
        raise ProofError(
            f"{what} {path!r} is not in a module a proof file may name: {_where_allowed()}",
            file=file,
            key=key,
        )
    return path


def import_module(module: str, *, file: str, key: str, what: str = "reduction") -> ModuleType:
    """Import ``module`` if a proof file may lead to it.

    Raises:
        ProofError: the module is not allowed, cannot be found, or raised on import.
    """
    if not allowed(module):
        raise ProofError(
            f"{what} module {module!r} is not in a module a proof file may name: "
            f"{_where_allowed()}",
            file=file,
            key=key,
        )
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ProofError(f"cannot import {module!r}: {error}", file=file, key=key) from None
    except Exception as error:  # importing the module ran code that failed
        raise ProofError(
            f"importing {module!r} raised {type(error).__name__}: {error}", file=file, key=key
        ) from error


def reduction(path: str, *, file: str, key: str) -> Callable[..., Any]:
    """Import a reduction, ``reduction(adversary, theorem_params) -> B``, and check it.

    Raises:
        ProofError: a path outside the allowed modules, a module that does not import,
            no such callable, or a callable defined outside the allowed modules.
    """
    check_path(path, file=file, key=key)
    module_name, _, function_name = path.partition(":")
    try:
        module = import_module(module_name, file=file, key=key)
    except ProofError as error:
        raise ProofError(f"reduction {path!r}: {error.reason}", file=file, key=key) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ProofError(
            f"reduction {path!r}: module {module_name!r} has no function {function_name!r}",
            file=file,
            key=key,
        )
    defined = getattr(function, "__module__", None) or ""
    if not allowed(defined):
        raise ProofError(
            f"reduction {path!r} resolves to {defined or 'a builtin'}."
            f"{getattr(function, '__qualname__', function_name)}, which is not defined in a "
            f"module a proof file may name: {_where_allowed()}",
            file=file,
            key=key,
        )
    return function  # type: ignore[no-any-return]


def domain_package(path: str | None) -> tuple[str, ...]:
    """The domain package of a shipped proof file (``proofs.privacy`` for
    ``proofs/privacy/dp-sgd.toml``), whose import registers the quantities it names."""
    if path is None:
        return ()
    try:
        relative = Path(path).resolve().parent.relative_to(ROOT)
    except (ValueError, OSError):
        return ()
    parts = [part for part in relative.parts if part.isidentifier()]
    if len(parts) != len(relative.parts) or not parts:
        return ()
    module = ".".join(["proofs", *parts])
    return (module,) if allowed(module) else ()


# -- --import ---------------------------------------------------------------------------


def import_user(spec: str) -> ModuleType:
    """Import the user's module (``mypackage.games``) or file (``my_game.py``).

    Its games and adversaries register themselves by their decorators, and a proof file
    may then name reductions in it. A file is imported as a module named after its stem,
    with its folder appended to ``sys.path`` so that worker processes import it the same
    way. Importing the same module or file again returns it.

    Raises:
        InvalidArgument: no such file or module, a file whose name is not a module name
            or is taken by another module, or an error raised while importing it (its
            type, message and place in the file).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgument(f"--import {spec!r} must be a module name or a path to a .py file")
    spec = spec.strip()
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        module = _import_file(spec)
    else:
        module = _import_name(spec)
    _USER.setdefault(module.__name__, spec)
    return module


def _import_name(spec: str) -> ModuleType:
    if not MODULE.match(spec):
        raise InvalidArgument(
            f"--import {spec!r} must be a module name (my_package.games) or a path to a .py file"
        )
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise InvalidArgument(
            f"--import {spec!r}: no module of that name is installed (a file needs its .py)"
        )
    return _run(spec, lambda: importlib.import_module(spec), found.origin)


def _import_file(spec: str) -> ModuleType:
    path = Path(spec).expanduser()
    if not path.is_file():
        raise InvalidArgument(f"--import {spec!r}: no such file")
    if path.suffix != ".py":
        raise InvalidArgument(f"--import {spec!r}: a file to import must end in .py")
    name = path.stem
    if not name.isidentifier():
        raise InvalidArgument(
            f"--import {spec!r}: {name!r} is not a module name; name the file with letters, "
            "digits and '_' (my_game.py)"
        )
    path = path.resolve()
    known = sys.modules.get(name)
    if known is not None:
        if Path(getattr(known, "__file__", "") or "").resolve() == path:
            return known
        raise InvalidArgument(
            f"--import {spec!r}: a module called {name!r} is already loaded "
            f"({getattr(known, '__file__', None) or 'built in'}); rename the file"
        )
    try:
        other = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        other = None
    if other is not None and other.origin and Path(other.origin).resolve() != path:
        raise InvalidArgument(
            f"--import {spec!r}: a module called {name!r} is already installed "
            f"({other.origin}); rename the file"
        )
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise InvalidArgument(f"--import {spec!r}: cannot be imported as a module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    loader = loader_spec.loader

    def execute() -> ModuleType:
        try:
            loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    return _run(spec, execute, str(path))


def _run(spec: str, load: Callable[[], ModuleType], origin: str | None) -> ModuleType:
    """Run the import; an error in the user's code becomes one line that says where."""
    try:
        return load()
    except (Exception, SystemExit) as error:
        text = error.msg if isinstance(error, SyntaxError) else str(error)
        raise InvalidArgument(
            f"--import {spec!r}: importing it raised {type(error).__name__}: {text}"
            f"{_place(error, origin)}"
        ) from error


def _place(error: BaseException, origin: str | None) -> str:
    """`` (my_game.py, line 12)``: the last line of the user's file the error passed."""
    if isinstance(error, SyntaxError) and error.filename:
        return f" ({Path(error.filename).name}, line {error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if origin and Path(f.filename).resolve() == Path(origin).resolve()]
    chosen = mine or list(frames)
    if not chosen:
        return ""
    return f" ({Path(chosen[-1].filename).name}, line {chosen[-1].lineno})"
