"""Read a CSV or Parquet table from a local path or gs:// URI; write Parquet; hash content.

CSV text is decoded first (declared or detected encoding, never kept as bytes) and its delimiter
sniffed (:mod:`components._shared.csv_format`); :class:`TableFormat` says how a file was read.
CSV is parsed by pyarrow (multithreaded) with types inferred over the whole file, so a column
with any non-numeric text stays text: validate, not the reader, decides what to coerce and
counts it. Tables come back as pandas frames with plain numpy dtypes. Every failure names the
URI: DataReadError when it cannot be read, DataError when it is readable but holds no rows.
"""

from __future__ import annotations

import gzip
import hashlib
import io as stdlib_io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from components._shared import io
from components._shared.artifacts import atomic_file
from components._shared.csv_format import (
    CHUNK_BYTES,
    comma_numbers,
    delimiter_hint,
    describe_delimiter,
    detect_encoding,
    head_text,
    normalise_decimal,
    normalise_delimiter,
    sniff_decimal,
    sniff_delimiter,
    transcode,
)
from components._shared.errors import DataError, DataReadError
from components._shared.schema import DEFAULT_NULL_TOKENS  # re-exported: the reader's default

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class TableFormat:
    """How a table file was read: what validate reports and the contract records.

    Attributes:
        kind: ``csv`` or ``parquet``.
        encoding: The codec the CSV was decoded with (``utf-8``, ``utf-8-sig``, ``cp1252``, ...).
        encoding_detected: True when found (BOM, UTF-8 check, Western fallback), not declared.
        delimiter: The CSV delimiter.
        delimiter_detected: True when sniffed, not declared.
        decimal: The decimal mark numbers were read with (``.`` or ``,``).
        decimal_detected: True when found in the file, not declared.
        null_tokens: The cells read as null (CSV); none for Parquet, whose nulls are typed.
        note: Why the encoding was chosen, when it was not plain UTF-8 (for a warning).
        hint: A delimiter hint when the file read as one column whose name holds another one.
    """

    kind: str
    encoding: str = ""
    encoding_detected: bool = False
    delimiter: str = ""
    delimiter_detected: bool = False
    decimal: str = "."
    decimal_detected: bool = True
    null_tokens: tuple[str, ...] = ()
    note: str = ""
    hint: str = ""

    def describe(self) -> str:
        """One line for reports: ``CSV, cp1252 (detected), semicolon ';' (sniffed)``."""
        if self.kind != "csv":
            return "Parquet"
        how = {True: "detected", False: "declared"}
        decimal = f", decimal comma ({how[self.decimal_detected]})" if self.decimal == "," else ""
        return (
            f"CSV, {self.encoding} ({how[self.encoding_detected]}), "
            f"{describe_delimiter(self.delimiter)} "
            f"({'sniffed' if self.delimiter_detected else 'declared'}){decimal}"
        )


@dataclass(frozen=True)
class Source:
    """A table file's bytes: size, first bytes, and ways to open them (Python or Arrow)."""

    uri: str
    size: int
    head: bytes
    open_binary: Callable[[], BinaryIO]
    open_arrow: Callable[[], pa.NativeFile]

    @property
    def gzipped(self) -> bool:
        return self.head[:2] == GZIP_MAGIC

    def chunks(self) -> Iterator[bytes]:
        """The file's (decompressed) bytes in chunks."""
        try:
            with self.open_binary() as raw:
                stream: BinaryIO = gzip.GzipFile(fileobj=raw) if self.gzipped else raw  # type: ignore[assignment]
                while chunk := stream.read(CHUNK_BYTES):
                    yield chunk
        except (OSError, EOFError) as exc:
            raise DataReadError(f"{self.uri!r} is not a readable CSV file: {exc}") from None


