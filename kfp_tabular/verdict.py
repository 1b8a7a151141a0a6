"""What a local run tells a person at the end: why a step failed, and the exit code of the outcome.

A failed kfp.local run raises ``RuntimeError("Inner task failed: 'validate'")``; the reason is the
last exception line of the task's log. :func:`failure` finds it there, so the person reads the
component's own message (``data validation failed with 1 error(s): ...``) and the log path, not
a traceback. :func:`exit_code` maps the gate's verdict to the documented exit codes
(``kfp_tabular.errors``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from components._shared import errors as project_errors
from components._shared import keys
from kfp_tabular.errors import EXIT_OK, EXIT_REFUSED, EXIT_RUN_FAILED, EXIT_UNDECIDED, EXIT_USAGE

_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
# "components._shared.errors.ValidationFailed: data validation failed ..." as Python prints it.
_EXCEPTION: Final = re.compile(
    r"^(?:[A-Za-z_][\w]*\.)*([A-Z]\w*(?:Error|Failed|Mismatch|Exception)): (.*)$"
)
_TASK: Final = re.compile(r"Inner task failed: '?([\w-]+)'?|task '?([\w-]+)'?", re.IGNORECASE)


def _bad_input_names() -> frozenset[str]:
    """Names of the project's bad-input errors (every KfpTabularError subclass)."""
    found, todo = set(), [project_errors.KfpTabularError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(found)


@dataclass(frozen=True)
class Failure:
    """Why a run failed: the step, the error's class and message, and whether it is bad input."""

    step: str
    error: str
    message: str
    bad_input: bool

    @property
    def exit_code(self) -> int:
        """2 for input the user must fix, 1 for anything else (an internal error)."""
        return EXIT_USAGE if self.bad_input else EXIT_RUN_FAILED


def failure(raised: str, log: str) -> Failure:
    """The failed step and the last exception the log shows (its message lines included)."""
    raised = _ANSI.sub("", raised)
    match = _TASK.search(raised)
    step = next((g for g in match.groups() if g), "?") if match else "?"
    lines = [_ANSI.sub("", line) for line in log.splitlines()]
    for i in range(len(lines) - 1, -1, -1):
        found = _EXCEPTION.match(lines[i].strip())
        if found:
            detail = [found.group(2)]
            # ValidationFailed lists every problem on the lines after it ("  - ...").
            detail += [line.strip() for line in lines[i + 1 :] if line.strip().startswith("- ")]
            error = found.group(1)
            return Failure(step, error, "\n  ".join(detail), error in _bad_input_names())
    return Failure(step, "", raised, False)


def exit_code(artifacts: dict[str, Any]) -> int:
    """0 blessed, 3 refused, 4 could not decide (no gate output: 0, nothing was judged)."""
    metadata = artifacts.get("gate", {}).get("blessing", {}).get("metadata", {})
    verdict = metadata.get(keys.META_VERDICT)
    return {keys.VERDICT_REFUSED: EXIT_REFUSED, keys.VERDICT_CANNOT_DECIDE: EXIT_UNDECIDED}.get(
        verdict, EXIT_OK
    )
