"""Exit codes of the ``kfp-tabular`` command and the one exception that carries them.

0: done. 1: the pipeline run failed, was canceled, or did not finish while ``--wait`` watched it.
2: a usage or configuration problem (bad option, missing file, bad parameter, unreachable host,
request refused by the server): nothing was started, or the caller must fix something first.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A problem to report in one clear message and exit with ``exit_code`` (no traceback).

    The message should name what was expected, what came in, and the way out.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
