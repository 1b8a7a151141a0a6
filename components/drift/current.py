"""Read the current data in chunks: a dataset, or the KServe payload logger's output.

Two sources, local or gs:// (``components._shared.io``):

- **dataset**: one CSV or Parquet file, or every such file under a folder. Parquet is read in
  record batches (``pyarrow.parquet.ParquetFile.iter_batches``), CSV with ``pandas.read_csv``
  in chunks, so only one chunk of rows is in memory at a time.
- **logger**: a prefix of payload-logger output. ``.json`` / ``.jsonl`` files hold CloudEvents
  (one object, an array, or one per line) in structured mode, ``{"specversion", "id", "type",
  "source", "time", "data" | "data_base64"}``. Request events
  (``org.kubeflow.serving.inference.request``) carry the rows: V1 ``{"instances": [{column:
  value}, ...]}`` or V2 ``{"inputs": [{"name": column, "data": [...]}, ...]}``; response events
  are counted and skipped. Batched ``.csv`` / ``.parquet`` files hold one row per instance; a
  ``time`` column, when present, is used for the window.

Events outside ``[window_start, window_end)`` are skipped and counted. Nothing is dropped
silently: malformed files and events, cells that could not be read as their schema kind, and
batched files that cannot be windowed are all counted in :class:`ReadReport`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import io
from components._shared.errors import ConfigError, DataReadError, expected_got
from components._shared.schema import ColumnSchema, Schema
from components._shared.tables import DEFAULT_NULL_TOKENS

DATASET: Final = "dataset"
LOGGER: Final = "logger"
AUTO: Final = "auto"
SOURCE_KINDS: Final = (AUTO, DATASET, LOGGER)
REQUEST_EVENT: Final = "org.kubeflow.serving.inference.request"
RESPONSE_EVENT: Final = "org.kubeflow.serving.inference.response"
EVENT_FILES: Final = (".json", ".jsonl", ".ndjson")
TABLE_FILES: Final = (".csv", ".parquet", ".pq")
TIME_COLUMN: Final = "time"
DEFAULT_CHUNK_ROWS: Final = 100_000
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
    malformed_files: dict[str, str] = field(default_factory=dict)
    unwindowed_files: list[str] = field(default_factory=list)
    coerced_cells: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC; a missing bound is open."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """From ISO 8601 text ("" for open); a time without offset is UTC."""
        return cls(_timestamp("window_start", start), _timestamp("window_end", end))

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None

    def contains(self, times: pd.Series) -> np.ndarray:
        """Boolean mask of ``times`` (UTC timestamps; NaT is outside a closed window)."""
        keep = np.ones(len(times), dtype=bool)
        if self.start is not None:
            keep &= (times >= self.start).to_numpy(dtype=bool, na_value=False)
        if self.end is not None:
            keep &= (times < self.end).to_numpy(dtype=bool, na_value=False)
        return keep

    def describe(self) -> str:
        start = self.start.isoformat() if self.start is not None else "-inf"
        end = self.end.isoformat() if self.end is not None else "+inf"
        return f"[{start}, {end})"


def _timestamp(what: str, text: str) -> pd.Timestamp | None:
    if not text or not text.strip():
        return None
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError):
        raise ConfigError(
            expected_got(what, "an ISO 8601 time such as 2026-01-31T00:00:00Z", repr(text))
        ) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def read_current(
    uri: str,
    schema: Schema,
    columns: Sequence[str],
    *,
    source_kind: str = AUTO,
    window: Window | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
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
    files = [f for f in io.list_files(uri) if not Path(f).name.startswith((".", "_"))]
    if not files:
        raise DataReadError(f"current data {uri!r}: no files found under it")
    if source_kind == AUTO:
        source_kind = LOGGER if any(f.endswith(EVENT_FILES) for f in files) else DATASET
    report.source_kind = source_kind
    keep = [c for c in dict.fromkeys([*columns, schema.target])]
    typer = _Typer(schema, keep, report)
    usable = [f for f in files if f.endswith(EVENT_FILES + TABLE_FILES)]
    for other in sorted(set(files) - set(usable)):
        report.malformed_files[other] = "not a .json/.jsonl/.csv/.parquet file"
    if not usable:
        raise DataReadError(
            f"current data {uri!r}: none of the {len(files)} file(s) is CSV, Parquet or JSON events"
        )
    pending: list[dict[str, Any]] = []
    for file_uri in usable:
        report.files += 1
        if file_uri.endswith(EVENT_FILES):
            for rows in _event_rows(file_uri, window, report):
                pending.extend(rows)
                while len(pending) >= chunk_rows:
                    chunk, pending = pending[:chunk_rows], pending[chunk_rows:]
                    yield typer(pd.DataFrame.from_records(chunk))
        else:
            use_window = source_kind == LOGGER and not window.is_open
            for frame in _table_chunks(file_uri, keep, chunk_rows, report):
                if use_window:
                    frame = _window_table(frame, file_uri, window, report)
                if len(frame):
                    report.rows += len(frame)
                    yield typer(frame)
    if pending:
        yield typer(pd.DataFrame.from_records(pending))


# --- tables -----------------------------------------------------------------------------------


def _table_chunks(
    uri: str, keep: Sequence[str], chunk_rows: int, report: ReadReport
) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    wanted = [*keep, TIME_COLUMN]
    with io.local_copy(uri) as local:
        path = Path(local)
        try:
            if uri.endswith((".parquet", ".pq")):
                parquet = pq.ParquetFile(path)
                names = [c for c in parquet.schema_arrow.names if c in wanted]
                for batch in parquet.iter_batches(batch_size=chunk_rows, columns=names):
                    yield batch.to_pandas()
            else:
                header = pd.read_csv(path, nrows=0).columns
                names = [c for c in header if c in wanted]
                reader = pd.read_csv(
                    path, usecols=names, dtype=str, keep_default_na=False,
                    na_values=list(DEFAULT_NULL_TOKENS), chunksize=chunk_rows,
                )  # fmt: skip
                with reader:
                    yield from reader
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            report.malformed_files[uri] = reason
            report.problem(f"{uri}: skipped, cannot read it as a table ({reason})")


def _window_table(
    frame: pd.DataFrame, uri: str, window: Window, report: ReadReport
) -> pd.DataFrame:
    if TIME_COLUMN not in frame.columns:
        if uri not in report.unwindowed_files:
            report.unwindowed_files.append(uri)
        return frame
    times = pd.to_datetime(frame[TIME_COLUMN], utc=True, errors="coerce")
    inside = window.contains(times)
    report.rows_outside_window += int(len(frame) - np.count_nonzero(inside))
    return frame.loc[inside]


# --- CloudEvents ------------------------------------------------------------------------------


def _event_rows(uri: str, window: Window, report: ReadReport) -> Iterator[list[dict[str, Any]]]:
    try:
        text = io.read_text(uri)
    except DataReadError as exc:
        report.malformed_files[uri] = str(exc)
        return
    events = _parse_events(text)
    if events is None:
        report.malformed_files[uri] = "not JSON, a JSON array or JSON Lines"
        report.problem(f"{uri}: skipped, not JSON / JSON Lines")
        return
    for position, event in enumerate(events):
        report.events += 1
        where = f"{uri} event {position}"
        if not isinstance(event, dict):
            report.malformed_events += 1
            report.problem(f"{where}: expected a JSON object, got {type(event).__name__}")
            continue
        kind = str(event.get("type") or event.get("ce-type") or event.get("Ce-Type") or "")
        if kind.endswith(".response"):
            report.response_events += 1
            continue
        if not window.is_open:
            stamp = event.get("time") or event.get("ce-time") or event.get("Ce-Time")
            try:
                when = pd.Series([pd.Timestamp(stamp)]) if stamp else pd.Series([pd.NaT])
                when = pd.to_datetime(when, utc=True)
            except (ValueError, TypeError):
                when = pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")
            if not window.contains(when)[0]:
                report.events_outside_window += 1
                continue
        rows = _payload_rows(event, where, report)
        if rows:
            report.rows += len(rows)
            yield rows


def _parse_events(text: str) -> list[Any] | None:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        events: list[Any] = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                events.append(None)  # counted as a malformed event, the others still count
        return events if lines and any(e is not None for e in events) else None
    return parsed if isinstance(parsed, list) else [parsed]


def _payload_rows(event: dict[str, Any], where: str, report: ReadReport) -> list[dict[str, Any]]:
    data = event.get("data")
    if data is None and "data_base64" in event:
        try:
            data = json.loads(base64.b64decode(event["data_base64"]))
        except (ValueError, TypeError):
            data = None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError:
            data = None
    rows = _rows_of(data)
    if rows is None:
        report.malformed_events += 1
        report.problem(
            f"{where}: expected data {{'instances': [{{column: value}}]}} (V1) or "
            f"{{'inputs': [{{'name', 'data'}}]}} (V2), got {str(data)[:120]!r}"
        )
        return []
    return rows


def _rows_of(data: Any) -> list[dict[str, Any]] | None:
    if not isinstance(data, dict):
        return None
    instances = data.get("instances")
    if isinstance(instances, list) and all(isinstance(r, dict) for r in instances):
        return instances
    inputs = data.get("inputs")
    if isinstance(inputs, list) and inputs and all(isinstance(r, dict) for r in inputs):
        if all("name" in r and "data" in r for r in inputs):  # V2: one tensor per column
            columns = {
                str(r["name"]): np.ravel(np.asarray(r["data"], dtype=object)) for r in inputs
            }
            lengths = {len(v) for v in columns.values()}
            if len(lengths) != 1:
                return None
            return [
                {str(k): v for k, v in r.items()} for r in pd.DataFrame(columns).to_dict("records")
            ]
        return inputs  # V1 "inputs" as records
    return None


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
