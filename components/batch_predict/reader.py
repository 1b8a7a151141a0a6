"""The rows to score, in bounded chunks, each cell as the raw value a client would send.

CSV (also ``.csv.gz``): decoded with the declared or detected encoding and split at the declared
or sniffed delimiter and decimal mark (:mod:`components._shared.csv_format`, as validate reads),
every cell kept
as text, the contract's null tokens as None; pyarrow's streaming reader parses one block at a
time. A row with the wrong number of fields is not fatal: it is reported (:class:`RowError`) and
the rest is read. Parquet: record batches, values as Python values. gs:// inputs are downloaded
to a temporary file first, so memory holds one chunk, never the file.

Row numbers count data records from 1 (the first after the header). A malformed row takes its
number from its physical line (line - 1), exact unless an earlier value holds a quoted newline.
"""

from __future__ import annotations

import csv
import io as stdlib_io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from components._shared import io
from components._shared.csv_format import (
    delimiter_hint,
    detect_encoding,
    head_text,
    normalise_decimal,
    normalise_delimiter,
    sniff_decimal,
    sniff_delimiter,
    transcode,
)
from components._shared.errors import DataError, DataReadError
from components._shared.tables import Source, TableFormat, is_parquet, open_source

BLOCK_BYTES = 1 << 22


@dataclass(frozen=True)
class RowError:
    """A row that could not be scored: its number, the column at fault ("" for the row) and why."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class RawChunk:
    """Consecutive rows: their numbers and the raw values of the wanted columns."""

    rows: list[int]
    columns: dict[str, list[Any]]


@dataclass
class Rows:
    """An open file of rows to score: its format, its columns and arrow types, its chunks."""

    uri: str
    table_format: TableFormat
    columns: list[str]
    types: dict[str, pa.DataType]
    batches: Callable[[], Iterator[pa.RecordBatch]]
    chunk_rows: int
    malformed: list[RowError] = field(default_factory=list)
    _skipped: set[int] = field(default_factory=set)

    def chunks(self) -> Iterator[RawChunk]:
        """Chunks of at most ``chunk_rows`` rows, numbered around the malformed ones."""
        pending: list[pa.RecordBatch] = []
        size = 0
        next_row = 1
        for batch in self._guarded():
            pending.append(batch)
            size += batch.num_rows
            while size >= self.chunk_rows:
                table = pa.Table.from_batches(pending)
                head, tail = table.slice(0, self.chunk_rows), table.slice(self.chunk_rows)
                chunk, next_row = self._chunk(head, next_row)
                yield chunk
                pending, size = tail.to_batches(), tail.num_rows
        if size:
            chunk, next_row = self._chunk(pa.Table.from_batches(pending), next_row)
            yield chunk

    def _guarded(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self.batches()
        except (pa.ArrowException, OSError) as exc:
            raise DataReadError(f"{self.uri!r} is not a readable table: {exc}") from None

    def _chunk(self, table: pa.Table, next_row: int) -> tuple[RawChunk, int]:
        numbers: list[int] = []
        while len(numbers) < table.num_rows:
            if next_row not in self._skipped:
                numbers.append(next_row)
            next_row += 1
        columns = {name: _plain(table.column(name).to_pylist()) for name in table.column_names}
        return RawChunk(numbers, columns), next_row

    def skip(self, row: pa_csv.InvalidRow) -> str:
        """pyarrow's invalid-row handler: note the row, report it, read on."""
        number = (row.number - 1) if row.number is not None else 0
        self._skipped.add(number)
        where = f"line {row.number}" if row.number is not None else "a line"
        reason = (
            f"{where}: expected {row.expected_columns} fields, found {row.actual_columns} "
            f"({row.text[:80]!r})"
        )
        self.malformed.append(RowError(number, "", reason))
        return "skip"


