"""``serve`` and ``drift``: subcommands whose code lives in other packages, imported when used.

Importing lazily keeps ``kfp-tabular --help``, ``compile`` and ``submit`` independent of the
serving stack (kserve) and the drift stack (evidently), and lets this command ship before or
without them: when a module is missing the subcommand says so and exits 2.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from kfp_tabular.errors import EXIT_USAGE


def _load(module: str, command: str, what: str) -> ModuleType | None:
    """The module, or None after printing why it cannot be used."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Which import failed tells the user whether the feature is absent or a dependency is.
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            reason = f"{module} is not available in this installation ({what})"
        else:
            reason = f"{module} needs {exc.name!r}, which is not installed ({exc})"
        print(f"kfp-tabular {command}: error: {reason}", file=sys.stderr)
        return None


def serve(argv: list[str] | None = None) -> int:
    """``kfp-tabular serve ARGS``: the KServe model server, as ``python -m serving ARGS``.

    ``serving.__main__.main()`` builds kserve's parser and reads ``sys.argv`` itself, so the
    arguments are handed over there, under this command's name for its usage lines.
    """
    module = _load("serving.__main__", "serve", "the KServe runtime, serving/")
    if module is None:
        return EXIT_USAGE
    saved = sys.argv
    sys.argv = ["kfp-tabular serve", *(sys.argv[2:] if argv is None else argv)]
    try:
        result = module.main()
    finally:
        sys.argv = saved
    return int(result or 0)


def drift(argv: list[str] | None = None) -> int:
    """``kfp-tabular drift ARGS``: ``components.drift.cli.main(ARGS)``."""
    module = _load("components.drift.cli", "drift", "the drift check, components/drift/")
    if module is None:
        return EXIT_USAGE
    return int(module.main(argv) or 0)
