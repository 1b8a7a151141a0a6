"""The one reader of KServe payload-logger output, and its two users (drift's current data,
shadow's logged exchanges), on events stored under every attribute spelling a sink uses:
structured-mode keys (``id``, ``type``, ``time``), binary-mode HTTP headers as KServe's logger
sends them (``Ce-Id``, ``Ce-Type``, ``Ce-Time``, ``Ce-Inferenceservicename``), the same headers
lower-cased (``ce-id``, ...) and the Kafka binding's ``ce_id``, ..."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components._shared import payload_log
from components._shared.errors import ConfigError
from components._shared.payload_log import (
    REQUEST_EVENT,
    RESPONSE_EVENT,
    CloudEvent,
    Exchange,
    Window,
    pair_by_id,
    parse_events,
    request_rows,
    response_scores,
)
from components.drift.current import ReadReport, read_current
from components.shadow.logged import read_exchanges
from tests.drift.helpers import schema_for

# How each spelling stores an attribute: a prefix and the attribute's letter case.
SPELLINGS = {
    "structured": ("", str.lower),  # id, type, time, inferenceservicename
    "http-headers": ("Ce-", str.capitalize),  # Ce-Id, Ce-Type, Ce-Time, Ce-Inferenceservicename
    "lower-headers": ("ce-", str.lower),  # ce-id, ce-type, ce-time, ...
    "kafka-headers": ("ce_", str.lower),  # ce_id, ce_type, ce_time, ...
}
KINDS = {"x": "numeric", "color": "categorical"}


def event(spelling: str, request_id: str, kind: str, time: str, data: Any) -> dict[str, Any]:
    prefix, case = SPELLINGS[spelling]
    attributes = {"id": request_id, "type": kind, "time": time, "inferenceservicename": "churn"}
    return {**{prefix + case(k): v for k, v in attributes.items()}, "data": data}


def logged_traffic(folder: Path, spelling: str, requests: int = 6) -> Path:
    """One V1 request (two rows) and its response per id, an hour apart from id to id; the
    even ids' requests in V2 form."""
    lines = []
    for i in range(requests):
        rows = [{"x": float(i), "color": "red"}, {"x": float(i) + 0.5, "color": "blue"}]
        body: dict[str, Any] = {"instances": rows}
        if i % 2 == 0:
            body = {"inputs": [{"name": c, "shape": [2], "datatype": "BYTES",
                                "data": [r[c] for r in rows]} for c in ("x", "color")]}  # fmt: skip
        answer = {"predictions": [{"probability": 0.25, "label": "No"},
                                  {"probability": 0.75, "label": "Yes"}]}  # fmt: skip
        lines.append(event(spelling, f"r{i}", REQUEST_EVENT, f"2026-03-01T{i:02d}:00:00Z", body))
        lines.append(event(spelling, f"r{i}", RESPONSE_EVENT, f"2026-03-01T{i:02d}:00:00.250Z", answer))  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    return folder


# --- both users, every spelling ---------------------------------------------------------------


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_drift_reads_the_requests_and_windows_them_by_time(spelling: str, tmp_path: Path) -> None:
    folder = logged_traffic(tmp_path / "logs", spelling)
    report = ReadReport()
    window = Window.parse("2026-03-01T01:00:00Z", "2026-03-01T05:00:00Z")
    chunks = list(read_current(str(folder), schema_for(KINDS), list(KINDS), window=window,
                               chunk_rows=3, report=report))  # fmt: skip
    frame = pd.concat(chunks, ignore_index=True)
    assert report.source_kind == "logger"
    assert report.events == 12 and report.response_events == 6
    assert report.events_outside_window == 2  # the requests at hours 0 and 5
    assert report.malformed_events == 0 and not report.problems
    assert frame["x"].tolist() == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
    assert frame["color"].tolist() == ["red", "blue"] * 4


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_shadow_pairs_request_and_response_by_id(spelling: str, tmp_path: Path) -> None:
    folder = logged_traffic(tmp_path / "logs", spelling)
    exchanges, counts = read_exchanges(str(folder))
    assert sorted(exchanges) == [f"r{i}" for i in range(6)]
    assert counts.events == 12 and counts.malformed == 0 and not counts.problems
    for exchange in exchanges.values():
        assert exchange.scores is not None and exchange.scores.tolist() == [0.25, 0.75]
        assert exchange.labels is not None and exchange.labels.tolist() == ["No", "Yes"]
        assert exchange.latency_ms == pytest.approx(250.0)
        assert exchange.service == "churn"
    assert exchanges["r1"].request == {
        "instances": [{"x": 1.0, "color": "red"}, {"x": 1.5, "color": "blue"}]
    }
    assert exchanges["r0"].request["inputs"][0]["name"] == "x"  # replayed as logged (V2)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_event_attributes_under_each_spelling(spelling: str) -> None:
    stored = event(spelling, "abc", RESPONSE_EVENT, "2026-03-01T10:00:00+02:00", {"k": 1})
    found = CloudEvent.of(stored)
    assert found is not None
    assert (found.id, found.type, found.service) == ("abc", RESPONSE_EVENT, "churn")
    assert found.kind == "response"
    assert found.time == pd.Timestamp("2026-03-01T08:00:00Z")
    assert found.data() == {"k": 1}


