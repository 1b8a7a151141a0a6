"""components._shared.io on real local files and on gs:// through a real gcp-storage-emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components._shared import io
from components._shared.errors import DataReadError

TREE = {
    "manifest.json": b'{"bundle_format": 1}\n',
    "model/booster.ubj": bytes(range(256)) * 4,
    "model/deep/nested/notes.md": "# café ✓\n".encode(),
    "profile.json": b"{}\n",
}


def _make_tree(root: Path) -> Path:
    for name, data in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _leftovers(directory: Path) -> list[str]:
    """Temporary files an interrupted atomic write would leave behind."""
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------
# local


def test_local_round_trips_bytes_text_and_json(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "blob.bin"
    io.write_bytes(str(target), b"\x00\x01payload")
    assert io.read_bytes(str(target)) == b"\x00\x01payload"

    io.write_text(f"file://{tmp_path}/note.txt", "héllo\n")
    assert io.read_text(str(tmp_path / "note.txt")) == "héllo\n"

    record = {"rows": 7043, "columns": ["a", "b"], "ratio": 0.265}
    io.write_json(str(tmp_path / "r.json"), record)
    assert io.read_json(str(tmp_path / "r.json")) == record
    assert json.loads((tmp_path / "r.json").read_text()) == record
    assert _leftovers(tmp_path) == []


def test_local_missing_file_is_a_data_read_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    with pytest.raises(DataReadError, match=r"cannot read '.*nope\.json': not found"):
        io.read_bytes(missing)
    with pytest.raises(DataReadError, match=r"nope\.json"):
        io.read_json(missing)


def test_local_bad_json_and_bad_utf8_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataReadError, match=r"bad\.json' is not valid JSON"):
        io.read_json(str(tmp_path / "bad.json"))
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(DataReadError, match=r"latin1\.txt' is not UTF-8 text"):
        io.read_text(str(tmp_path / "latin1.txt"))


def test_failed_local_write_leaves_old_content_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "model.json"
    target.write_bytes(b"old")
    # Fails while the temporary file is being written, after it was created.
    with pytest.raises(TypeError):
        io.write_bytes(str(target), "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_failed_local_rename_leaves_target_and_no_temp_file(tmp_path: Path) -> None:
    # The rename into place fails: the target is a non-empty directory.
    occupied = tmp_path / "occupied"
    (occupied / "inner").mkdir(parents=True)
    with pytest.raises(io.StorageWriteError, match=r"cannot write '.*occupied'"):
        io.write_bytes(str(occupied), b"data")
    assert (occupied / "inner").is_dir()
    assert _leftovers(tmp_path) == []


def test_exists_and_join_locally(tmp_path: Path) -> None:
    io.write_text(io.join(str(tmp_path), "a", "b.txt"), "x")
    assert io.exists(str(tmp_path / "a" / "b.txt"))
    assert io.exists(f"file://{tmp_path}/a")
    assert not io.exists(str(tmp_path / "a" / "c.txt"))
    assert io.join("gs://bucket/", "/runs/", "model.json") == "gs://bucket/runs/model.json"


def test_list_files_locally(tmp_path: Path) -> None:
    _make_tree(tmp_path / "bundle")
    (tmp_path / "bundle-old.json").write_text("{}")
    expected = [str(tmp_path / "bundle" / name) for name in sorted(TREE)]
    assert io.list_files(str(tmp_path / "bundle")) == expected
    # A path that is not a directory is a string prefix, as on gs://.
    assert io.list_files(str(tmp_path / "bundle")[:-2]) == sorted(
        [*expected, str(tmp_path / "bundle-old.json")]
    )
    assert io.list_files(f"file://{tmp_path}/bundle/model/deep") == [
        f"file://{tmp_path}/bundle/model/deep/nested/notes.md"
    ]
    assert io.list_files(str(tmp_path / "absent")) == []


def test_local_copy_of_a_local_path_is_the_path_itself(tmp_path: Path) -> None:
    bundle = _make_tree(tmp_path / "bundle")
    with io.local_copy(str(bundle)) as path:
        assert path == bundle
    with (
        pytest.raises(DataReadError, match=r"absent.*not found"),
        io.local_copy(str(tmp_path / "absent")),
    ):
        pass


def test_local_upload_and_download_dir_copy_whole_trees(tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "src")
    io.upload_dir(source, str(tmp_path / "copy"))
    io.download_dir(str(tmp_path / "copy"), tmp_path / "back")
    assert _read_tree(tmp_path / "back") == TREE


def test_local_only_use_does_not_import_google_cloud_storage(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from components._shared import io, tables\n"
        f"io.write_json({str(tmp_path / 'x.json')!r}, {{'a': 1}})\n"
        f"assert io.read_json({str(tmp_path / 'x.json')!r}) == {{'a': 1}}\n"
        "assert 'google.cloud.storage' not in sys.modules, 'imported google.cloud.storage'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


# --------------------------------------------------------------------------------------------
# gs:// on the emulator


def test_gcs_round_trips_bytes_text_and_json(gcs_bucket: str) -> None:
    uri = f"{gcs_bucket}/runs/1/blob.bin"
    io.write_bytes(uri, b"\x00\x01payload")
    assert io.read_bytes(uri) == b"\x00\x01payload"
    io.write_bytes(uri, b"replaced")
    assert io.read_bytes(uri) == b"replaced"

    io.write_text(f"{gcs_bucket}/note.txt", "héllo\n")
    assert io.read_text(f"{gcs_bucket}/note.txt") == "héllo\n"

    record = {"rows": 7043, "nested": {"a": [1, 2.5, None]}}
    io.write_json(f"{gcs_bucket}/r.json", record)
    assert io.read_json(f"{gcs_bucket}/r.json") == record


def test_upload_file_streams_a_large_file_to_gcs_and_locally(
    gcs_bucket: str, tmp_path: Path
) -> None:
    # Over google-cloud-storage's 8 MiB threshold: a resumable, chunked upload from the file.
    data = os.urandom(9 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    io.upload_file(source, f"{gcs_bucket}/big/part.bin")
    assert io.read_bytes(f"{gcs_bucket}/big/part.bin") == data
    io.upload_file(source, str(tmp_path / "copy" / "part.bin"))
    assert (tmp_path / "copy" / "part.bin").read_bytes() == data
    with pytest.raises(io.StorageWriteError, match="expected gs://<bucket>/<object>"):
        io.upload_file(source, f"{gcs_bucket}/big/")


def test_gcs_missing_object_and_missing_bucket_are_told_apart(gcs_bucket: str) -> None:
    with pytest.raises(DataReadError) as missing_object:
        io.read_bytes(f"{gcs_bucket}/absent.json")
    assert str(missing_object.value) == (
        f"cannot read '{gcs_bucket}/absent.json': not found (no such object)"
    )
    with pytest.raises(DataReadError) as missing_bucket:
        io.read_json("gs://kfp-tabular-no-such-bucket/model.json")
    assert str(missing_bucket.value) == (
        "cannot read 'gs://kfp-tabular-no-such-bucket/model.json': "
        "bucket 'kfp-tabular-no-such-bucket' does not exist"
    )


def test_gcs_write_to_missing_bucket_fails_and_names_it(gcs_emulator: str) -> None:
    with pytest.raises(io.StorageWriteError, match="bucket 'kfp-tabular-absent' does not exist"):
        io.write_bytes("gs://kfp-tabular-absent/x.bin", b"data")


def test_gcs_uri_without_object_is_refused(gcs_bucket: str) -> None:
    with pytest.raises(DataReadError, match="names a bucket or folder"):
        io.read_bytes(gcs_bucket + "/")
    with pytest.raises(DataReadError, match="not a valid gs:// URI"):
        io.read_bytes("gs:///key")


def test_gcs_exists(gcs_bucket: str) -> None:
    io.write_bytes(f"{gcs_bucket}/bundle/manifest.json", b"{}")
    assert io.exists(f"{gcs_bucket}/bundle/manifest.json")
    assert io.exists(f"{gcs_bucket}/bundle")  # a folder with objects under it
    assert io.exists(f"{gcs_bucket}/bundle/")
    assert io.exists(gcs_bucket)
    assert not io.exists(f"{gcs_bucket}/bundle/model.ubj")
    assert not io.exists(f"{gcs_bucket}/bund")  # a name prefix is not a folder
    assert not io.exists("gs://kfp-tabular-no-such-bucket/x")
    assert not io.exists("gs://kfp-tabular-no-such-bucket")


def test_gcs_list_files(gcs_bucket: str) -> None:
    for name in ["b/2.txt", "a/1.txt", "a/sub/3.txt", "ab.txt"]:
        io.write_bytes(f"{gcs_bucket}/{name}", b"x")
    assert io.list_files(gcs_bucket) == [
        f"{gcs_bucket}/{n}" for n in ["a/1.txt", "a/sub/3.txt", "ab.txt", "b/2.txt"]
    ]
    assert io.list_files(f"{gcs_bucket}/a/") == [
        f"{gcs_bucket}/a/1.txt",
        f"{gcs_bucket}/a/sub/3.txt",
    ]
    assert io.list_files(f"{gcs_bucket}/a") == [
        f"{gcs_bucket}/a/1.txt",
        f"{gcs_bucket}/a/sub/3.txt",
        f"{gcs_bucket}/ab.txt",
    ]
    assert io.list_files(f"{gcs_bucket}/zzz") == []
    with pytest.raises(DataReadError, match="bucket 'kfp-tabular-no-such-bucket' does not exist"):
        io.list_files("gs://kfp-tabular-no-such-bucket/runs/")


def test_gcs_directory_round_trip(gcs_bucket: str, tmp_path: Path) -> None:
    source = _make_tree(tmp_path / "bundle")
    uri = f"{gcs_bucket}/models/churn/v1"
    io.upload_dir(source, uri)
    assert io.list_files(uri) == [f"{uri}/{name}" for name in sorted(TREE)]

    io.download_dir(uri, tmp_path / "downloaded")
    assert _read_tree(tmp_path / "downloaded") == TREE

    with io.local_copy(uri) as copy:
        assert copy.is_dir()
        assert _read_tree(copy) == TREE
    assert not copy.exists()  # the temporary download is removed afterwards

    with io.local_copy(f"{uri}/model/booster.ubj") as file_copy:
        assert file_copy.name == "booster.ubj"
        assert file_copy.read_bytes() == TREE["model/booster.ubj"]
    assert not file_copy.exists()


def test_gcs_missing_folder_is_a_data_read_error(gcs_bucket: str, tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match=r"cannot download '.*/absent': not found"):
        io.download_dir(f"{gcs_bucket}/absent", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataReadError, match="absent"), io.local_copy(f"{gcs_bucket}/absent"):
        pass
    missing_bucket = "bucket 'kfp-tabular-no-such-bucket' does not exist"
    with (
        pytest.raises(DataReadError, match=missing_bucket),
        io.local_copy("gs://kfp-tabular-no-such-bucket/model"),
    ):
        pass


def test_gcs_client_is_cached_and_follows_the_emulator_host(
    gcs_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = io._client()
    assert io._client() is first
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.replace("localhost", "127.0.0.1"))
    assert io._client() is not first
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    io.reset_client()
    assert io._client() is not first
