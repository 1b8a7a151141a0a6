"""Read the current data in chunks: a dataset, or the KServe payload logger's output.

Two sources, local or gs:// (``components._shared.io``):

- **dataset**: one CSV or Parquet file, or every such file under a folder. Parquet is read in
  record batches, CSV with ``pandas.read_csv`` in chunks, so only one chunk of rows is in
  memory at a time.
- **logger**: a prefix of payload-logger output, read by :mod:`components._shared.payload_log`
  (CloudEvents in structured or binary-header form, V1 and V2 request bodies; batched CSV /
  Parquet with an optional ``time`` column). Request events carry the rows; response events
  are counted and skipped.

Events outside ``[window_start, window_end)`` are skipped and counted. Nothing is dropped
silently: malformed files and events, cells that could not be read as their schema kind, and
batched files that cannot be windowed are all counted in :class:`ReadReport`. A bad record (a
line that is not JSON, an event or a batched row holding bytes that are not UTF-8) costs that
record, counted (``malformed_events``, ``undecodable_events``, ``undecodable_rows``), not its
file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared.errors import ConfigError, DataReadError, expected_got
from components._shared.payload_log import (
    RESPONSE,
    BadRecord,
    CloudEvent,
    Window,
    is_event_file,
    is_log_file,
    log_files,
    read_event_records,
    request_rows,
    rows_in_window,
    table_chunks,
)
from components._shared.schema import ColumnSchema, Schema
from components._shared.tables import DEFAULT_NULL_TOKENS

DATASET: Final = "dataset"
LOGGER: Final = "logger"
AUTO: Final = "auto"
SOURCE_KINDS: Final = (AUTO, DATASET, LOGGER)
MAX_REPORTED_PROBLEMS: Final = 20


@dataclass
class ReadReport:
    """What reading the current data saw, skipped and coerced (all counted, none silent)."""

    source_kind: str = ""
    files: int = 0
    rows: int = 0
    events: int = 0
    response_events: int = 0
    events_outside_window: int = 0
    rows_outside_window: int = 0
    malformed_events: int = 0
    undecodable_events: int = 0
    undecodable_rows: int = 0
    malformed_files: dict[str, str] = field(default_factory=dict)
    unwindowed_files: list[str] = field(default_factory=list)
    coerced_cells: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def read_current(
    uri: str,
    schema: Schema,
    columns: Sequence[str],
    *,
    source_kind: str = AUTO,
    window: Window | None = None,
    chunk_rows: int,
    report: ReadReport,
) -> Iterator[pd.DataFrame]:
    """Yield typed chunks of the current rows (``columns`` and, if present, the target).

    Args:
        uri: A dataset file or folder, or a logger prefix; local, ``file://`` or ``gs://``.
        schema: The bundle's schema; cells are typed by it and counted when coerced to null.
        columns: Columns to keep (others are dropped as soon as a chunk is read).
        source_kind: ``"dataset"``, ``"logger"`` or ``"auto"`` (logger when any JSON event
            file is under ``uri``).
        window: Time window for logger events (and batched files with a ``time`` column).
        chunk_rows: Rows per yielded chunk, the unit of memory.
        report: Filled in while reading.

    Raises:
        DataReadError: nothing readable under ``uri``.
    """
    if source_kind not in SOURCE_KINDS:
        raise ConfigError(
            expected_got("current_format", f"one of {list(SOURCE_KINDS)}", repr(source_kind))
        )
    if chunk_rows < 1:
        raise ConfigError(expected_got("chunk_rows", "a positive integer", repr(chunk_rows)))
    window = window or Window()
    usable = _usable_files(uri, report)
    if source_kind == AUTO:
        source_kind = LOGGER if any(is_event_file(f) for f in usable) else DATASET
    report.source_kind = source_kind
    keep = list(dict.fromkeys([*columns, schema.target]))
    typer = _Typer(schema, keep, report)
    table_window = window if source_kind == LOGGER else Window()
    pending: list[dict[str, Any]] = []
    for file_uri in usable:
        report.files += 1
        if is_event_file(file_uri):
            chunks = _event_chunks(file_uri, window, pending, chunk_rows, report)
        else:
            chunks = _table_rows(file_uri, keep, chunk_rows, table_window, report)
        for chunk in chunks:
            yield typer(chunk)
    if pending:
        yield typer(pd.DataFrame.from_records(pending))


def _usable_files(uri: str, report: ReadReport) -> list[str]:
    """The event and table files under ``uri``; any other file is listed as malformed."""
    files = log_files(uri)
    if not files:
        raise DataReadError(f"current data {uri!r}: no files found under it")
    usable = [f for f in files if is_log_file(f)]
    for other in sorted(set(files) - set(usable)):
        report.malformed_files[other] = "not a .json/.jsonl/.csv/.parquet file"
    if not usable:
        raise DataReadError(
            f"current data {uri!r}: none of the {len(files)} file(s) is CSV, Parquet or JSON events"
        )
    return usable


# --- tables -----------------------------------------------------------------------------------


def _table_rows(
    uri: str, keep: Sequence[str], chunk_rows: int, window: Window, report: ReadReport
) -> Iterator[pd.DataFrame]:
    """A table's rows in chunks, windowed by their ``time`` unless ``window`` is open."""

    def undecodable(rows: int) -> None:
        report.undecodable_rows += rows
        report.problem(f"{uri}: {rows} row(s) skipped, not UTF-8 text")

    try:
        for frame in table_chunks(uri, keep, chunk_rows, undecodable=undecodable):
            if not window.is_open:
                frame = _windowed(frame, uri, window, report)
            if len(frame):
                report.rows += len(frame)
                yield frame
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        report.malformed_files[uri] = reason
        report.problem(f"{uri}: skipped, cannot read it as a table ({reason})")


