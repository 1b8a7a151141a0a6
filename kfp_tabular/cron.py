"""Cron expressions and times for KFP recurring runs.

KFP's scheduler parses cron with robfig/cron v1.2.0 ``cron.Parse``: six fields, **seconds
first** (``second minute hour day-of-month month day-of-week``). A classic five-field crontab
line given as is would be read shifted by one field (``0 2 * * *`` would mean "second 0 of
minute 2 of every hour"), so five fields are converted by prepending ``0`` seconds:
``0 2 * * *`` (02:00 daily) is sent as ``0 0 2 * * *``. Six fields and descriptors (``@daily``,
``@hourly``, ``@every 6h``) are sent unchanged. Times are in the time zone of the KFP
ScheduledWorkflow controller (UTC on a default install).
"""

from __future__ import annotations

import datetime
import re

from kfp_tabular.errors import CliError

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, low, high, names) for the six robfig fields, seconds first.
_FIELDS = [
    ("second", 0, 59, []),
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day-of-month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
]
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_EVERY = re.compile(r"^@every\s+(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def _value(text: str, field: tuple[str, int, int, list[str]]) -> int:
    name, low, high, names = field
    if text.upper() in names:
        # robfig numbers month names from 1 and day names from 0.
        return names.index(text.upper()) + (1 if names is _MONTHS else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
        raise ValueError(f"{name} {text!r} is out of range ({allowed})")
    return int(text)


def _check_field(text: str, field: tuple[str, int, int, list[str]]) -> None:
    """Raise ValueError naming the field unless ``text`` is valid robfig syntax for it."""
    name = field[0]
    for part in text.split(","):
        spec, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"{name} step {step!r} must be a positive integer")
        if spec in ("*", "?"):
            if spec == "?" and name not in ("day-of-month", "day-of-week"):
                raise ValueError("'?' is allowed only in day-of-month and day-of-week")
            continue
        low, _, high = spec.partition("-")
        first = _value(low, field)
        if high and _value(high, field) < first:
            raise ValueError(f"{name} range {spec!r} runs backwards")


def to_kfp_cron(expression: str) -> tuple[str, str]:
    """The six-field cron KFP expects, and a note on what was done (empty when unchanged).

    Raises :class:`CliError` naming the bad field.
    """
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text in _DESCRIPTORS or _EVERY.match(text):
            return text, ""
        raise CliError(
            f"--cron {expression!r}: unknown descriptor; use one of "
            f"{', '.join(sorted(_DESCRIPTORS))} or '@every <duration>' (e.g. @every 6h)"
        )
    fields = text.split(" ")
    if len(fields) == 5:
        converted = ["0", *fields]
        note = (
            f"cron {text!r} has 5 fields (minute first); KFP reads 6 fields with seconds "
            f"first, so it is sent as {' '.join(converted)!r}"
        )
    elif len(fields) == 6:
        converted, note = fields, ""
    else:
        raise CliError(
            f"--cron {expression!r}: expected 5 fields (minute hour day month weekday) or 6 "
            f"(second first, as KFP reads them), got {len(fields)}"
        )
    try:
        for part, field in zip(converted, _FIELDS, strict=True):
            _check_field(part, field)
    except ValueError as exc:
        raise CliError(f"--cron {expression!r}: {exc}") from None
    return " ".join(converted), note


def rfc3339(option: str, text: str | None) -> str | None:
    """An ISO 8601 time as the RFC 3339 UTC string KFP wants; a time without zone is UTC."""
    if text is None:
        return None
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"{option} {text!r}: expected an ISO 8601 time such as 2025-01-31T02:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
