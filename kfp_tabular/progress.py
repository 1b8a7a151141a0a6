"""What the remote subcommands print: timestamped progress on stderr, results on stdout.

Progress lines (``2025-06-01T12:00:03Z  compiling train_and_rollout ...``) go to stderr so that
stdout carries only the results a script may want (run id, links). Every line is masked by the
command's :class:`~kfp_tabular.redact.Redactor` on its way out.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from kfp_tabular.redact import Redactor


def utc_now() -> str:
    """The current time as an RFC 3339 UTC timestamp to the second (what KFP itself shows)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h01m``: short enough for a status line."""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Progress:
    """The one output channel of a remote subcommand.

    ``now`` and ``clock`` are injectable so tests can make timestamps and durations fixed.
    """

    def __init__(
        self,
        redactor: Redactor,
        out: TextIO | None = None,
        err: TextIO | None = None,
        now: Callable[[], str] = utc_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redactor = redactor
        # Looked up at call time, not import time, so pytest's capsys (which swaps sys.stdout)
        # and redirect_stdout see the output.
        self._out = out
        self._err = err
        self.now = now
        self.clock = clock

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def info(self, message: str) -> None:
        """A timestamped progress line on stderr."""
        print(self.redactor.mask(f"{self.now()}  {message}"), file=self.err, flush=True)

    def result(self, message: str) -> None:
        """A result line on stdout (no timestamp, so scripts can parse it)."""
        print(self.redactor.mask(message), file=self.out, flush=True)

    def error(self, prog: str, message: str) -> None:
        """``<prog>: error: <message>`` on stderr, like argparse's own errors."""
        print(self.redactor.mask(f"{prog}: error: {message}"), file=self.err, flush=True)

    @contextlib.contextmanager
    def step(self, message: str) -> Iterator[None]:
        """Announce a step that may take a while, then report how long it took."""
        self.info(f"{message} ...")
        started = self.clock()
        yield
        self.info(f"{message}: done in {duration(self.clock() - started)}")

    @contextlib.contextmanager
    def relaying_stdout(self) -> Iterator[None]:
        """Capture what a library prints on stdout and relay it as (masked) progress lines.

        kfp.Client prints "Experiment details: <link>" and "Run details: <link>" with
        ``print``; those links are worth keeping, but on stderr and through the redactor.
        """
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                yield
        finally:
            for line in captured.getvalue().splitlines():
                if line.strip():
                    self.info(line.strip())