# --- the reader's parts -----------------------------------------------------------------------


def test_a_structured_attribute_wins_and_empty_values_fall_through() -> None:
    found = CloudEvent.of({"id": "", "Ce-Id": "from-header", "TYPE": REQUEST_EVENT})
    assert found is not None and found.id == "from-header" and found.kind == "request"
    assert CloudEvent.of([1]) is None
    assert CloudEvent.of({"type": "com.example.other"}).kind == ""  # type: ignore[union-attr]
    assert CloudEvent.of({"time": "not a time"}).time is None  # type: ignore[union-attr]
    assert CloudEvent.of({"time": "2026-03-01T10:00:00"}).time == pd.Timestamp(  # type: ignore[union-attr]
        "2026-03-01T10:00:00Z"
    )


def test_bodies_as_json_text_and_base64_and_bad_ones() -> None:
    body = {"instances": [{"x": 1}]}
    assert CloudEvent.of({"data": json.dumps(body)}).data() == body  # type: ignore[union-attr]
    encoded = base64.b64encode(json.dumps(body).encode()).decode()
    assert CloudEvent.of({"data_base64": encoded}).data() == body  # type: ignore[union-attr]
    assert CloudEvent.of({"id": "x"}).data() is None  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        CloudEvent.of({"data": "{not json"}).data()  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        CloudEvent.of({"data_base64": "%%%"}).data()  # type: ignore[union-attr]


def test_event_files_object_array_json_lines_and_garbage() -> None:
    assert parse_events('{"id": 1}') == [{"id": 1}]
    assert parse_events('[{"id": 1}, {"id": 2}]') == [{"id": 1}, {"id": 2}]
    assert parse_events('{"id": 1}\n\nnot json\n{"id": 2}\n') == [{"id": 1}, None, {"id": 2}]
    assert parse_events("{broken") is None
    assert parse_events("") is None


def test_request_rows_of_v1_and_v2_bodies() -> None:
    records = [{"x": 1, "c": "a"}, {"x": 2, "c": "b"}]
    assert request_rows({"instances": records}) == records
    assert request_rows({"inputs": records}) == records  # V1 "inputs" as records
    v2 = {"inputs": [{"name": "x", "shape": [2], "datatype": "INT64", "data": [1, 2]},
                     {"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": [["a"], ["b"]]}]}  # fmt: skip
    assert request_rows(v2) == records
    ragged = {"inputs": [{"name": "x", "data": [1, 2]}, {"name": "c", "data": ["a"]}]}
    assert request_rows(ragged) is None
    assert request_rows({"rows": [1]}) is None and request_rows([1]) is None


def test_response_scores_of_v1_and_v2_bodies() -> None:
    scores, labels = response_scores({"predictions": [{"probability": 0.2, "label": "No"}]})
    assert scores.tolist() == [0.2] and labels is not None and labels.tolist() == ["No"]
    scores, labels = response_scores({"predictions": [0.2, 0.9]})
    assert scores.tolist() == [0.2, 0.9] and labels is None
    v2 = {"outputs": [{"name": "probability", "data": [0.2, 0.9]}, {"name": "label", "data": ["No", "Yes"]}]}  # fmt: skip
    scores, labels = response_scores(v2)
    assert np.allclose(scores, [0.2, 0.9]) and labels is not None and list(labels) == ["No", "Yes"]
    with pytest.raises(ValueError, match="expected a V1 'predictions' or V2 'outputs' body"):
        response_scores({"outputs": [{"name": "logits", "data": [1.0]}]})