def read_table(
    uri: str,
    *,
    null_tokens: Sequence[str] = DEFAULT_NULL_TOKENS,
    encoding: str = "",
    delimiter: str = "",
    decimal: str = "",
    text_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """The CSV (also ``.csv.gz``) or Parquet table at ``uri`` as a pandas frame.

    The format comes from the extension, or from the Parquet magic bytes when the extension is
    unknown (KFP artifact paths often have none). CSV text is decoded with ``encoding`` ("" to
    detect it, see :mod:`components._shared.csv_format`), split at ``delimiter`` ("" to sniff
    it), numbers read with the ``decimal`` mark ("" to detect a decimal comma); cells equal to
    one of ``null_tokens`` are null; column types are inferred (float64,
    int64, bool, datetime64[ns], otherwise str as object), but ``text_columns`` stay text as
    written (``"007"`` stays ``"007"``). gs:// objects are read into memory and parsed from there.

    Raises:
        ConfigError: ``encoding``, ``delimiter`` or ``decimal`` is not one.
        DataReadError: the URI is missing or unreadable, not valid CSV / Parquet, or its text
            does not decode (naming the line and byte).
        DataError: the file is empty, or has a header (or schema) but no data rows.
    """
    frame, _ = read_table_format(
        uri,
        null_tokens=null_tokens,
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        text_columns=text_columns,
    )
    return frame


def read_table_format(
    uri: str,
    *,
    null_tokens: Sequence[str] = DEFAULT_NULL_TOKENS,
    encoding: str = "",
    delimiter: str = "",
    decimal: str = "",
    text_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, TableFormat]:
    """:func:`read_table` and how the file was read (:class:`TableFormat`)."""
    source = open_source(uri)
    if source.size == 0:
        raise DataError(f"{uri!r} is empty: expected a header row and data rows")
    if is_parquet(uri, source.head):
        table = _read_parquet(uri, source.open_arrow)
        if table.num_rows == 0:
            raise DataError(f"{uri!r} has a schema ({table.num_columns} columns) but no data rows")
        table = _text_not_bytes(uri, table)
        found = TableFormat("parquet")
    else:
        options = _CsvOptions(tuple(null_tokens), encoding, delimiter, decimal, tuple(text_columns))
        table, found = _read_csv(source, options)
        if table.num_rows == 0:
            raise DataError(f"{uri!r} has a header but no data rows")
    # date_as_object=False and ns timestamps: plain datetime64[ns] columns, not datetime.date
    # objects or second-resolution columns that later arithmetic would trip over.
    frame = table.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)
    return frame, found


def open_source(uri: str) -> Source:
    """The bytes at ``uri`` (gs:// read into memory; a local file opened when asked).

    Raises:
        DataReadError: missing, a directory, or unreadable.
    """
    if io.is_gcs(uri):
        data = io.read_bytes(uri)
        return Source(
            uri,
            len(data),
            data[:4],
            lambda: stdlib_io.BytesIO(data),
            lambda: pa.BufferReader(data),
        )
    path = io.local_path(uri)
    try:
        if path.is_dir():
            raise DataReadError(f"cannot read {uri!r}: is a directory, expected a table file")
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise DataReadError(f"cannot read {uri!r}: not found (no such file)") from None
    except OSError as exc:
        raise DataReadError(f"cannot read {uri!r}: {exc.strerror or exc}") from None
    return Source(uri, size, head, lambda: path.open("rb"), lambda: pa.memory_map(str(path)))


def is_parquet(uri: str, head: bytes) -> bool:
    """Parquet by extension, else by its magic bytes (KFP artifact paths have no extension)."""
    name = PurePosixPath(uri).name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return True
    if name.endswith(_CSV_SUFFIXES):
        return False
    return head == PARQUET_MAGIC


def _read_parquet(uri: str, open_source: Callable[[], pa.NativeFile]) -> pa.Table:
    try:
        with open_source() as source:
            return pq.read_table(source)
    except (pa.ArrowException, OSError) as exc:
        raise DataReadError(f"{uri!r} is not a readable Parquet file: {exc}") from None


def _text_not_bytes(uri: str, table: pa.Table) -> pa.Table:
    """Binary Parquet columns as UTF-8 text (never Python bytes); DataReadError naming the
    column and row when a value is not UTF-8."""
    for index, field in enumerate(table.schema):
        if not (pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type)):
            continue
        try:
            text = table.column(index).cast(pa.string())
        except pa.ArrowInvalid:
            values = table.column(index).to_pylist()
            row = next(i for i, v in enumerate(values) if v is not None and not _is_utf8(v))
            raise DataReadError(
                f"{uri!r}: column {field.name!r} holds bytes that are not UTF-8 text "
                f"(row {row + 1}: {values[row][:40]!r}); write it as text in the encoding's "
                "characters"
            ) from None
        table = table.set_column(index, field.name, text)
    return table


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _CsvOptions:
    null_tokens: tuple[str, ...]
    encoding: str
    delimiter: str
    decimal: str
    text_columns: tuple[str, ...]


