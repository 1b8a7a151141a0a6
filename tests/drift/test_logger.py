"""KServe payload-logger output as current data: CloudEvents (V1 and V2), batched files, the
time window, malformed files and events, and gs:// through the storage emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from components._shared import io
from components._shared.errors import DataError
from components._shared.payload_log import REQUEST_EVENT, RESPONSE_EVENT
from components.drift.analysis import analyse
from components.drift.config import DriftConfig
from components.drift.executor import DriftOutcome
from components.drift.report import EvidentlyPages, render_markdown
from tests.drift.conftest import TelcoDrift


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.drop(columns=["Churn"]).to_json(orient="records"))


def _event(i: int, data: dict, time: str, kind: str = REQUEST_EVENT) -> dict:
    return {"specversion": "1.0", "id": f"req-{i}", "type": kind, "source": "http://localhost:9081/",
            "time": time, "datacontenttype": "application/json", "data": data}  # fmt: skip


def write_logger_output(frame: pd.DataFrame, put: object, batch: int = 200) -> int:
    """One file per batch of requests (V1 and V2 alternating), responses and junk beside them."""
    files = 0
    for n, start in enumerate(range(0, len(frame), batch)):
        part = frame.iloc[start : start + batch]
        if n % 2:
            data: dict = {"inputs": [{"name": c, "shape": [len(part)], "datatype": "BYTES",
                                      "data": json.loads(part[c].to_json(orient="values"))}
                                     for c in part.columns if c != "Churn"]}  # fmt: skip
        else:
            data = {"instances": _records(part)}
        events = [_event(n, data, f"2026-03-01T{n % 24:02d}:30:00Z"),
                  _event(n, {"predictions": [0.1] * len(part)}, "2026-03-01T00:00:00Z", RESPONSE_EVENT)]  # fmt: skip
        put(f"events/batch-{n:04d}.jsonl", "\n".join(json.dumps(e) for e in events) + "\n")  # type: ignore[operator]
        files += 1
    return files


def _local(root: Path):
    def put(name: str, text: str) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return put


def test_cloudevents_v1_and_v2_are_read_like_the_dataset(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    write_logger_output(telco_drift.current, _local(tmp_path))
    config = DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(tmp_path / "events"))
    logged = analyse(config)
    direct = analyse(
        DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(telco_drift.current_csv))
    )
    assert logged.read.source_kind == "logger"
    assert logged.result.current_rows == len(telco_drift.current)
    assert logged.read.response_events == logged.read.files
    for a, b in zip(logged.result.columns, direct.result.columns, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-9), a.column
    assert not logged.performance["available"]  # requests carry no labels


def test_window_filters_events_and_an_empty_window_is_a_clear_error(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    write_logger_output(telco_drift.current, _local(tmp_path))
    config = DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(tmp_path / "events"),
                                  window_start="2026-03-01T00:00:00Z", window_end="2026-03-01T05:00:00")  # fmt: skip
    windowed = analyse(config)
    assert windowed.result.current_rows == 5 * 200  # the batches logged at hours 0 to 4
    assert windowed.read.events_outside_window > 0
    empty = DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(tmp_path / "events"),
                                 window_start="2027-01-01T00:00:00Z")  # fmt: skip
    with pytest.raises(DataError, match=r"no current rows in window \[2027-01-01"):
        analyse(empty)


def test_malformed_files_and_events_are_counted_and_reported(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    put = _local(tmp_path)
    write_logger_output(telco_drift.current.head(400), put)
    put("events/broken.json", "{not json")
    put("events/notes.txt", "hello")
    put(
        "events/odd.jsonl",
        json.dumps(_event(9, {"rows": [1, 2]}, "2026-03-01T00:00:00Z")) + "\n[1]\n",
    )
    outcome = analyse(
        DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(tmp_path / "events"))
    )
    assert outcome.result.current_rows == 400
    assert set(map(lambda p: Path(p).name, outcome.read.malformed_files)) == {
        "broken.json",
        "notes.txt",
    }
    assert outcome.read.malformed_events == 2
    assert any("expected data" in p for p in outcome.read.problems)
    no_report = EvidentlyPages(html="", snapshot_json="", info={}, current_rows=0)
    markdown = render_markdown(DriftOutcome(outcome, no_report, {}, "bundle").to_dict())
    assert "2 malformed" in markdown and "broken.json" in markdown


def test_only_malformed_files_is_an_error(telco_drift: TelcoDrift, tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "a.json").write_text("{broken")
    with pytest.raises(DataError, match="no current rows"):
        analyse(DriftConfig(bundle_uri=str(telco_drift.bundle),
                                              current_uri=str(tmp_path / "events")))  # fmt: skip


def test_batched_parquet_with_time_column(telco_drift: TelcoDrift, tmp_path: Path) -> None:
    frame = telco_drift.current.drop(columns=["Churn"]).copy()
    frame["time"] = pd.date_range("2026-03-01", periods=len(frame), freq="min", tz="UTC")
    (tmp_path / "batches").mkdir()
    frame.to_parquet(tmp_path / "batches" / "part-0.parquet", index=False)
    config = DriftConfig(bundle_uri=str(telco_drift.bundle), current_uri=str(tmp_path / "batches"),
                                  current_format="logger", window_end="2026-03-01T10:00:00Z")  # fmt: skip
    outcome = analyse(config)
    assert outcome.result.current_rows == 600
    assert outcome.read.rows_outside_window == len(frame) - 600


def test_logger_output_on_gcs(telco_drift: TelcoDrift, gcs_bucket: str) -> None:
    def put(name: str, text: str) -> None:
        io.write_text(f"{gcs_bucket}/logs/{name}", text)

    write_logger_output(telco_drift.current.head(1000), put)
    config = DriftConfig(
        bundle_uri=str(telco_drift.bundle), current_uri=f"{gcs_bucket}/logs/events/"
    )
    outcome = analyse(config)
    assert outcome.result.current_rows == 1000 and outcome.read.files == 5


def test_a_bad_record_costs_that_record_not_its_file(
    telco_drift: TelcoDrift, tmp_path: Path
) -> None:
    """One event with a latin-1 byte and one line that is not JSON, inside a file of good
    events; a batched CSV with one latin-1 row: each bad record is counted and skipped alone."""
    rows = telco_drift.current.head(30)
    events = [_event(i, {"instances": _records(rows.iloc[i * 10 : i * 10 + 10])},
                     "2026-03-01T00:30:00Z") for i in range(3)]  # fmt: skip
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    lines[1] = lines[1].replace(b'"Electronic check"', b'"Ch\xe8que"', 1)  # latin-1, not UTF-8
    assert b"\xe8" in lines[1]
    lines.insert(2, b"{this line is not json")
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    batch = rows.drop(columns=["Churn"]).to_csv(index=False).encode()
    header, first, *rest = batch.split(b"\n")
    bad_row = first.replace(b"Female", b"F\xe9male").replace(b"Male", b"M\xe2le")
    (tmp_path / "events" / "batch.csv").write_bytes(b"\n".join([header, bad_row, *rest]))
    outcome = analyse(
        DriftConfig(
            bundle_uri=str(telco_drift.bundle),
            current_uri=str(tmp_path / "events"),
            current_format="logger",
        )
    )
    read = outcome.read
    assert read.malformed_files == {}  # no file lost
    assert (read.malformed_events, read.undecodable_events, read.undecodable_rows) == (2, 1, 1)
    assert outcome.result.current_rows == 20 + 29  # two good events, 29 of 30 batched rows
    assert any("not UTF-8 text (first bad byte in the file: line 2, byte 0xE8" in p
               for p in read.problems)  # fmt: skip
    assert any("skipped, not JSON" in p for p in read.problems)
    assert any("batch.csv: 1 row(s) skipped, not UTF-8 text" in p for p in read.problems)
    no_report = EvidentlyPages(html="", snapshot_json="", info={}, current_rows=0)
    markdown = render_markdown(DriftOutcome(outcome, no_report, {}, "bundle").to_dict())
    assert "2 malformed, 1 of them not UTF-8" in markdown
    assert "1 batched rows skipped as not UTF-8" in markdown
