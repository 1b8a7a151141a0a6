"""Exit codes of the ``kfp-tabular`` command and the one exception that carries them.

0: done (for ``run``: the challenger was blessed, and deployed when the pipeline deploys).
1: the pipeline run failed on an internal error, was canceled, or did not finish while
``--wait`` watched it.
2: a usage, configuration or bad-input problem (bad option, missing file, bad parameter,
unreachable host, request refused by the server, data that fails validation): the caller must
fix something first.
3: ``run`` finished and the gate refused the challenger (nothing deployed).
4: ``run`` finished and the gate could not decide (too few test rows, the champion unusable).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNDECIDED = 4


class CliError(Exception):
    """A problem to report in one clear message and exit with ``exit_code`` (no traceback).

    The message should name what was expected, what came in, and the way out.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
