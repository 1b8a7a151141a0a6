"""components._shared.tables on the real Telco CSV and small real files, locally and on gs://."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components._shared import io, tables
from components._shared.errors import DataError, DataReadError
from tests.fixtures.user_files import decimal_comma


@pytest.fixture(scope="module")
def telco_frame(telco_csv: Path) -> pd.DataFrame:
    return tables.read_table(str(telco_csv))


def _typed_frame() -> pd.DataFrame:
    """A frame with the dtypes validate writes (nullable integers and booleans, datetimes)."""
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", None],
            "tenure": pd.array([1, None, 72], dtype="Int64"),
            "monthly": [29.85, np.nan, 104.8],
            "paperless": pd.array([True, None, False], dtype="boolean"),
            "signed_up": pd.Series(
                ["2020-01-01", None, "2024-02-29 13:45"], dtype="datetime64[ns]"
            ),
            "churn": ["No", "Yes", "No"],
        },
        index=[10, 20, 30],
    )


# --------------------------------------------------------------------------------------------
# reading the real dataset


def test_telco_csv_reads_with_its_real_types(telco_frame: pd.DataFrame) -> None:
    frame = telco_frame
    assert frame.shape == (7043, 21)
    assert frame["customerID"].dtype == object
    assert frame["customerID"].iloc[0] == "7590-VHVEG"
    assert frame["tenure"].dtype == np.int64
    assert frame["SeniorCitizen"].dtype == np.int64
    assert frame["MonthlyCharges"].dtype == np.float64
    # 11 blank-space cells keep TotalCharges text; validate counts and coerces them itself.
    assert frame["TotalCharges"].dtype == object
    assert (frame["TotalCharges"] == " ").sum() == 11
    assert frame["TotalCharges"].isna().sum() == 0
    assert set(frame["Churn"]) == {"Yes", "No"}
    assert not any(isinstance(dtype, pd.ArrowDtype) for dtype in frame.dtypes)


def test_telco_csv_from_gcs_and_gzip_reads_the_same(
    telco_csv: Path, telco_frame: pd.DataFrame, gcs_bucket: str, tmp_path: Path
) -> None:
    uri = f"{gcs_bucket}/raw/Telco-Customer-Churn.csv"
    io.write_bytes(uri, telco_csv.read_bytes())
    pd.testing.assert_frame_equal(tables.read_table(uri), telco_frame)

    gzipped = tmp_path / "telco.csv.gz"
    gzipped.write_bytes(gzip.compress(telco_csv.read_bytes()))
    pd.testing.assert_frame_equal(tables.read_table(str(gzipped)), telco_frame)


def test_sha256_uri_local_and_gcs(telco_csv: Path, gcs_bucket: str) -> None:
    expected = hashlib.sha256(telco_csv.read_bytes()).hexdigest()
    assert tables.sha256_uri(str(telco_csv)) == expected
    io.write_bytes(f"{gcs_bucket}/t.csv", telco_csv.read_bytes())
    assert tables.sha256_uri(f"{gcs_bucket}/t.csv") == expected


def test_sha256_uri_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match=r"absent\.csv': not found"):
        tables.sha256_uri(str(tmp_path / "absent.csv"))


# --------------------------------------------------------------------------------------------
# CSV parsing rules


def test_csv_null_tokens_and_inferred_types(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_text(
        "id,count,amount,flag,when,note\n"
        "a,1,1.5,true,2024-01-02,NA\n"
        "b,?,2,false,2024-01-03 10:30:00, \n"
        "c,3,NaN,,,N/A\n"
    )
    frame = tables.read_table(str(path))
    assert frame["id"].tolist() == ["a", "b", "c"]
    assert frame["count"].dtype == np.float64  # int64 with a null
    assert frame["count"].isna().tolist() == [False, True, False]
    assert frame["amount"].dtype == np.float64
    assert frame["flag"].tolist() == [True, False, None]
    assert frame["when"].dtype == "datetime64[ns]"
    assert frame["when"].iloc[1] == pd.Timestamp("2024-01-03 10:30")
    # A single space is data, not null.
    assert frame["note"].tolist() == [None, " ", None]

    raw = tables.read_table(str(path), null_tokens=())
    assert raw["note"].tolist() == ["NA", " ", "N/A"]
    assert raw["count"].tolist() == ["1", "?", "3"]


def test_late_text_keeps_a_numeric_column_text(tmp_path: Path) -> None:
    # Far beyond pyarrow's first block: inference must cover the whole file.
    path = tmp_path / "late.csv"
    rows = "".join(f"{i},{i}.5\n" for i in range(300_000))
    path.write_text("code,value\n" + rows + "X12,not a number\n")
    frame = tables.read_table(str(path))
    assert len(frame) == 300_001
    assert frame["code"].dtype == object
    assert frame["code"].iloc[-1] == "X12"
    assert frame["value"].dtype == object


def test_quoted_newlines_in_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    rows = "".join(f'{i},"line one\nline two {i}"\n' for i in range(100_000))
    path.write_text("id,note\n" + rows)
    frame = tables.read_table(str(path))
    assert len(frame) == 100_000
    assert frame["note"].iloc[-1] == "line one\nline two 99999"


def test_csv_parse_error_names_uri_and_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000 + "3,4,5\n")
    with pytest.raises(DataReadError) as caught:
        tables.read_table(str(path))
    message = str(caught.value)
    assert "ragged.csv' is not a readable CSV file" in message
    assert "Row #1002" in message
    assert "Expected 2 columns, got 3" in message


# --------------------------------------------------------------------------------------------
# Parquet


def test_parquet_round_trip_local_keeps_types_and_drops_index(tmp_path: Path) -> None:
    frame = _typed_frame()
    uri = str(tmp_path / "out" / "dataset.parquet")
    tables.write_parquet(frame, uri)
    back = tables.read_table(uri)
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True))
    assert list(back.columns) == list(frame.columns)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["dataset.parquet"]


def test_parquet_round_trip_gcs(gcs_bucket: str) -> None:
    frame = _typed_frame()
    uri = f"{gcs_bucket}/validate/dataset.parquet"
    tables.write_parquet(frame, uri)
    pd.testing.assert_frame_equal(tables.read_table(uri), frame.reset_index(drop=True))


def test_format_without_extension_is_found_by_magic_bytes(tmp_path: Path) -> None:
    # KFP artifact paths have no extension.
    frame = _typed_frame()
    tables.write_parquet(frame, str(tmp_path / "dataset"))
    pd.testing.assert_frame_equal(
        tables.read_table(str(tmp_path / "dataset")), frame.reset_index(drop=True)
    )
    (tmp_path / "raw").write_text("a,b\n1,x\n")
    assert tables.read_table(str(tmp_path / "raw")).to_dict("list") == {"a": [1], "b": ["x"]}


def test_failed_parquet_write_keeps_the_old_file(tmp_path: Path) -> None:
    uri = str(tmp_path / "dataset.parquet")
    tables.write_parquet(_typed_frame(), uri)
    before = (tmp_path / "dataset.parquet").read_bytes()
    mixed = pd.DataFrame({"bad": [1, "two", 3.0]})  # no single Parquet type fits
    with pytest.raises(DataError, match=r"cannot write '.*dataset\.parquet' as Parquet"):
        tables.write_parquet(mixed, uri)
    assert (tmp_path / "dataset.parquet").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["dataset.parquet"]


# --------------------------------------------------------------------------------------------
# errors, each naming the URI


def test_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match=r"cannot read '.*absent\.csv': not found"):
        tables.read_table(str(tmp_path / "absent.csv"))


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match="is a directory, expected a table file"):
        tables.read_table(str(tmp_path))


def test_missing_gcs_object_and_bucket(gcs_bucket: str) -> None:
    with pytest.raises(DataReadError, match=r"absent\.csv': not found \(no such object\)"):
        tables.read_table(f"{gcs_bucket}/absent.csv")
    with pytest.raises(DataReadError, match="bucket 'kfp-tabular-no-such-bucket' does not exist"):
        tables.read_table("gs://kfp-tabular-no-such-bucket/data.csv")


def test_empty_file_local_and_gcs(tmp_path: Path, gcs_bucket: str) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    expected = "is empty: expected a header row and data rows"
    with pytest.raises(DataError, match=rf"empty\.csv' {expected}") as caught:
        tables.read_table(str(tmp_path / "empty.csv"))
    assert not isinstance(caught.value, DataReadError)
    io.write_bytes(f"{gcs_bucket}/empty.parquet", b"")
    with pytest.raises(DataError, match=rf"empty\.parquet' {expected}"):
        tables.read_table(f"{gcs_bucket}/empty.parquet")
    (tmp_path / "empty.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match=expected):
        tables.read_table(str(tmp_path / "empty.csv.gz"))


def test_header_only_csv(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("customerID,tenure,Churn\n")
    with pytest.raises(DataError, match=r"header\.csv' has a header but no data rows"):
        tables.read_table(str(tmp_path / "header.csv"))


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(DataReadError, match=r"x\.parquet' is not a readable Parquet file: .+"):
        tables.read_table(str(path))


def test_zero_row_parquet(tmp_path: Path, gcs_bucket: str) -> None:
    empty = _typed_frame().iloc[:0]
    tables.write_parquet(empty, str(tmp_path / "none.parquet"))
    with pytest.raises(DataError, match=r"none\.parquet' has a schema \(6 columns\) but no data"):
        tables.read_table(str(tmp_path / "none.parquet"))
    tables.write_parquet(empty, f"{gcs_bucket}/none")
    with pytest.raises(DataError, match="no data rows"):
        tables.read_table(f"{gcs_bucket}/none")


# --------------------------------------------------------------------------------------------
# encodings and delimiters (issue 13): the Telco CSV re-written as other people's files are


def _european_telco(telco_csv: Path) -> str:
    """Telco as text with accented category values (what makes an encoding matter)."""
    frame = pd.read_csv(telco_csv, dtype=str, keep_default_na=False)
    frame["PaymentMethod"] = frame["PaymentMethod"].replace(
        {"Electronic check": "Chèque électronique", "Mailed check": "Chèque postal"}
    )
    return frame.to_csv(index=False)


def _no_bytes(frame: pd.DataFrame) -> None:
    for name in frame.columns:
        assert not any(isinstance(v, bytes) for v in frame[name].tolist()), name


def test_latin1_semicolon_telco_reads_like_utf8_comma(telco_csv: Path, tmp_path: Path) -> None:
    text = _european_telco(telco_csv)
    (tmp_path / "utf8.csv").write_text(text, encoding="utf-8")
    semicolons = text.replace(",", ";")  # Telco values hold no commas
    (tmp_path / "latin1.csv").write_bytes(semicolons.encode("latin-1"))
    reference = tables.read_table(str(tmp_path / "utf8.csv"))
    frame, found = tables.read_table_format(str(tmp_path / "latin1.csv"))
    pd.testing.assert_frame_equal(frame, reference)
    _no_bytes(frame)
    assert "Chèque électronique" in set(frame["PaymentMethod"])
    assert (found.kind, found.encoding, found.encoding_detected) == ("csv", "cp1252", True)
    assert (found.delimiter, found.delimiter_detected) == (";", True)
    assert found.null_tokens == tables.DEFAULT_NULL_TOKENS
    assert "not UTF-8 (first at line 2, byte 0xE8" in found.note and "read as cp1252" in found.note
    assert found.describe() == "CSV, cp1252 (detected), semicolon ';' (sniffed)"


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16")]
)
def test_byte_order_mark_names_the_encoding(
    telco_csv: Path, tmp_path: Path, encoding: str, expected: str
) -> None:
    text = _european_telco(telco_csv)
    path = tmp_path / "bom.csv"
    path.write_bytes(text.replace(",", "\t").encode(encoding))
    frame, found = tables.read_table_format(str(path))
    assert next(iter(frame.columns)) == "customerID"  # no BOM glued to the first name
    assert (found.encoding, found.delimiter) == (expected, "\t")
    assert "Chèque postal" in set(frame["PaymentMethod"])


def test_cp1252_only_byte_falls_back_to_latin1_and_gzip_is_decoded(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252: only latin-1 decodes it (as a control character).
    path = tmp_path / "odd.csv.gz"
    path.write_bytes(gzip.compress("a|b\n1|caf\xe9\n2|x\x81\n".encode("latin-1")))
    frame, found = tables.read_table_format(str(path))
    assert (found.encoding, found.delimiter) == ("latin-1", "|")
    assert frame["b"].tolist() == ["café", "x\x81"]
    (tmp_path / "euro.csv").write_bytes("a,b\n1,5 \x80\n".encode("latin-1"))
    euro, found = tables.read_table_format(str(tmp_path / "euro.csv"))
    assert found.encoding == "cp1252" and euro["b"].tolist() == ["5 €"]


def test_declared_encoding_that_does_not_decode_names_line_and_byte(
    telco_csv: Path, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(_european_telco(telco_csv).encode("latin-1"))
    with pytest.raises(DataReadError) as caught:
        tables.read_table(str(path), encoding="utf-8")
    message = str(caught.value)
    assert "latin1.csv' is not utf-8 text (declared): line 2, byte 0xE8" in message
    assert "file offset 353" in message and "encoding parameter" in message
    declared = tables.read_table_format(str(path), encoding="latin-1")
    assert declared[1].encoding == "iso8859-1" and not declared[1].encoding_detected
    assert "Chèque électronique" in set(declared[0]["PaymentMethod"])


def test_bad_encoding_and_delimiter_values_are_config_errors(tmp_path: Path) -> None:
    from components._shared.errors import ConfigError

    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"encoding: expected a Python codec name.*'klingon'"):
        tables.read_table(str(path), encoding="klingon")
    with pytest.raises(ConfigError, match=r"delimiter: expected one character.*';;'"):
        tables.read_table(str(path), delimiter=";;")
    assert tables.read_table(str(path), delimiter="comma").to_dict("list") == {"a": [1], "b": [2]}


def test_wrong_declared_delimiter_gives_a_hint(telco_csv: Path, tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text(_european_telco(telco_csv).replace(",", ";"))
    frame, found = tables.read_table_format(str(path), delimiter=",")
    assert frame.shape == (7043, 1)
    assert "whose name holds semicolon ';'" in found.hint
    assert "set delimiter=';'" in found.hint
    assert tables.read_table_format(str(telco_csv))[1].hint == ""


def test_decimal_comma_telco_reads_like_the_original(telco_csv: Path, tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text(decimal_comma(telco_csv.read_text()))
    assert "29,85;29,85;No" in path.read_text()  # MonthlyCharges and TotalCharges (text: blanks)
    frame, found = tables.read_table_format(str(path))
    pd.testing.assert_frame_equal(frame, tables.read_table(str(telco_csv)))
    assert (found.decimal, found.decimal_detected) == (",", True)
    assert found.describe() == (
        "CSV, utf-8 (detected), semicolon ';' (sniffed), decimal comma (detected)"
    )
    # Declared: the same; a point declared leaves the numbers as text, as written.
    declared = tables.read_table_format(str(path), decimal="comma")
    assert declared[1].decimal == "," and not declared[1].decimal_detected
    assert tables.read_table(str(path), decimal=".")["MonthlyCharges"].iloc[0] == "29,85"


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("a;b\n1,5;x\n2;y\n", ","),  # a comma between digits in a ;-file
        ("a;b\n1,5;x\n2.5;y\n", "."),  # a point number anywhere: not a decimal-comma file
        ("a;b\n1,5;x,y\n", ","),  # "x,y" is text, not a number: the column stays text
        ("a,b\n1,5\n", "."),  # comma-separated: a comma is a delimiter
        ("a\tb\n1\t2\n", "."),  # integers only
    ],
)
def test_decimal_comma_detection(tmp_path: Path, text: str, decimal: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text)
    assert tables.read_table_format(str(path))[1].decimal == decimal


def test_decimal_comma_only_rewrites_all_number_text_columns(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("n;t;code;m\n1,5;2,5 kg;1,25;\n2;3,1;1,50; \n;x;1,75;4,5\n")
    frame = tables.read_table(str(path), text_columns=["code"])
    assert frame["n"].tolist()[:2] == [1.5, 2.0] and np.isnan(frame["n"].iloc[2])
    assert frame["t"].tolist() == ["2,5 kg", "3,1", "x"]  # not every value is a number
    assert frame["code"].tolist() == ["1,25", "1,50", "1,75"]  # declared text: as written
    assert frame["m"].tolist() == [None, " ", "4.5"]  # numbers as text (a blank): pointed


def test_bad_decimal_value_is_a_config_error(tmp_path: Path) -> None:
    from components._shared.errors import ConfigError

    path = tmp_path / "x.csv"
    path.write_text("a;b\n1,5;2\n")
    with pytest.raises(ConfigError, match=r"decimal: expected \"\.\" or \",\".*'·'"):
        tables.read_table(str(path), decimal="·")


def test_text_columns_keep_codes_as_written(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("zip,level,y\n02134,1,a\n10001,2,b\n")
    frame = tables.read_table(str(path), text_columns=["zip", "level", "absent"])
    assert frame["zip"].tolist() == ["02134", "10001"]
    assert frame["level"].tolist() == ["1", "2"]
    assert tables.read_table(str(path))["zip"].tolist() == [2134, 10001]


def test_parquet_binary_columns_are_text_or_an_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = pa.table({"name": pa.array(["café".encode(), None], pa.binary()), "x": [1, 2]})
    pq.write_table(good, tmp_path / "good.parquet")
    assert tables.read_table(str(tmp_path / "good.parquet"))["name"].tolist() == ["café", None]
    bad = pa.table({"name": pa.array([b"ok", b"caf\xe9"], pa.binary())})
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(
        DataReadError, match=r"column 'name' holds bytes that are not UTF-8 text \(row 2"
    ):
        tables.read_table(str(tmp_path / "bad.parquet"))