def _read_csv(source: Source, options: _CsvOptions) -> tuple[pa.Table, TableFormat]:
    """Decode (detected or declared), sniff the delimiter, parse; the table and its format."""
    declared_delimiter = normalise_delimiter(options.delimiter)
    encoding = detect_encoding(source.uri, source.chunks, options.encoding)
    sample = head_text(source.chunks(), encoding.name)
    delimiter = declared_delimiter or sniff_delimiter(sample)
    declared_decimal = normalise_decimal(options.decimal)
    decimal = declared_decimal or sniff_decimal(sample, delimiter)
    parse = _CsvParse(source.uri, delimiter, decimal, options)
    if not encoding.needs_transcoding:
        table = parse(source.open_arrow, gzipped=source.gzipped)
    else:
        with tempfile.TemporaryDirectory(prefix="kfp-tabular-") as tmp:
            utf8 = Path(tmp) / "utf8.csv"
            with utf8.open("wb") as out:
                for piece in transcode(source.chunks(), encoding.name):
                    out.write(piece)
            table = parse(lambda: pa.memory_map(str(utf8)), gzipped=False)
    if decimal == ",":
        table = _comma_text_as_numbers(table, options.text_columns)
    found = TableFormat(
        "csv",
        encoding=encoding.name,
        encoding_detected=encoding.detected,
        delimiter=delimiter,
        delimiter_detected=not declared_delimiter,
        decimal=decimal,
        decimal_detected=not declared_decimal,
        null_tokens=options.null_tokens,
        note=encoding.note,
        hint=delimiter_hint(table.column_names, delimiter),
    )
    return table, found


def _comma_text_as_numbers(table: pa.Table, text_columns: Sequence[str]) -> pa.Table:
    """Text columns of decimal-comma numbers (kept as text by a blank cell, as Telco's
    ``TotalCharges``) rewritten with a point, so validate parses them as it parses any numbers
    stored as text. Declared text columns stay as written."""
    for index, name in enumerate(table.column_names):
        column = table.column(index)
        if name in text_columns or not pa.types.is_string(column.type):
            continue
        if comma_numbers(column.unique().to_pylist()):
            pointed = pc.replace_substring(column, pattern=",", replacement=".")
            table = table.set_column(index, name, pointed)
    return table


@dataclass(frozen=True)
class _CsvParse:
    """pyarrow's CSV parse of UTF-8 bytes with the resolved options."""

    uri: str
    delimiter: str
    decimal: str
    options: _CsvOptions

    def __call__(self, open_arrow: Callable[[], pa.NativeFile], *, gzipped: bool) -> pa.Table:
        try:
            # The fast path splits the file at newlines to parse blocks in parallel.
            return self._parse(open_arrow, gzipped, use_threads=True, newlines_in_values=False)
        except (pa.ArrowException, OSError) as exc:
            first_error = exc
        if "Empty CSV file" in str(first_error):
            raise DataError(f"{self.uri!r} is empty: expected a header row and data rows")
        try:
            # A quoted value holding a newline breaks that split; a single-threaded parse that
            # allows it reads such files, and otherwise reports the failing row number, which
            # the threaded parse does not know.
            return self._parse(open_arrow, gzipped, use_threads=False, newlines_in_values=True)
        except (pa.ArrowException, OSError) as exc:
            raise DataReadError(f"{self.uri!r} is not a readable CSV file: {exc}") from None

    def _parse(
        self,
        open_arrow: Callable[[], pa.NativeFile],
        gzipped: bool,
        *,
        use_threads: bool,
        newlines_in_values: bool,
    ) -> pa.Table:
        convert = pa_csv.ConvertOptions(
            null_values=list(self.options.null_tokens),
            strings_can_be_null=True,
            decimal_point=self.decimal,
            column_types={name: pa.string() for name in self.options.text_columns},
        )
        with open_arrow() as raw:
            source: pa.NativeFile = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
            return pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(use_threads=use_threads),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=newlines_in_values
                ),
                convert_options=convert,
            )


def write_parquet(frame: pd.DataFrame, uri: str) -> None:
    """Write ``frame`` (without its index) as Parquet to ``uri``, atomically.

    Locally the file is written beside the target and renamed into place; on gs:// it is one
    whole upload. DataError when a column cannot be stored in Parquet (mixed object types).
    """
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"cannot write {uri!r} as Parquet: {exc}") from None
    if io.is_gcs(uri):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        io.write_bytes(uri, sink.getvalue().to_pybytes())
        return
    try:
        with atomic_file(io.local_path(uri)) as tmp:
            pq.write_table(table, str(tmp))
    except OSError as exc:
        raise io.StorageWriteError(f"cannot write {uri!r}: {exc.strerror or exc}") from None


def sha256_uri(uri: str) -> str:
    """Hex sha256 of the content at ``uri`` (local files are streamed, never held whole)."""
    if io.is_gcs(uri):
        return hashlib.sha256(io.read_bytes(uri)).hexdigest()
    digest = hashlib.sha256()
    try:
        with io.local_path(uri).open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise DataReadError(f"cannot read {uri!r}: not found (no such file)") from None
    except OSError as exc:
        raise DataReadError(f"cannot read {uri!r}: {exc.strerror or exc}") from None
    return digest.hexdigest()