def _windowed(frame: pd.DataFrame, uri: str, window: Window, report: ReadReport) -> pd.DataFrame:
    inside = rows_in_window(frame, window)
    if inside is None:
        if uri not in report.unwindowed_files:
            report.unwindowed_files.append(uri)
        return frame
    report.rows_outside_window += int(len(frame) - np.count_nonzero(inside))
    return frame.loc[inside]


# --- CloudEvents ------------------------------------------------------------------------------


def _event_chunks(
    uri: str,
    window: Window,
    pending: list[dict[str, Any]],
    chunk_rows: int,
    report: ReadReport,
) -> Iterator[pd.DataFrame]:
    """Full chunks of request rows; a partial chunk stays in ``pending`` for the next file."""
    for rows in _event_rows(uri, window, report):
        pending.extend(rows)
        while len(pending) >= chunk_rows:
            chunk = pending[:chunk_rows]
            del pending[:chunk_rows]
            yield pd.DataFrame.from_records(chunk)


def _event_rows(uri: str, window: Window, report: ReadReport) -> Iterator[list[dict[str, Any]]]:
    try:
        events = read_event_records(uri)
    except DataReadError as exc:
        report.malformed_files[uri] = str(exc)
        return
    if events is None:
        report.malformed_files[uri] = "not JSON, a JSON array or JSON Lines"
        report.problem(f"{uri}: skipped, not JSON / JSON Lines")
        return
    for position, value in enumerate(events):
        report.events += 1
        rows = _request_rows(value, f"{uri} event {position}", window, report)
        if rows:
            report.rows += len(rows)
            yield rows


def _request_rows(
    value: Any, where: str, window: Window, report: ReadReport
) -> list[dict[str, Any]]:
    """The rows of one request event in the window; [] for anything else (counted)."""
    if isinstance(value, BadRecord):
        report.malformed_events += 1
        if value.reason.startswith("not UTF-8"):
            report.undecodable_events += 1
        report.problem(f"{where}: skipped, {value.reason}")
        return []
    event = CloudEvent.of(value)
    if event is None:
        report.malformed_events += 1
        report.problem(f"{where}: expected a JSON object, got {type(value).__name__}")
        return []
    if event.kind == RESPONSE:
        report.response_events += 1
        return []
    if not window.is_open and not window.holds(event.time):
        report.events_outside_window += 1
        return []
    try:
        data = event.data()
    except (ValueError, TypeError):
        data = None
    rows = request_rows(data)
    if rows is None:
        report.malformed_events += 1
        report.problem(
            f"{where}: expected data {{'instances': [{{column: value}}]}} (V1) or "
            f"{{'inputs': [{{'name', 'data'}}]}} (V2), got {str(data)[:120]!r}"
        )
        return []
    return rows


# --- typing -----------------------------------------------------------------------------------


class _Typer:
    """Cast raw cells to the schema's kinds, counting every non-null cell that becomes null."""

    def __init__(self, schema: Schema, keep: Sequence[str], report: ReadReport) -> None:
        known = {c.name: c for c in schema.columns}
        self.columns = [known[c] for c in keep if c in known]
        self.report = report

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for column in self.columns:
            if column.name not in frame.columns:
                continue
            raw = frame[column.name]
            typed = _cast(raw, column)
            lost = int((raw.notna() & typed.isna()).sum())
            if lost:
                self.report.coerced_cells[column.name] = (
                    self.report.coerced_cells.get(column.name, 0) + lost
                )
            out[column.name] = typed
        return pd.DataFrame(out, index=frame.index)


def _cast(raw: pd.Series, column: ColumnSchema) -> pd.Series:
    if column.kind in ("numeric", "integer"):
        if pd.api.types.is_bool_dtype(raw.dtype):
            raw = raw.astype(float)
        text = (
            raw
            if pd.api.types.is_numeric_dtype(raw.dtype)
            else raw.astype(object).where(raw.notna(), None)
        )
        if not pd.api.types.is_numeric_dtype(text.dtype):
            text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
            text = text.where(~text.isin(DEFAULT_NULL_TOKENS), None)
        return pd.to_numeric(text, errors="coerce").astype(np.float64)
    if column.kind == "boolean":
        true = {str(v).lower() for v in (column.true_values or ["true", "1", "yes"])} | {"true"}
        false = {str(v).lower() for v in (column.false_values or ["false", "0", "no"])} | {"false"}

        def to_bool(value: Any) -> Any:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                return pd.NA
            token = (
                str(int(value) if isinstance(value, float) and value.is_integer() else value)
                .strip()
                .lower()
            )
            return True if token in true else False if token in false else pd.NA

        return raw.astype(object).map(to_bool).astype("boolean")
    if column.kind == "categorical":
        return (
            raw.astype(object)
            .where(raw.notna(), None)
            .map(lambda v: v if v is None or isinstance(v, str) else str(v))
        )
    return raw
