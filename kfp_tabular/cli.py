"""``kfp-tabular <command>``: one entry point for the suite's command-line tasks.

    kfp-tabular compile [--check]      pipelines/compiled/*.yaml from the pipeline functions
    kfp-tabular run [--preset adult]   train_and_rollout with kfp.local on this machine

Each subcommand keeps its own options (``kfp-tabular run --help``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from kfp_tabular import compile as compile_command
from kfp_tabular import local_run

COMMANDS: dict[str, tuple[Callable[[list[str] | None], int], str]] = {
    "compile": (compile_command.main, "compile every pipeline to pipelines/compiled/"),
    "run": (local_run.main, "run train_and_rollout locally with kfp.local"),
}


def usage() -> str:
    """The top-level help text."""
    lines = ["usage: kfp-tabular <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; unknown commands exit 2 with the list of known ones."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(
            f"kfp-tabular: unknown command {command!r}; expected one of {sorted(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    return COMMANDS[command][0](rest)
