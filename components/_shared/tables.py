"""Read a CSV or Parquet table from a local path or gs:// URI; write Parquet; hash content.

CSV is parsed by pyarrow (multithreaded) with types inferred over the whole file, so a column
with any non-numeric text stays text: validate, not the reader, decides what to coerce and
counts it. Tables come back as pandas frames with plain numpy dtypes. Every failure names the
URI: DataReadError when it cannot be read, DataError when it is readable but holds no rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from components._shared import io
from components._shared.artifacts import atomic_file
from components._shared.errors import DataError, DataReadError

# Cells read as null in CSV. A single space is deliberately not one: validate must see
# blank-space cells (Telco TotalCharges " ") and count their coercion itself.
DEFAULT_NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "NULL", "null", "NaN", "nan", "?", "None")

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_HASH_CHUNK = 1 << 20


def read_table(uri: str, *, null_tokens: Sequence[str] = DEFAULT_NULL_TOKENS) -> pd.DataFrame:
    """The CSV (also ``.csv.gz``) or Parquet table at ``uri`` as a pandas frame.

    The format comes from the extension, or from the Parquet magic bytes when the extension is
    unknown (KFP artifact paths often have none). CSV cells equal to one of ``null_tokens`` are
    null; column types are inferred (float64, int64, bool, datetime64[ns], otherwise str as
    object). gs:// objects are read into memory and parsed from there.

    Raises:
        DataReadError: the URI is missing or unreadable, or not valid CSV / Parquet.
        DataError: the file is empty, or has a header (or schema) but no data rows.
    """
    if io.is_gcs(uri):
        data = io.read_bytes(uri)
        size, head = len(data), data[:4]

        def open_source() -> pa.NativeFile:
            return pa.BufferReader(data)

    else:
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

        def open_source() -> pa.NativeFile:
            return pa.memory_map(str(path))

    if size == 0:
        raise DataError(f"{uri!r} is empty: expected a header row and data rows")
    if _is_parquet(uri, head):
        table = _read_parquet(uri, open_source)
        if table.num_rows == 0:
            raise DataError(f"{uri!r} has a schema ({table.num_columns} columns) but no data rows")
    else:
        table = _read_csv(uri, open_source, head[:2] == GZIP_MAGIC, null_tokens)
        if table.num_rows == 0:
            raise DataError(f"{uri!r} has a header but no data rows")
    # date_as_object=False and ns timestamps: plain datetime64[ns] columns, not datetime.date
    # objects or second-resolution columns that later arithmetic would trip over.
    return table.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)


def _is_parquet(uri: str, head: bytes) -> bool:
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


def _read_csv(
    uri: str,
    open_source: Callable[[], pa.NativeFile],
    gzipped: bool,
    null_tokens: Sequence[str],
) -> pa.Table:
    convert = pa_csv.ConvertOptions(null_values=list(null_tokens), strings_can_be_null=True)

    def parse(*, use_threads: bool, newlines_in_values: bool) -> pa.Table:
        with open_source() as raw:
            source: pa.NativeFile = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
            return pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(use_threads=use_threads),
                parse_options=pa_csv.ParseOptions(newlines_in_values=newlines_in_values),
                convert_options=convert,
            )

    try:
        # The fast path splits the file at newlines to parse blocks in parallel.
        return parse(use_threads=True, newlines_in_values=False)
    except (pa.ArrowException, OSError) as exc:
        first_error = exc
    if "Empty CSV file" in str(first_error):
        raise DataError(f"{uri!r} is empty: expected a header row and data rows")
    try:
        # A quoted value holding a newline breaks that split; a single-threaded parse that
        # allows it reads such files, and otherwise reports the failing row number, which the
        # threaded parse does not know.
        return parse(use_threads=False, newlines_in_values=True)
    except (pa.ArrowException, OSError) as exc:
        raise DataReadError(f"{uri!r} is not a readable CSV file: {exc}") from None


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
