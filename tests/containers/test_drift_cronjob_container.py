"""The drift CronJob's container, run with the manifest's own command, args, env, user,
securityContext, limits and volumes (manifests/base/drift-cronjob.yaml), against a bundle and
KServe payload-logger output mounted into it; it must write its report.

Only the three gs:// locations the manifest asks the user to edit are replaced, by mounted
folders: the bundle and the logs read-only, the output writable. The emptyDir at /tmp becomes a
tmpfs. The logged requests are stamped within the manifest's ``--last-hours`` window.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from components._image import COMPONENT_IMAGE
from components._shared import keys
from components._shared.payload_log import REQUEST_EVENT
from components.drift.cli import OUTPUT_FILES
from kfp_tabular.docker_runner import local_paths
from tests.containers.conftest import (
    container_of,
    docker,
    environment,
    manifest_documents,
    pod_security,
    security_options,
)
from tests.fixtures.datasets import fast_candidate, telco_spine

pytestmark = pytest.mark.slow

# Where the test mounts what the manifest reads from and writes to gs://.
MOUNTED = {"--bundle": "/data/bundle", "--current": "/data/logs", "--output": "/data/out"}
BATCH = 250


@pytest.fixture(scope="module")
def cronjob() -> dict[str, Any]:
    (job,) = [d for d in manifest_documents("drift-cronjob.yaml") if d["kind"] == "CronJob"]
    return job


def _logger_output(frame: pd.DataFrame, folder: Path, when: datetime) -> int:
    """CloudEvents files as KServe's payload logger writes them: V1 and V2 requests alternating."""
    folder.mkdir(parents=True)
    features = frame.drop(columns=["Churn"])
    for n, start in enumerate(range(0, len(frame), BATCH)):
        part = features.iloc[start : start + BATCH]
        if n % 2:
            data: dict[str, Any] = {"inputs": [
                {"name": c, "shape": [len(part)], "datatype": "BYTES",
                 "data": json.loads(part[c].to_json(orient="values"))} for c in part.columns]}  # fmt: skip
        else:
            data = {"instances": json.loads(part.to_json(orient="records"))}
        event = {"specversion": "1.0", "id": f"req-{n}", "type": REQUEST_EVENT,
                 "source": "http://churn-predictor/", "time": when.isoformat(),
                 "datacontenttype": "application/json", "data": data}  # fmt: skip
        (folder / f"batch-{n:04d}.jsonl").write_text(json.dumps(event) + "\n")
    return len(frame)


def _args(container: dict[str, Any]) -> list[str]:
    """The manifest's args with each gs:// location replaced by its mount point."""
    args = []
    for arg in container["args"]:
        option = arg.split("=", 1)[0]
        if option in MOUNTED:
            assert arg.split("=", 1)[1].startswith("gs://"), arg
            arg = f"{option}={MOUNTED[option]}"
        args.append(arg)
    assert {a.split("=", 1)[0] for a in args} >= set(MOUNTED)
    return args


def _volumes(job: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """The manifest's emptyDir volumes as tmpfs mounts (anything else is not translated)."""
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    options = []
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        assert "emptyDir" in volume, f"volume {mount['name']}: only emptyDir is translated"
        size = volume["emptyDir"].get("sizeLimit", "1Gi").replace("Gi", "g").replace("Mi", "m")
        options += ["--tmpfs", f"{mount['mountPath']}:rw,size={size},mode=1777"]
    return options


def test_the_cronjob_container_writes_its_report(
    component_image: str, cronjob: dict[str, Any], telco_csv: Path, tmp_path: Path
) -> None:
    container = container_of(cronjob)
    assert container["image"] == COMPONENT_IMAGE
    old = os.umask(0o077)  # what the host writes must still be readable by UID 10001
    try:
        spine = telco_spine(telco_csv, tmp_path / "spine")
        bundle = spine.train(fast_candidate("lightgbm", name="lightgbm_cronjob"))
    finally:
        os.umask(old)
    current = spine.test_rows().copy()
    current["MonthlyCharges"] = current["MonthlyCharges"] * 1.3  # a shift to find
    rows = _logger_output(current, tmp_path / "logs", datetime.now(UTC) - timedelta(minutes=30))
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the cluster writes to gs://; here the job's user needs a writable folder
    mounts = ["-v", f"{bundle}:{MOUNTED['--bundle']}:ro", "-v", f"{tmp_path / 'logs'}:{MOUNTED['--current']}:ro",
              "-v", f"{out}:{MOUNTED['--output']}"]  # fmt: skip
    # The training data the bundle records (the reference of prediction drift), where it says.
    for path in local_paths({"bundle": str(bundle)})[1:]:
        mounts += ["-v", f"{path}:{path}:ro"]
    options = [*security_options(container, pod_security(cronjob)), *environment(container),
               *_volumes(cronjob, container), *mounts, "--network", "none",
               "--entrypoint", container["command"][0]]  # fmt: skip
    result = docker("run", "--rm", *options, component_image, *container["command"][1:], *_args(container), timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("DRIFT: "), result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    for path in out.iterdir():
        assert path.stat().st_uid == 10001 and stat.S_IMODE(path.stat().st_mode) == 0o644, path
    verdicts = json.loads((out / keys.DRIFT_RESULT_FILE).read_text())
    assert verdicts["current_rows"] == rows
    assert "MonthlyCharges" in verdicts["drifted_columns"]
    assert verdicts["prediction"]["available"] is True
    assert "<html" in (out / keys.DRIFT_REPORT_HTML_FILE).read_text()[:2000].lower()
