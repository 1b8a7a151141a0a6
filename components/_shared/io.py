"""Read and write local paths and gs:// URIs with one API.

Local paths and ``file://`` URIs use the file system; ``gs://bucket/key`` uses
google-cloud-storage (which honours ``STORAGE_EMULATOR_HOST``, so tests run against a local
gcp-storage-emulator). Writes are atomic: a local file is written beside its target and renamed;
a GCS object is uploaded whole in one request, so readers never see a partial object.

Every failure to read raises :class:`~components._shared.errors.DataReadError` and every failure
to write raises :class:`StorageWriteError`; both name the URI and the reason (not found,
permission denied, bucket missing, ...), never only a library traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from components._shared.artifacts import atomic_dir, atomic_file
from components._shared.errors import DataReadError, KfpTabularError

if TYPE_CHECKING:
    from google.cloud import storage

GCS_SCHEME = "gs://"
FILE_SCHEME = "file://"
EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
# The emulator ignores the project, but google-cloud-storage wants one to build a client.
DEFAULT_EMULATOR_PROJECT = "kfp-tabular-local"

_T = TypeVar("_T")


class StorageWriteError(KfpTabularError):
    """A URI could not be written (permission denied, bucket missing, ...)."""


# --------------------------------------------------------------------------------------------
# URIs


def is_gcs(uri: str) -> bool:
    """True for ``gs://bucket/key`` URIs."""
    return uri.startswith(GCS_SCHEME)


def local_path(uri: str) -> Path:
    """The file-system path of a local path or ``file://`` URI (for writers that need a path)."""
    if is_gcs(uri):
        raise ValueError(f"{uri!r} is a gs:// URI, not a local path")
    return Path(uri[len(FILE_SCHEME) :] if uri.startswith(FILE_SCHEME) else uri)


