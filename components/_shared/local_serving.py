"""Local model servers: ``python -m serving`` processes on localhost, started, checked, stopped.

The ``local`` target of deploy and the local rollout run real serving processes instead of a
cluster. They are started *detached* (their own session, stdin closed, output to a log file), so
they outlive the kfp.local task subprocess that started them; their pid, port and URL go into
deploy's deployment record, and :func:`stop_all` (``make stop``) stops them later from those
records. Before killing a pid read from a file, the process's command line is checked to be a
``python -m serving`` on the recorded port: a pid reused by another program is never signalled.

API (the rollout step codes against exactly this)::

    start_server(bundle_dir, *, model_name, port=None, log_path=None, ready_timeout=60.0) -> LocalServer
    stop_server(server_or_pid) -> None
    is_ready(url) -> bool
    free_port() -> int
    stop_all(record_or_dir) -> list[int]      # pids stopped

CLI: ``python -m components._shared.local_serving stop [RECORD_OR_DIR]`` (default
``local_outputs``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from components._shared import keys
from components._shared.errors import KfpTabularError

HOST: Final = "127.0.0.1"
# Seconds a stopped server gets to exit after SIGTERM before SIGKILL.
STOP_GRACE_S: Final = 10.0
# Largest file read while looking for deployment records under a directory.
_MAX_RECORD_BYTES: Final = 1_000_000


class LocalServingError(KfpTabularError):
    """A local server did not start, did not become ready, or cannot be stopped safely."""


@dataclass(frozen=True)
class LocalServer:
    """A started local model server (what a deployment record stores per side)."""

    url: str
    pid: int
    port: int
    model_name: str
    bundle_dir: str
    log_path: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


# Popen objects of the servers started by this process, so stop_server can reap its own
# children (a killed child left unreaped stays a zombie that still "exists" for os.kill).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    """A TCP port on localhost that is free now (the OS picks it; a race is possible but rare)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def is_ready(url: str) -> bool:
    """Whether the server at ``url`` answers ``GET /v2/health/ready`` with 200 (model loaded)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/v2/health/ready", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _log_tail(path: str, lines: int = 30) -> str:
    try:
        return "\n".join(
            Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        )
    except OSError:
        return "(no log)"


def start_server(
    bundle_dir: str,
    *,
    model_name: str,
    port: int | None = None,
    log_path: str | None = None,
    ready_timeout: float = 60.0,
    manifest_sha256: str = "",
) -> LocalServer:
    """Start ``python -m serving`` for a bundle on localhost and wait until it is ready.

    Args:
        bundle_dir: Local bundle directory (sha256-verified by the server when it loads).
        model_name: Model name in the URLs (``/v2/models/<model_name>/infer``).
        port: HTTP port; a free one when None.
        log_path: File receiving the server's stdout and stderr; a temporary file when None.
        ready_timeout: Seconds to wait for ``/v2/health/ready``.
        manifest_sha256: When set, the server refuses a bundle whose manifest has another sha256.

    Returns:
        The running server. It is detached (own session) and outlives this process: stop it
        with :func:`stop_server` or :func:`stop_all`.

    Raises:
        LocalServingError: the bundle directory is missing, the process exited, or it was not
            ready in time (the process is stopped then); the message ends with the log tail.
    """
    if not Path(bundle_dir).is_dir():
        raise LocalServingError(
            f"local server: bundle_dir: expected a directory, got {bundle_dir!r}"
        )
    port = free_port() if port is None else port
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix=f"serving-{model_name}-{port}-", suffix=".log")
        os.close(fd)
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    process = _spawn(bundle_dir, model_name, port, log_path, manifest_sha256)
    server = LocalServer(
        url=f"http://{HOST}:{port}",
        pid=process.pid,
        port=port,
        model_name=model_name,
        bundle_dir=str(bundle_dir),
        log_path=str(log_path),
    )
    _wait_ready(server, process, ready_timeout)
    return server


def _spawn(
    bundle_dir: str, model_name: str, port: int, log_path: str, manifest_sha256: str = ""
) -> subprocess.Popen[bytes]:
    """``python -m serving`` for the bundle, detached, its output appended to ``log_path``."""
    command = [
        sys.executable,
        "-m",
        "serving",
        f"--model_dir={bundle_dir}",
        f"--model_name={model_name}",
        f"--http_port={port}",
        f"--host={HOST}",
        # KServe's parser still binds a gRPC port number; give it a free one even though off.
        f"--grpc_port={free_port()}",
        "--enable_grpc=false",
        *([f"--manifest_sha256={manifest_sha256}"] if manifest_sha256 else []),
    ]
    # One thread per booster: several local servers share this machine's cores.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Own session: no SIGINT/SIGHUP from the starting task's terminal or process group,
            # so the server survives the kfp.local task subprocess that started it.
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[process.pid] = process
    return process


def _wait_ready(server: LocalServer, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once ``server`` answers ready; stop it and raise with its log tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _CHILDREN.pop(process.pid, None)
            raise LocalServingError(
                f"local server for {server.bundle_dir!r} exited with code {process.returncode} "
                f"before it was ready; log {server.log_path}:\n{_log_tail(server.log_path)}"
            )
        if is_ready(server.url):
            return
        time.sleep(0.2)
    stop_server(server)
    raise LocalServingError(
        f"local server for {server.bundle_dir!r} was not ready within {timeout:g}s "
        f"(GET {server.url}/v2/health/ready); stopped it. "
        f"Log {server.log_path}:\n{_log_tail(server.log_path)}"
    )


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    # A zombie still accepts signal 0; /proc tells it apart where there is one.
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        try:
            return "\nState:\tZ" not in status.read_text()
        except OSError:
            return False
    return True


def _command_line(pid: int) -> str | None:
    """The process's command line, or None when it is gone or cannot be read."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            return None
    try:  # macOS and other systems without /proc
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() or None