def _plain(values: list[Any]) -> list[Any]:
    """Dates and times as ISO text (what a JSON client sends); everything else as it is."""
    if any(isinstance(v, date | datetime) for v in values):
        return [v.isoformat() if isinstance(v, date | datetime) else v for v in values]
    return values


@contextmanager
def open_rows(
    uri: str,
    *,
    wanted: Sequence[str],
    null_tokens: Sequence[str],
    encoding: str,
    delimiter: str,
    chunk_rows: int,
    decimal: str = "",
) -> Iterator[Rows]:
    """The file at ``uri`` opened for chunked reading of the ``wanted`` columns it has.

    Raises:
        ConfigError: a bad encoding, delimiter or decimal mark.
        DataReadError / DataError: unreadable, undecodable (naming line and byte), or empty.
    """
    with ExitStack() as stack:
        local = stack.enter_context(io.local_copy(uri))
        source = open_source(str(local))
        if source.size == 0:
            raise DataError(f"{uri!r} is empty: expected a header row and data rows")
        if is_parquet(uri, source.head):
            yield _parquet_rows(uri, Path(local), wanted, chunk_rows)
            return
        options = (tuple(null_tokens), encoding, delimiter, decimal)
        yield _csv_rows(uri, source, wanted, options, chunk_rows, stack)


def _parquet_rows(uri: str, path: Path, wanted: Sequence[str], chunk_rows: int) -> Rows:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataReadError(f"{uri!r} is not a readable Parquet file: {exc}") from None
    schema = parquet.schema_arrow
    names = [n for n in schema.names if n in set(wanted)]
    types = {n: schema.field(n).type for n in names}

    def batches() -> Iterator[pa.RecordBatch]:
        yield from parquet.iter_batches(batch_size=chunk_rows, columns=names)

    return Rows(uri, TableFormat("parquet"), list(schema.names), types, batches, chunk_rows)


def _csv_rows(
    uri: str,
    source: Source,
    wanted: Sequence[str],
    options: tuple[tuple[str, ...], str, str, str],
    chunk_rows: int,
    stack: ExitStack,
) -> Rows:
    null_tokens, declared_encoding, declared_delimiter, declared_decimal = options
    chosen_delimiter = normalise_delimiter(declared_delimiter)
    chosen_decimal = normalise_decimal(declared_decimal)
    encoding = detect_encoding(uri, source.chunks, declared_encoding)
    sample = head_text(source.chunks(), encoding.name)
    delimiter = chosen_delimiter or sniff_delimiter(sample)
    header = next(csv.reader(stdlib_io.StringIO(sample), delimiter=delimiter), [])
    open_arrow, gzipped = source.open_arrow, source.gzipped
    if encoding.needs_transcoding:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kfp-tabular-")))
        utf8 = folder / "utf8.csv"
        with utf8.open("wb") as out:
            for piece in transcode(source.chunks(), encoding.name):
                out.write(piece)
        open_arrow, gzipped = (lambda: pa.memory_map(str(utf8))), False
    found = TableFormat(
        "csv",
        encoding=encoding.name,
        encoding_detected=encoding.detected,
        delimiter=delimiter,
        delimiter_detected=not chosen_delimiter,
        decimal=chosen_decimal or sniff_decimal(sample, delimiter),
        decimal_detected=not chosen_decimal,
        null_tokens=null_tokens,
        note=encoding.note,
        hint=delimiter_hint(header, delimiter),
    )
    names = [n for n in header if n in set(wanted)]
    rows = Rows(uri, found, header, dict.fromkeys(names, pa.string()), lambda: iter(()), chunk_rows)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()),
        null_values=list(null_tokens),
        strings_can_be_null=True,
        include_columns=names,
    )
    parse = pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, invalid_row_handler=rows.skip
    )
    read = pa_csv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES)

    def batches() -> Iterator[pa.RecordBatch]:
        with open_arrow() as raw:
            stream = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
            yield from pa_csv.open_csv(stream, read, parse, convert)

    rows.batches = batches
    return rows
