"""Tables written chunk by chunk into a temporary file, put in place whole or not at all.

A local target gets its temporary file beside it and a rename on :meth:`TableWriter.commit`; a
gs:// target is written locally and uploaded as one object on commit. Until then nothing
exists at the target, so a failed run never leaves a half file a later step could read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from components._shared import io
from components._shared.artifacts import FILE_MODE, make_dirs


class TableWriter:
    """Appends record batches of one schema to ``uri`` as Parquet or CSV (with a header)."""

    def __init__(self, uri: str, fmt: str, schema: pa.Schema) -> None:
        self.uri = uri
        self.fmt = fmt
        self.schema = schema
        self.rows = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        if io.is_gcs(uri):
            self._folder = tempfile.TemporaryDirectory(prefix="kfp-tabular-")
            self._tmp = Path(self._folder.name) / "part"
        else:
            target = io.local_path(uri)
            make_dirs(target.parent)
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            os.close(handle)
            self._tmp = Path(name)
        self._writer: Any = (
            pq.ParquetWriter(str(self._tmp), schema)
            if fmt == "parquet"
            else pa_csv.CSVWriter(str(self._tmp), schema)
        )

    def write(self, columns: dict[str, list[Any]]) -> None:
        """Append rows given as ``{column: values}`` (every column of the schema)."""
        batch = pa.RecordBatch.from_pydict(columns, schema=self.schema)
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def commit(self) -> None:
        """Close the file and put it at ``uri``."""
        self._writer.close()
        if self._folder is not None:
            io.upload_file(self._tmp, self.uri)  # streamed: the file never sits in memory
            self._folder.cleanup()
            return
        self._tmp.chmod(FILE_MODE)
        os.replace(self._tmp, io.local_path(self.uri))

    def discard(self) -> None:
        """Close and remove the temporary file; nothing appears at ``uri``."""
        try:
            self._writer.close()
        finally:
            if self._folder is not None:
                self._folder.cleanup()
            else:
                self._tmp.unlink(missing_ok=True)