def is_our_server(pid: int, port: int | None = None) -> bool:
    """Whether ``pid`` runs ``python -m serving`` (on ``port`` when given): safe to signal."""
    command = _command_line(pid)
    if not command or "-m serving" not in command:
        return False
    return port is None or f"--http_port={port}" in command.split()


def stop_server(server_or_pid: LocalServer | int) -> None:
    """Stop a local server: SIGTERM to its session, SIGKILL after a grace period.

    A pid that is already gone is fine (nothing to do). A pid that is alive but not a
    ``python -m serving`` process (a reused pid) is refused with LocalServingError.
    """
    if isinstance(server_or_pid, LocalServer):
        pid, port = server_or_pid.pid, server_or_pid.port
    else:
        pid, port = int(server_or_pid), None
    if not _alive(pid):
        _reap(pid)
        return
    if not is_our_server(pid, port):
        raise LocalServingError(
            f"pid {pid} is not a local kfp-tabular server (python -m serving"
            f"{f' on port {port}' if port else ''}); not stopping it"
        )
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    _reap(pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The server leads its own session and process group (start_new_session), so the group
    # holds it and any worker it spawned; fall back to the pid alone if that is not the case.
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        # Killed above, so this returns at once; the timeout only guards against a hang.
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=STOP_GRACE_S)


def _records_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [
        candidate
        for candidate in sorted(path.rglob("*"))
        if candidate.name in keys.DEPLOY_RECORD_FILE_NAMES
        and candidate.is_file()
        and candidate.stat().st_size <= _MAX_RECORD_BYTES
    ]


def read_record(path: str | Path) -> dict[str, Any] | None:
    """A deployment record (JSON with ``record_format``), or None for any other file."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and str(record.get(keys.DEPLOY_RECORD_FORMAT, "")).startswith(
        keys.DEPLOY_RECORD_FORMAT_PREFIX
    ):
        return record
    return None


def stop_all(record_or_dir: str | os.PathLike[str] = "local_outputs") -> list[int]:
    """Stop every local server listed in a deployment record, or in every record under a directory.

    Each side's pid is signalled only if it still runs ``python -m serving`` on the recorded
    port; a pid that is gone or now belongs to something else is skipped.

    Returns:
        The pids that were stopped.
    """
    root = Path(record_or_dir)
    if not root.exists():
        raise LocalServingError(f"stop_all: {str(root)!r} does not exist")
    stopped: list[int] = []
    for path in _records_under(root):
        record = read_record(path)
        if record is None:
            continue
        for side in record.get(keys.DEPLOY_SIDES) or []:
            pid, port = side.get(keys.DEPLOY_SIDE_PID), side.get(keys.DEPLOY_SIDE_PORT)
            if not isinstance(pid, int) or not _alive(pid) or not is_our_server(pid, port):
                continue
            stop_server(pid)
            stopped.append(pid)
    return stopped


def main(argv: list[str] | None = None) -> int:
    """``python -m components._shared.local_serving stop [RECORD_OR_DIR]``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "stop" or len(args) > 2:
        print(
            "usage: python -m components._shared.local_serving stop [RECORD_OR_DIR]",
            file=sys.stderr,
        )
        return 2
    target = args[1] if len(args) == 2 else "local_outputs"
    if not Path(target).exists():
        print(f"nothing to stop: {target} does not exist")
        return 0
    try:
        stopped = stop_all(target)
    except LocalServingError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"stopped {len(stopped)} local server(s){': ' if stopped else ''}"
        f"{', '.join(map(str, stopped))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