def test_pairing_names_what_it_cannot_pair() -> None:
    problems: list[str] = []
    exchanges: dict[str, Exchange] = {}
    events = [
        ("f event 0", {"id": "a", "type": RESPONSE_EVENT, "data": {"predictions": [0.5]}}),
        ("f event 1", {"Ce-Id": "a", "Ce-Type": REQUEST_EVENT, "data": {"instances": []}}),
        ("f event 2", {"type": REQUEST_EVENT}),
        ("f event 3", {"id": "b", "type": "com.example.other", "data": {}}),
        ("f event 4", {"id": "c", "type": REQUEST_EVENT, "data": "{not json"}),
        ("f event 5", "text"),
    ]
    pair_by_id(events, exchanges, problems.append)
    assert exchanges["a"].request == {"instances": []}
    assert exchanges["a"].response == {"predictions": [0.5]}
    assert exchanges["a"].response_where == "f event 0"
    assert problems == [
        "f event 2: expected a CloudEvent object with an id",
        "f event 3: unknown event type 'com.example.other'",
        "f event 4: data is not JSON",
        "f event 5: expected a CloudEvent object with an id",
    ]


def test_windows_and_times() -> None:
    window = Window.parse("2026-03-01T00:00:00Z", "2026-03-01T01:00:00+01:00")
    assert window.end == pd.Timestamp("2026-03-01T00:00:00Z")
    assert Window.parse("2026-03-01", "").start == pd.Timestamp("2026-03-01T00:00:00Z")
    assert not window.holds(None) and Window().holds(None)
    assert Window(start=pd.Timestamp("2026-03-01T00:00:00Z")).holds(
        pd.Timestamp("2026-03-01T00:00:00Z")
    )
    times = pd.Series(
        pd.to_datetime(["2026-02-28T23:59:59Z", "2026-03-01T10:00:00Z", None], utc=True)
    )
    assert Window(start=pd.Timestamp("2026-03-01T00:00:00Z")).contains(times).tolist() == [
        False,
        True,
        False,
    ]
    with pytest.raises(ConfigError, match="window_end: expected an ISO 8601 time"):
        Window.parse("", "tomorrow")


def test_log_files_skip_hidden_names_and_tables_are_read(tmp_path: Path) -> None:
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".part.crc").write_text("")
    pd.DataFrame({"id": ["a", "a"], "x": [1, 2], "time": ["2026-03-01T00:00:00Z"] * 2}).to_csv(
        tmp_path / "batch.csv", index=False
    )
    files = payload_log.log_files(str(tmp_path))
    assert [Path(f).name for f in files] == ["batch.csv"]
    (chunk,) = payload_log.table_chunks(files[0], ["x"], chunk_rows=10)
    assert list(chunk.columns) == ["x", "time"] and chunk["x"].tolist() == ["1", "2"]
    whole = payload_log.read_table(files[0])
    assert payload_log.id_column(whole) == "id" and whole["x"].tolist() == [1, 2]
    inside = payload_log.rows_in_window(whole, Window.parse("2026-03-02", ""))
    assert inside is not None and inside.tolist() == [False, False]
    assert payload_log.rows_in_window(whole[["x"]], Window.parse("2026-03-02", "")) is None


def test_event_bytes_a_bad_record_is_named_and_the_rest_kept() -> None:
    from components._shared.payload_log import BadRecord, parse_event_bytes

    good = json.dumps({"id": "a", "data": {"instances": [{"c": "café"}]}}, ensure_ascii=False)
    latin1 = b'{"id": "b", "data": {"instances": [{"c": "caf\xe9"}]}}'
    data = "\ufeff".encode() + good.encode() + b"\n" + latin1 + b"\nnot json\n" + good.encode()
    records = parse_event_bytes(data)
    assert records is not None and len(records) == 4
    assert records[0] == records[3] == json.loads(good)
    assert isinstance(records[1], BadRecord) and records[1].reason.startswith(
        "not UTF-8 text (first bad byte in the file: line 2, byte 0xE9"
    )
    assert records[2] == BadRecord("not JSON")
    # An array file with a bad byte inside one event: only that event is lost.
    array = b"[" + good.encode() + b"," + latin1 + b"]"
    both = parse_event_bytes(array)
    assert both is not None and both[0] == json.loads(good) and isinstance(both[1], BadRecord)
    assert parse_event_bytes(b"\xff\xfe not json at all") is None
