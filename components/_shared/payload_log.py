"""KServe payload-logger output, read in one place for every step that watches logged traffic.

KServe's logger (``spec.predictor.logger``; pkg/logger/worker.go) sends one CloudEvent per
request, of type ``org.kubeflow.serving.inference.request``, and in mode ``all`` one per
response, ``org.kubeflow.serving.inference.response``, with the **same** event ``id`` (the
request id: ``X-Request-Id`` when the caller set one) and the extensions
``inferenceservicename``, ``namespace``, ``component`` and ``endpoint``. A sink stores an event
either way, and both are read here:

- structured mode: ``{"specversion", "id", "type", "source", "time", "data" | "data_base64",
  "inferenceservicename", ...}``;
- binary mode, the HTTP headers kept beside the body: ``ce-id`` / ``Ce-Id``, ``ce-type`` /
  ``Ce-Type``, ``ce-time`` / ``Ce-Time``, ``Ce-Inferenceservicename``, ... in any letter case
  (and ``ce_type`` as the Kafka binding spells them).

Files, local or gs:// (a file or a prefix; names starting with ``.`` or ``_`` are skipped):
``.json`` / ``.jsonl`` / ``.ndjson`` hold events (one object, an array of them, or one per
line); ``.csv`` / ``.parquet`` hold batched rows, one per instance, where a ``time`` column
places a row in time and an ``id`` (or ``request_id``) column names its request.

A bad record costs that record, not its file: a JSON Lines line that is not JSON, or an event
holding bytes that are not UTF-8, is a :class:`BadRecord` (its reason kept, so readers count and
report it) while the file's other events are read; a batched CSV's rows holding such bytes are
dropped and counted the same way. A file that is not JSON at all (or a JSON array with a syntax
error, which cannot be split into records) is still unreadable as a whole.

Bodies: a request is V1 ``{"instances": [{column: value}, ...]}`` (or ``"inputs"`` as records)
or V2 ``{"inputs": [{"name", "shape", "datatype", "data"}, ...]}``, one tensor per column; a
response of this project's runtime is V1 ``{"predictions": [{"probability", "label"}, ...]}``
(or bare probabilities) or V2 ``{"outputs": [{"name": "probability", ...}, {"name": "label",
...}]}``. A request and its response are paired by their event id (:func:`pair_by_id`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from components._shared import io
from components._shared.csv_format import first_failure
from components._shared.errors import ConfigError, expected_got
from components._shared.tables import DEFAULT_NULL_TOKENS

REQUEST_EVENT: Final = "org.kubeflow.serving.inference.request"
RESPONSE_EVENT: Final = "org.kubeflow.serving.inference.response"
REQUEST: Final = "request"
RESPONSE: Final = "response"
EVENT_FILES: Final = (".json", ".jsonl", ".ndjson")
PARQUET_FILES: Final = (".parquet", ".pq")
TABLE_FILES: Final = (".csv", *PARQUET_FILES)
TIME_COLUMN: Final = "time"
ID_COLUMNS: Final = ("id", "request_id")
SCORE_OUTPUT: Final = "probability"
LABEL_OUTPUT: Final = "label"
# A CloudEvent attribute as a structured-mode key, an HTTP header (binary mode) or a Kafka header.
ATTRIBUTE_PREFIXES: Final = ("", "ce-", "ce_")
# Bytes that are not UTF-8, decoded with "surrogateescape", become these code points.
_ESCAPED: Final = re.compile("[\udc80-\udcff]")


# --- files ------------------------------------------------------------------------------------


def log_files(uri: str) -> list[str]:
    """Every file under ``uri``, sorted, but hidden ones (``.``/``_`` names: markers, temporaries)."""
    return [f for f in io.list_files(uri) if not Path(f).name.startswith((".", "_"))]


def is_event_file(uri: str) -> bool:
    """True for a ``.json`` / ``.jsonl`` / ``.ndjson`` file of events."""
    return uri.endswith(EVENT_FILES)


def is_log_file(uri: str) -> bool:
    """True for a file of events or of batched rows."""
    return uri.endswith(EVENT_FILES + TABLE_FILES)


# --- time -------------------------------------------------------------------------------------


def parse_time(what: str, text: str) -> pd.Timestamp | None:
    """ISO 8601 text as a UTC timestamp (no offset: UTC); None for "".

    Raises:
        ConfigError: naming ``what`` when the text is not a time.
    """
    if not text or not text.strip():
        return None
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError):
        raise ConfigError(
            expected_got(what, "an ISO 8601 time such as 2026-01-31T00:00:00Z", repr(text))
        ) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def event_time(value: Any) -> pd.Timestamp | None:
    """An event's ``time`` attribute as a UTC timestamp (no offset: UTC); None when unreadable."""
    if not value:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC; a missing bound is open."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """From ISO 8601 text ("" for open); a time without offset is UTC."""
        return cls(parse_time("window_start", start), parse_time("window_end", end))

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

    def holds(self, stamp: pd.Timestamp | None) -> bool:
        """Whether one time is in the window (an unknown time only in an open one)."""
        if stamp is None:
            return self.is_open
        return (self.start is None or stamp >= self.start) and (
            self.end is None or stamp < self.end
        )

    def describe(self) -> str:
        start = self.start.isoformat() if self.start is not None else "-inf"
        end = self.end.isoformat() if self.end is not None else "+inf"
        return f"[{start}, {end})"


# --- CloudEvents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudEvent:
    """One stored event; an attribute is found under any spelling a sink used for it."""

    attributes: Mapping[str, Any]  # the stored object's keys, lower-cased

    @classmethod
    def of(cls, value: Any) -> CloudEvent | None:
        """The event in a parsed JSON value, or None when it is not a JSON object."""
        if not isinstance(value, dict):
            return None
        return cls({str(k).lower(): v for k, v in value.items()})

    def attribute(self, name: str) -> Any:
        """The first non-empty of ``name``, ``ce-name`` and ``ce_name`` (any letter case)."""
        for prefix in ATTRIBUTE_PREFIXES:
            value = self.attributes.get(prefix + name)
            if value not in (None, ""):
                return value
        return None

    @property
    def id(self) -> str:
        return str(self.attribute("id") or "")

    @property
    def type(self) -> str:
        return str(self.attribute("type") or "")

    @property
    def kind(self) -> str:
        """``request``, ``response`` (KServe's two event types) or "" for any other type."""
        return {REQUEST_EVENT: REQUEST, RESPONSE_EVENT: RESPONSE}.get(self.type, "")

    @property
    def time(self) -> pd.Timestamp | None:
        return event_time(self.attribute("time"))

    @property
    def service(self) -> str:
        """The ``inferenceservicename`` extension ("" when absent)."""
        return str(self.attribute("inferenceservicename") or "")

    def data(self) -> Any:
        """The body: ``data`` (JSON text decoded) or ``data_base64``; None when there is none.

        Raises:
            ValueError: the body is not JSON.
        """
        data = self.attributes.get("data")
        if data is None and "data_base64" in self.attributes:
            try:
                data = json.loads(base64.b64decode(self.attributes["data_base64"]))
            except (ValueError, TypeError):
                raise ValueError("data_base64 is not base64-encoded JSON") from None
        if isinstance(data, str | bytes):
            data = json.loads(data)
        return data


def parse_events(text: str) -> list[Any] | None:
    """The JSON values of an event file: one object, an array, or JSON Lines (an unparseable
    line as None, so it can be counted); None when not one line is JSON."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        events: list[Any] = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                events.append(None)
        return events if any(e is not None for e in events) else None
    return parsed if isinstance(parsed, list) else [parsed]


@dataclass(frozen=True)
class BadRecord:
    """One record of an event file that could not be read, and why (counted, never silent)."""

    reason: str


def parse_event_bytes(data: bytes) -> list[Any] | None:
    """:func:`parse_events` of a file's bytes; an event holding bytes that are not UTF-8 is a
    :class:`BadRecord` naming the byte, a JSON Lines line that is not JSON a ``BadRecord`` too.
    None when not one record is JSON."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    failure = first_failure([data], "utf-8")
    text = data.decode("utf-8", errors="surrogateescape")
    events = parse_events(text)
    if events is None:
        return None
    out: list[Any] = []
    for event in events:
        if event is None:
            out.append(BadRecord("not JSON"))
        elif failure is not None and _holds_escaped(event):
            out.append(
                BadRecord(f"not UTF-8 text (first bad byte in the file: {failure.describe()})")
            )
        else:
            out.append(event)
    return out


def _holds_escaped(value: Any) -> bool:
    """True when a parsed JSON value holds text decoded from bytes that are not UTF-8."""
    if isinstance(value, str):
        return _ESCAPED.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_escaped(k) or _holds_escaped(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_escaped(v) for v in value)
    return False


def read_event_records(uri: str) -> list[Any] | None:
    """:func:`parse_event_bytes` of the file at ``uri``.

    Raises:
        DataReadError: the file cannot be read.
    """
    return parse_event_bytes(io.read_bytes(uri))


def read_events(uri: str) -> list[Any] | None:
    """The events of the file at ``uri``; a record that cannot be read is None (its reason is
    in :func:`read_event_records`).

    Raises:
        DataReadError: the file cannot be read.
    """
    records = read_event_records(uri)
    if records is None:
        return None
    return [None if isinstance(r, BadRecord) else r for r in records]


# --- bodies -----------------------------------------------------------------------------------


def request_rows(data: Any) -> list[dict[str, Any]] | None:
    """The rows of a V1 or V2 request body, or None when it is neither."""
    if not isinstance(data, dict):
        return None
    instances = data.get("instances")
    if isinstance(instances, list) and all(isinstance(r, dict) for r in instances):
        return instances
    inputs = data.get("inputs")
    if not (isinstance(inputs, list) and inputs and all(isinstance(r, dict) for r in inputs)):
        return None
    if not all("name" in r and "data" in r for r in inputs):
        return inputs  # V1 "inputs" as records
    columns = {str(r["name"]): np.ravel(np.asarray(r["data"], dtype=object)) for r in inputs}
    if len({len(v) for v in columns.values()}) != 1:
        return None  # V2 tensors of different lengths are not rows
    return [{str(k): v for k, v in r.items()} for r in pd.DataFrame(columns).to_dict("records")]


def response_scores(data: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(P(positive) per row, labels or None) from a V1 or V2 response body of this runtime.

    Raises:
        ValueError: the body is neither.
    """
    if isinstance(data, dict) and isinstance(data.get("predictions"), list):
        rows = data["predictions"]
        if all(isinstance(r, dict) for r in rows):
            labels = [r.get(LABEL_OUTPUT) for r in rows]
            return (
                np.array([float(r[SCORE_OUTPUT]) for r in rows]),
                None if None in labels else np.array(labels, dtype=object),
            )
        return np.array([float(r) for r in rows]), None
    if isinstance(data, dict) and isinstance(data.get("outputs"), list):
        named = {o.get("name"): o.get("data") for o in data["outputs"] if isinstance(o, dict)}
        if SCORE_OUTPUT in named:
            label = named.get(LABEL_OUTPUT)
            return (
                np.ravel(np.asarray(named[SCORE_OUTPUT], dtype=np.float64)),
                None if label is None else np.ravel(np.asarray(label, dtype=object)),
            )
    raise ValueError(f"expected a V1 'predictions' or V2 'outputs' body, got {str(data)[:120]!r}")


# --- pairing ----------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request id's logged request and response bodies (either may be missing)."""

    request_id: str
    request: Any = None
    request_time: pd.Timestamp | None = None
    response: Any = None
    response_time: pd.Timestamp | None = None
    response_where: str = ""  # "<file> event <n>", for messages about the response
    service: str = ""


def pair_by_id(
    events: Iterable[tuple[str, Any]],
    exchanges: dict[str, Exchange],
    problem: Callable[[str], None],
) -> None:
    """Add every ``(where, event)`` to the exchange of its id; ``problem`` hears of each event
    that is not a request or response with an id and a JSON body."""
    for where, value in events:
        event = CloudEvent.of(value)
        if event is None or not event.id:
            problem(f"{where}: expected a CloudEvent object with an id")
            continue
        exchange = exchanges.setdefault(event.id, Exchange(event.id))
        exchange.service = event.service or exchange.service
        try:
            data = event.data()
        except (ValueError, TypeError):
            problem(f"{where}: data is not JSON")
            continue
        if event.kind == REQUEST:
            exchange.request, exchange.request_time = data, event.time
        elif event.kind == RESPONSE:
            exchange.response, exchange.response_time = data, event.time
            exchange.response_where = where
        else:
            problem(f"{where}: unknown event type {event.type!r}")


# --- batched tables ---------------------------------------------------------------------------


def table_chunks(
    uri: str,
    columns: Sequence[str],
    chunk_rows: int,
    *,
    undecodable: Callable[[int], None] | None = None,
) -> Iterator[pd.DataFrame]:
    """A batched file's rows in chunks of ``chunk_rows``, only ``columns`` and ``time`` kept;
    CSV cells as text, the project's null tokens as null.

    A CSV that is not UTF-8 is read row by row as far as it goes: rows holding bytes that are
    not UTF-8 are left out and their number, per chunk, handed to ``undecodable``.

    Raises:
        OSError, ValueError: the file cannot be read as a table (possibly after some chunks);
            ValueError too for rows that are not UTF-8 when ``undecodable`` is None.
    """
    import pyarrow.parquet as pq

    wanted = [*columns, TIME_COLUMN]
    with io.local_copy(uri) as local:
        path = Path(local)
        if uri.endswith(PARQUET_FILES):
            parquet = pq.ParquetFile(path)
            names = [c for c in parquet.schema_arrow.names if c in wanted]
            for batch in parquet.iter_batches(batch_size=chunk_rows, columns=names):
                yield batch.to_pandas()
            return
        utf8 = _is_utf8_file(path)
        errors = "strict" if utf8 else "surrogateescape"
        header = pd.read_csv(path, nrows=0, encoding_errors=errors).columns
        reader = pd.read_csv(
            path,
            usecols=[c for c in header if c in wanted],
            dtype=str,
            keep_default_na=False,
            na_values=list(DEFAULT_NULL_TOKENS),
            chunksize=chunk_rows,
            encoding_errors=errors,
        )
        with reader:
            for chunk in reader:
                yield chunk if utf8 else _decodable_rows(chunk, undecodable)


def _is_utf8_file(path: Path) -> bool:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                yield block

    return first_failure(chunks(), "utf-8") is None


def _decodable_rows(chunk: pd.DataFrame, undecodable: Callable[[int], None] | None) -> pd.DataFrame:
    bad = np.zeros(len(chunk), dtype=bool)
    for name in chunk.columns:
        bad |= chunk[name].str.contains(_ESCAPED, na=False).to_numpy(dtype=bool)
    dropped = int(bad.sum())
    if dropped and undecodable is None:
        raise ValueError(f"{dropped} row(s) hold bytes that are not UTF-8 text")
    if dropped and undecodable is not None:
        undecodable(dropped)
    return chunk.loc[~bad] if dropped else chunk


def read_table(uri: str) -> pd.DataFrame:
    """A whole batched file, every column, types as pandas reads them."""
    with io.local_copy(uri) as local:
        path = Path(local)
        return pd.read_parquet(path) if uri.endswith(PARQUET_FILES) else pd.read_csv(path)


def rows_in_window(frame: pd.DataFrame, window: Window) -> np.ndarray | None:
    """Mask of the batched rows whose ``time`` is in ``window``; None without a time column."""
    if TIME_COLUMN not in frame.columns:
        return None
    return window.contains(pd.to_datetime(frame[TIME_COLUMN], utc=True, errors="coerce"))


def id_column(frame: pd.DataFrame) -> str | None:
    """The request id column of a batched file (``id`` or ``request_id``), if any."""
    return next((c for c in ID_COLUMNS if c in frame.columns), None)
