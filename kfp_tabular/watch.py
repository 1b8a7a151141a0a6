"""``submit --wait``: follow a run's state until it ends, printing each change with a timestamp.

kfp.Client's own ``wait_for_run_completion`` is not used: it does not treat CANCELED as final
(it would poll until its timeout) and prints nothing while it waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kfp_server_api
import urllib3

from kfp_tabular.errors import EXIT_OK, EXIT_RUN_FAILED, CliError
from kfp_tabular.progress import Progress, duration

# RuntimeState values after which a run never changes again (run.proto).
SUCCESS = {"SUCCEEDED", "SKIPPED"}
FINAL = SUCCESS | {"FAILED", "CANCELED"}
# Consecutive failed polls tolerated: a long wait should survive a proxy restart or a blip.
MAX_POLL_FAILURES = 5


@dataclass
class WaitOptions:
    """How to wait: ``timeout`` None waits forever; a heartbeat line while nothing changes."""

    timeout: float | None = None
    poll_seconds: float = 5.0
    heartbeat_seconds: float = 300.0


def _error_text(run: Any) -> str:
    error = getattr(run, "error", None)
    message = getattr(error, "message", None) if error is not None else None
    return f": {message}" if message else ""


def wait_for_run(
    get_run: Callable[[str], Any],
    run_id: str,
    progress: Progress,
    options: WaitOptions,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll ``get_run(run_id)`` until a final state; the exit code (0 ok, 1 failed/unfinished).

    Transient network and server errors are retried ``MAX_POLL_FAILURES`` times in a row;
    client errors (4xx, e.g. the run was deleted) stop the wait at once.
    """
    started = progress.clock()
    last_state: str | None = None
    last_change = started
    failures = 0
    while True:
        try:
            run = get_run(run_id)
            failures = 0
        except (urllib3.exceptions.HTTPError, kfp_server_api.ApiException) as exc:
            status = getattr(exc, "status", None)
            if (status and 400 <= status < 500) or failures + 1 >= MAX_POLL_FAILURES:
                raise
            failures += 1
            progress.info(f"polling run {run_id} failed ({type(exc).__name__}); retrying")
            sleep(options.poll_seconds)
            continue
        state = str(getattr(run, "state", None) or "RUNTIME_STATE_UNSPECIFIED")
        now = progress.clock()
        if state != last_state:
            progress.info(f"run {run_id} {state} (+{duration(now - started)})")
            last_state, last_change = state, now
        elif now - last_change >= options.heartbeat_seconds:
            progress.info(f"run {run_id} still {state} (+{duration(now - started)})")
            last_change = now
        if state in FINAL:
            if state in SUCCESS:
                return EXIT_OK
            progress.result(f"run {run_id} {state}{_error_text(run)}")
            return EXIT_RUN_FAILED
        if options.timeout is not None and now - started >= options.timeout:
            raise CliError(
                f"timed out after {duration(now - started)} waiting for run {run_id} "
                f"(still {state}); it goes on in the cluster",
                exit_code=EXIT_RUN_FAILED,
            )
        sleep(options.poll_seconds)