def _split_gcs(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``; the key may be empty."""
    bucket, _, key = uri[len(GCS_SCHEME) :].partition("/")
    if not bucket:
        raise DataReadError(f"{uri!r} is not a valid gs:// URI: expected gs://<bucket>/<object>")
    return bucket, key


def join(base: str, *parts: str) -> str:
    """Join URI parts with '/' (works for gs:// and local paths)."""
    if is_gcs(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.join(base, *parts)


# --------------------------------------------------------------------------------------------
# The GCS client and its errors

_client_lock = threading.Lock()
# (emulator host the client was made for, client): a test that points STORAGE_EMULATOR_HOST
# elsewhere gets a new client instead of one still talking to the old endpoint.
_client_cache: tuple[str | None, storage.Client] | None = None


def reset_client() -> None:
    """Forget the cached GCS client; the next gs:// call makes a new one from the environment."""
    global _client_cache
    with _client_lock:
        _client_cache = None


def _client() -> storage.Client:
    """The one GCS client of this process, made on first use.

    google-cloud-storage is imported here, not at module level, so that steps working only on
    local paths do not pay its import time.
    """
    global _client_cache
    emulator = os.environ.get(EMULATOR_ENV) or None
    with _client_lock:
        if _client_cache is not None and _client_cache[0] == emulator:
            return _client_cache[1]
        from google.auth.credentials import AnonymousCredentials
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import storage

        try:
            if emulator:
                project = os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_EMULATOR_PROJECT
                client = storage.Client(project=project, credentials=AnonymousCredentials())
            else:
                client = _production_client(storage.Client)
        except DefaultCredentialsError as exc:
            raise DataReadError(
                "cannot access gs://: no Google Cloud credentials found (use Workload Identity "
                f"or set GOOGLE_APPLICATION_CREDENTIALS): {exc}"
            ) from None
        _client_cache = (emulator, client)
        return client


def _production_client(make: Callable[..., storage.Client]) -> storage.Client:
    """A client with the default credentials (Workload Identity, GOOGLE_APPLICATION_CREDENTIALS)."""
    try:
        return make()
    except OSError as exc:
        # Object reads and writes need no project; only an undeterminable one fails here.
        if "Project" not in str(exc):
            raise
        return make(project=None)


def _gcs_reason(exc: Exception, bucket: str) -> str:
    """A short human reason for a google-cloud-storage failure on ``bucket``."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.NotFound):
        return _not_found_reason(bucket)
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized):
        return (
            "permission denied (the service account needs storage.objects access on bucket "
            f"{bucket!r}): {_api_message(exc)}"
        )
    if isinstance(exc, gexc.GoogleAPICallError):
        return f"storage error {exc.code}: {_api_message(exc)}"
    # Transport failures (emulator or network down) arrive from requests / google-auth.
    return f"cannot reach Cloud Storage: {type(exc).__name__}: {exc}"


def _not_found_reason(bucket: str) -> str:
    """Distinguish a missing bucket from a missing object, which GCS both report as 404."""
    try:
        bucket_exists = _client().bucket(bucket).exists()
    except Exception:
        bucket_exists = True  # cannot tell; report the object as missing
    return "not found (no such object)" if bucket_exists else f"bucket {bucket!r} does not exist"


def _api_message(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else str(exc)


def _is_gcs_failure(exc: Exception) -> bool:
    """Whether ``exc`` is a storage failure to translate (not a bug in the calling code)."""
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import GoogleAuthError
    from requests.exceptions import RequestException

    return isinstance(exc, GoogleAPICallError | GoogleAuthError | RequestException)


def _gcs_call(action: str, uri: str, error: type[KfpTabularError], call: Callable[[], _T]) -> _T:
    """Run one GCS call; translate its failure into ``error`` naming ``uri`` and the reason."""
    try:
        return call()
    except Exception as exc:
        if not _is_gcs_failure(exc):
            raise
        bucket, _ = _split_gcs(uri)
        raise error(f"cannot {action} {uri!r}: {_gcs_reason(exc, bucket)}") from None


def _blob(uri: str) -> storage.Blob:
    bucket, key = _split_gcs(uri)
    if not key or key.endswith("/"):
        raise DataReadError(f"{uri!r} names a bucket or folder, expected an object")
    return _client().bucket(bucket).blob(key)


def _local_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "not found (no such file or directory)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, expected a file"
    return exc.strerror or str(exc)


def _raise_local(action: str, uri: str, exc: OSError, error: type[KfpTabularError]) -> NoReturn:
    raise error(f"cannot {action} {uri!r}: {_local_reason(exc)}") from None


# --------------------------------------------------------------------------------------------
# Single files / objects


def read_bytes(uri: str) -> bytes:
    """The whole content at ``uri``; DataReadError naming the URI when it cannot be read."""
    if is_gcs(uri):
        blob = _blob(uri)
        return _gcs_call("read", uri, DataReadError, blob.download_as_bytes)
    try:
        return local_path(uri).read_bytes()
    except OSError as exc:
        _raise_local("read", uri, exc, DataReadError)


def write_bytes(uri: str, data: bytes) -> None:
    """Write ``data`` to ``uri`` atomically (parents created for local paths).

    Locally the data goes to a temporary file beside the target, renamed into place only when
    complete; on gs:// it is one upload, and GCS makes an object visible only once it is whole.
    """
    if is_gcs(uri):
        bucket, key = _split_gcs(uri)
        if not key or key.endswith("/"):
            raise StorageWriteError(f"cannot write {uri!r}: expected gs://<bucket>/<object>")
        blob = _client().bucket(bucket).blob(key)
        _gcs_call("write", uri, StorageWriteError, lambda: blob.upload_from_string(data))
        return
    try:
        with atomic_file(local_path(uri)) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        _raise_local("write", uri, exc, StorageWriteError)


def upload_file(path: str | os.PathLike[str], uri: str) -> None:
    """Copy the local file ``path`` to ``uri`` without holding it in memory.

    On gs:// the object is streamed from the file (a resumable upload for large files) and
    becomes visible only once whole; a local target is written beside and renamed into place.
    """
    source = Path(path)
    if not is_gcs(uri):
        _copy_local_file(source, uri)
        return
    bucket, key = _split_gcs(uri)
    if not key or key.endswith("/"):
        raise StorageWriteError(f"cannot write {uri!r}: expected gs://<bucket>/<object>")
    blob = _client().bucket(bucket).blob(key)
    _gcs_call("write", uri, StorageWriteError, lambda: blob.upload_from_filename(str(source)))


def _copy_local_file(source: Path, uri: str) -> None:
    try:
        with atomic_file(local_path(uri)) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as exc:
        _raise_local("write", uri, exc, StorageWriteError)


def read_text(uri: str) -> str:
    """UTF-8 text at ``uri``."""
    try:
        return read_bytes(uri).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataReadError(f"{uri!r} is not UTF-8 text: {exc}") from None


def write_text(uri: str, text: str) -> None:
    """Write UTF-8 ``text`` to ``uri`` atomically."""
    write_bytes(uri, text.encode("utf-8"))


def read_json(uri: str) -> Any:
    """Parsed JSON at ``uri``; DataReadError naming the URI when it is not JSON."""
    try:
        return json.loads(read_text(uri))
    except json.JSONDecodeError as exc:
        raise DataReadError(f"{uri!r} is not valid JSON: {exc}") from None


def write_json(uri: str, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``uri`` atomically."""
    write_text(uri, json.dumps(obj, indent=2) + "\n")


def exists(uri: str) -> bool:
    """Whether a file or directory (for gs://, an object or a non-empty folder) exists at ``uri``.

    ``gs://bucket`` alone asks whether the bucket exists. A missing bucket is simply False.
    """
    if not is_gcs(uri):
        return local_path(uri).exists()
    bucket, key = _split_gcs(uri)
    if not key:
        return _gcs_call("check", uri, DataReadError, _client().bucket(bucket).exists)
    if not key.endswith("/") and _object_exists(uri):
        return True
    return bool(_list_gcs(uri, key.rstrip("/") + "/", max_results=1, missing_bucket_ok=True))


def _object_exists(uri: str) -> bool:
    """Whether the gs:// object (not folder) ``uri`` exists; a missing bucket is False."""
    bucket, key = _split_gcs(uri)
    blob = _client().bucket(bucket).blob(key)
    return _gcs_call("check", uri, DataReadError, blob.exists)


# --------------------------------------------------------------------------------------------
# Listings and directories


def _list_gcs(
    uri: str, prefix: str, *, max_results: int | None = None, missing_bucket_ok: bool = False
) -> list[str]:
    """Object names (not URIs) under ``prefix`` in the bucket of ``uri``, folder markers left out."""
    from google.api_core.exceptions import NotFound

    bucket, _ = _split_gcs(uri)

    def names() -> list[str]:
        blobs = _client().list_blobs(bucket, prefix=prefix or None, max_results=max_results)
        # Consoles create zero-byte "folder/" objects; they are not files.
        return [b.name for b in blobs if not b.name.endswith("/")]

    try:
        return names()
    except NotFound:
        if missing_bucket_ok:
            return []
        raise DataReadError(f"cannot list {uri!r}: bucket {bucket!r} does not exist") from None
    except Exception as exc:
        if not _is_gcs_failure(exc):
            raise
        raise DataReadError(f"cannot list {uri!r}: {_gcs_reason(exc, bucket)}") from None


def list_files(prefix_uri: str) -> list[str]:
    """Every file under ``prefix_uri``, as full URIs, sorted.

    On gs:// the prefix is a plain string prefix of object names, as in GCS (end it with '/'
    to list one folder). Locally a directory is listed recursively; any other path lists the
    files (and, recursively, the directories) whose path starts with it. A missing local prefix
    gives an empty list; a missing bucket is a DataReadError.
    """
    if is_gcs(prefix_uri):
        bucket, key = _split_gcs(prefix_uri)
        return sorted(f"{GCS_SCHEME}{bucket}/{name}" for name in _list_gcs(prefix_uri, key))
    scheme = FILE_SCHEME if prefix_uri.startswith(FILE_SCHEME) else ""
    base = local_path(prefix_uri)
    if base.is_dir():
        found = list(_walk_files(base))
    elif base.is_file():
        found = [base]
    else:
        parent = base.parent
        found = []
        if parent.is_dir():
            for entry in parent.iterdir():
                if entry.name.startswith(base.name):
                    found.extend(_walk_files(entry) if entry.is_dir() else [entry])
    return sorted(scheme + str(path) for path in found)


def _walk_files(root: Path) -> Iterator[Path]:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            yield Path(dirpath) / name


def upload_dir(local_dir: str | os.PathLike[str], uri: str) -> None:
    """Copy every file under ``local_dir`` to ``uri``, keeping relative paths.

    A local destination is replaced as a whole, atomically. On gs:// each file is one whole
    upload; GCS has no directory rename, so objects already under ``uri`` that ``local_dir``
    does not hold are left as they are.
    """
    source = Path(local_dir)
    if not source.is_dir():
        raise DataReadError(f"cannot upload {str(source)!r}: not a directory")
    if not is_gcs(uri):
        _copy_local_dir(source, str(source), uri)
        return
    for path in sorted(_walk_files(source)):
        upload_file(path, join(uri, path.relative_to(source).as_posix()))


def download_dir(uri: str, local_dir: str | os.PathLike[str]) -> None:
    """Copy every file under the folder ``uri`` into ``local_dir``, keeping relative paths.

    ``local_dir`` is replaced atomically: a failed download leaves no partial directory.
    DataReadError when nothing is under ``uri``.
    """
    if not is_gcs(uri):
        source = local_path(uri)
        if not source.is_dir():
            raise DataReadError(f"cannot download {uri!r}: not found (no such directory)")
        _copy_local_dir(source, uri, str(local_dir))
        return
    bucket, key = _split_gcs(uri)
    folder = key.rstrip("/") + "/" if key else ""
    names = _list_gcs(uri, folder)
    if not names:
        raise DataReadError(f"cannot download {uri!r}: not found (no objects under it)")
    with atomic_dir(local_dir) as tmp:
        for name in names:
            relative = PurePosixPath(name[len(folder) :])
            # An object name is any string; never let one write outside the target directory.
            if ".." in relative.parts or relative.is_absolute():
                raise DataReadError(f"refusing to download {name!r}: it escapes {uri!r}")
            target = tmp.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            _download_object(f"{GCS_SCHEME}{bucket}/{name}", target)


def _download_object(uri: str, target: Path) -> None:
    blob = _blob(uri)
    _gcs_call("read", uri, DataReadError, lambda: blob.download_to_filename(str(target)))


def _copy_local_dir(source: Path, source_uri: str, target: str) -> None:
    try:
        with atomic_dir(local_path(target)) as tmp:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
    except OSError as exc:
        _raise_local("copy", f"{source_uri} -> {target}", exc, StorageWriteError)


@contextmanager
def local_copy(uri: str) -> Iterator[Path]:
    """A local file or directory holding the content of ``uri``, for libraries that need a path.

    For a local URI this is the path itself (nothing is copied). For gs:// it is a temporary
    download of the object, or of every object under the folder, removed when the block ends.
    DataReadError when nothing exists at ``uri``.
    """
    if not is_gcs(uri):
        path = local_path(uri)
        if not path.exists():
            raise DataReadError(f"cannot read {uri!r}: not found (no such file or directory)")
        yield path
        return
    bucket, key = _split_gcs(uri)
    name = PurePosixPath(key).name or bucket
    with tempfile.TemporaryDirectory(prefix="kfp-tabular-") as tmp:
        target = Path(tmp) / name
        if key and not key.endswith("/") and _object_exists(uri):
            _download_object(uri, target)
        else:
            # No object of that name: a folder. download_dir names a missing bucket or folder.
            download_dir(uri, target)
        yield target
