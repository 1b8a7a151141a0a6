"""gate.run on real Telco bundles ranked by the real compare: the decisions the issue lists."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components._shared import keys
from components._shared.bundle import load_bundle, sha256_file
from components._shared.errors import ConfigError
from components.gate import executor as gate
from components.gate import infra
from components.gate.config import GateConfig
from tests.fixtures.datasets import Prepared
from tests.gate.conftest import SLICE, gate_inputs, gate_outputs, gate_run, run_compare, run_gate

INTERVAL = r"\d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\]"


def test_shuffled_label_challenger_is_refused_naming_the_metric_and_its_interval(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    run = gate_run(telco_prepared_full, tmp_path, bundles["shuffled"])
    assert not run.blessed and run.decision.verdict == keys.VERDICT_REFUSED
    assert "floor/auc" in run.failed()
    (reason,) = [r for r in run.decision.failed if r.name == keys.METRIC_AUC]
    assert re.match(
        rf"auc {INTERVAL} \(95% DeLong interval\): lower bound is below the floor 0.75",
        reason.message,
    )
    assert reason.numbers["high"] < 0.75 and reason.numbers["low"] < reason.numbers["estimate"]
    assert f"{reason.numbers['low']:.4f}" in reason.message
    # The blessing records it with its numbers; the rationale shows it first.
    stored = [r for r in run.blessing[keys.BLESSING_REASONS] if not r["passed"]]
    assert stored[0]["check"] == "floor" and stored[0]["numbers"]["floor"] == 0.75
    assert run.rationale.startswith("# Gate: Refused")
    assert "- FAIL `floor/auc`" in run.rationale
    assert run.outputs.metrics.metadata[keys.METRIC_BLESSED] == 0.0
    # A refused challenger still gets its card completed (the audit trail), marked refused.
    card = (Path(run.outputs.blessed_bundle.path) / keys.MODEL_CARD_FILE).read_text()
    assert "**Refused** by the gate" in card
    assert run.outputs.blessed_bundle.metadata[keys.META_BLESSED] is False


def test_clearly_better_challenger_than_a_weak_champion_is_blessed(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    run = gate_run(telco_prepared_full, tmp_path, bundles["good"], bundles["weak"])
    assert run.blessed and run.decision.verdict == keys.VERDICT_BLESSED, run.decision.summary()
    evidence = run.blessing[keys.BLESSING_EVIDENCE]
    assert evidence["delong"]["difference"] > 0.02 and evidence["delong"]["p_value"] < 1e-3
    assert evidence["delong"]["low"] > 0
    checks = {f"{r.check}/{r.name}" for r in run.decision.reasons}
    assert {
        "sample/test_rows",
        "infra/sha256",
        "infra/leaderboard",
        "floor/auc",
        "versus_champion/auc",
        "versus_champion/log_loss",
        "versus_champion/accuracy",
    } <= checks
    assert {"infra/serving_v2", "infra/serving_v1"} <= checks or "infra/serving_records" in checks

    # The blessed copy: the model card completed, re-sealed, loadable exactly as serving loads it.
    copy = Path(run.outputs.blessed_bundle.path)
    blessed = load_bundle(copy)
    card = (copy / keys.MODEL_CARD_FILE).read_text()
    assert "Gate decision: pending" not in card
    assert "**Blessed** by the gate" in card and "champion `weak`" in card
    assert re.search(r"\| auc \(DeLong\) \| \d\.\d{4} \| \[\d\.\d{4}, \d\.\d{4}\] \|", card)
    assert "## Limits" in card  # the sections after the gate's are kept
    assert blessed.manifest[keys.MANIFEST_FILES][keys.MODEL_CARD_FILE] == sha256_file(
        copy / keys.MODEL_CARD_FILE
    )
    original = load_bundle(bundles["good"]).manifest
    assert {k: v for k, v in blessed.manifest.items() if k != keys.MANIFEST_FILES} == {
        k: v for k, v in original.items() if k != keys.MANIFEST_FILES
    }
    meta = run.outputs.blessed_bundle.metadata
    assert meta[keys.META_BLESSED] is True and meta[keys.META_CANDIDATE] == "good"
    assert meta[keys.META_CONTENT_SHA256] == sha256_file(copy / keys.MANIFEST_FILE)
    # deploy deploys exactly this manifest: the blessing names its digest.
    assert run.blessing[keys.BLESSING_BUNDLE_MANIFEST_SHA256] == blessed.manifest_sha256
    assert blessed.manifest_sha256 == meta[keys.META_CONTENT_SHA256]

    # The lineage record: inputs with hashes, code version, candidates, champion, thresholds.
    record = run.lineage
    assert record[keys.LINEAGE_RUN] == {"name": "test-run", "id": "run-0"}
    assert record[keys.LINEAGE_DATA]["sha256"] == original["training_data"]["source"]["sha256"]
    split = telco_prepared_full.splits / keys.split_file(keys.TEST)
    assert record[keys.LINEAGE_TEST_SPLIT]["sha256"] == sha256_file(split)
    assert record[keys.LINEAGE_TEST_SPLIT]["rows"] == len(pd.read_parquet(split))
    assert [(c["name"], c["role"]) for c in record[keys.LINEAGE_CANDIDATES]] == [
        ("good", keys.ROLE_CANDIDATE),
        ("weak", keys.ROLE_CHAMPION),
    ]
    assert record[keys.LINEAGE_CHAMPION]["uri"] == str(bundles["weak"])
    assert record[keys.LINEAGE_CHAMPION]["manifest_sha256"] == sha256_file(
        bundles["weak"] / keys.MANIFEST_FILE
    )
    assert record[keys.LINEAGE_THRESHOLDS]["auc_margin"] == 0.02
    assert record[keys.LINEAGE_DECISION][keys.BLESSING_BLESSED] is True
    assert record[keys.LINEAGE_BLESSED_BUNDLE]["manifest_sha256"] == meta[keys.META_CONTENT_SHA256]
    assert record[keys.LINEAGE_DEPLOYED_REVISION] is None
    logged = run.outputs.metrics.metadata
    assert logged["delta_auc"] == pytest.approx(evidence["delong"]["difference"])
    assert logged[keys.METRIC_SERVING_MAX_ABS_DIFF] <= infra.PARITY_TOLERANCE


def test_equal_challenger_passes_non_inferiority_but_not_a_required_improvement(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    ranked = run_compare(
        telco_prepared_full, tmp_path / "compare", bundles["good"], str(bundles["good"])
    )
    args = (
        telco_prepared_full.splits,
        Path(ranked["challenger"].path),
        Path(ranked["leaderboard"].path),
    )
    equal = run_gate(*args, tmp_path / "margin", champion=str(bundles["good"]))
    assert equal.blessed, equal.decision.summary()
    assert equal.blessing[keys.BLESSING_EVIDENCE]["delong"]["difference"] == 0.0

    required = run_gate(
        *args, tmp_path / "improve", champion=str(bundles["good"]), require_improvement=True
    )
    assert not required.blessed and required.failed() == ["versus_champion/auc"]
    (reason,) = required.decision.failed
    assert "must exceed the required improvement 0.0" in reason.message
    assert "0.0000 [0.0000, 0.0000]" in reason.message


def test_better_overall_but_much_worse_on_one_slice_is_refused_naming_the_slice(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    column, value = SLICE
    ranked = run_compare(
        telco_prepared_full,
        tmp_path / "compare",
        bundles["slice_blind"],
        str(bundles["slice_expert"]),
    )
    args = (
        telco_prepared_full.splits,
        Path(ranked["challenger"].path),
        Path(ranked["leaderboard"].path),
    )
    champion = str(bundles["slice_expert"])
    # Accuracy at 0.5 also suffers in the slice; a looser accuracy margin isolates the slice rule.
    loose = {"accuracy_margin": 0.05}
    overall = run_gate(*args, tmp_path / "overall", champion=champion, **loose)
    assert overall.blessed, overall.decision.summary()
    assert overall.blessing[keys.BLESSING_EVIDENCE]["delong"]["difference"] > 0  # better overall

    sliced = run_gate(
        *args, tmp_path / "sliced", champion=champion, slice_columns=[column, "gender"], **loose
    )
    assert not sliced.blessed and sliced.failed() == [f"slice/{column}={value}"]
    (reason,) = sliced.decision.failed
    assert reason.message.startswith(f"slice {column}={value!r} (")
    assert "worse by more than 0.05, significantly" in reason.message
    assert reason.numbers["versus_champion"]["high"] < 0
    judged = [s for s in sliced.blessing[keys.BLESSING_EVIDENCE]["slices"] if s["judged"]]
    assert len(judged) == 6  # four payment methods, two genders: Bonferroni over six
    assert sliced.blessing[keys.BLESSING_EVIDENCE]["slice_confidence"] == pytest.approx(
        1 - 0.05 / 6
    )
    assert f"| {column}={value} |" in sliced.rationale


def test_first_deployment_is_decided_on_the_floors_alone(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    ranked = run_compare(telco_prepared_full, tmp_path / "compare", bundles["good"])
    args = (
        telco_prepared_full.splits,
        Path(ranked["challenger"].path),
        Path(ranked["leaderboard"].path),
    )
    first = run_gate(*args, tmp_path / "first", slice_columns=["gender"])
    assert first.blessed
    assert {r.check for r in first.decision.reasons} == {"sample", "infra", "floor"}
    assert first.blessing[keys.BLESSING_CHAMPION] is None
    assert "no champion (first deployment: floors only)" in first.rationale
    # Slices are reported without a champion, but do not decide.
    assert all(s["versus_champion"] is None for s in first.blessing["evidence"]["slices"])
    # The UI's ROC and confusion matrix are of the test rows judged, the challenger's.
    roc = first.outputs.roc.metadata
    assert roc["display_name"] == "test split ROC and confusion"
    assert roc["confusionMatrix"]["annotationSpecs"] == [
        {"displayName": "No"},
        {"displayName": "Yes"},
    ]
    counts = roc["confusionMatrix"]["rows"]
    assert sum(sum(row["row"]) for row in counts) == first.blessing["test_split"]["rows"]
    assert sum(counts[1]["row"]) == first.blessing["test_split"]["positives"]
    curve = roc["confidenceMetrics"]
    assert len(curve) > 2 and {"falsePositiveRate", "recall", "confidenceThreshold"} <= set(
        curve[1]
    )

    strict = run_gate(*args, tmp_path / "strict", min_auc=0.95, min_accuracy=0.9)
    assert not strict.blessed and strict.failed() == ["floor/auc", "floor/accuracy"]


def test_tampered_bundle_is_refused_naming_the_file(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    ranked = run_compare(telco_prepared_full, tmp_path / "compare", bundles["good"])
    challenger = Path(ranked["challenger"].path)
    model = challenger / keys.MODEL_FILES["lightgbm"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte changed
    model.write_bytes(bytes(data))
    run = run_gate(
        telco_prepared_full.splits, challenger, Path(ranked["leaderboard"].path), tmp_path / "gate"
    )
    assert not run.blessed and run.failed() == ["infra/sha256"]
    assert "confusionMatrix" not in run.outputs.roc.metadata  # no predictions: nothing drawn
    (reason,) = run.decision.failed
    assert "model.txt: sha256 mismatch (expected" in reason.message
    assert not Path(run.outputs.blessed_bundle.path).exists()  # nothing a deploy could take
    assert run.lineage[keys.LINEAGE_BLESSED_BUNDLE] is None
    assert run.blessing[keys.BLESSING_BUNDLE_URI] is None


def test_too_few_test_rows_cannot_decide(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    splits = tmp_path / "splits"
    shutil.copytree(telco_prepared_full.splits, splits)
    test = pd.read_parquet(splits / keys.split_file(keys.TEST)).head(80)
    test.to_parquet(splits / keys.split_file(keys.TEST), index=False)
    few = Prepared(**{**telco_prepared_full.__dict__, "splits": splits})
    run = gate_run(few, tmp_path / "run", bundles["good"], bundles["weak"])
    assert not run.blessed and run.decision.verdict == keys.VERDICT_CANNOT_DECIDE
    assert run.failed() == ["sample/test_rows"]
    (reason,) = run.decision.failed
    assert reason.message.startswith("cannot decide: the test split has 80 rows (")
    assert "at least 200 rows and 30 of each class" in reason.message
    assert run.blessing[keys.BLESSING_EVIDENCE] is None
    assert run.rationale.startswith("# Gate: Cannot decide")


def test_serving_and_leaderboard_mismatches_are_infra_failures(
    telco_prepared_full: Prepared,
    bundles: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ranked = run_compare(telco_prepared_full, tmp_path / "compare", bundles["good"])
    board_path = Path(ranked["leaderboard"].path)
    board = json.loads(board_path.read_text())
    board[keys.LEADERBOARD_ROWS][0]["test"]["auc"] += 1e-3
    board_path.write_text(json.dumps(board))

    def drifting(bundle_dir: str, records: list) -> np.ndarray:
        return load_bundle(bundle_dir).predict_proba_records(records) + 1e-4

    monkeypatch.setattr(infra, "serving_paths", lambda: ({"drifting path": drifting}, "test"))
    run = run_gate(
        telco_prepared_full.splits, Path(ranked["challenger"].path), board_path, tmp_path / "g"
    )
    assert run.failed() == ["infra/leaderboard", "infra/serving_records"]
    leaderboard, serving = run.decision.failed
    assert "test metrics differ from compare's leaderboard: auc" in leaderboard.message
    assert re.search(r"drifting path: test row \d+ gives 0\.\d{8} through serving", serving.message)


def test_bad_thresholds_and_slice_columns_are_config_errors(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    ranked = run_compare(telco_prepared_full, tmp_path / "compare", bundles["weak"])
    args = (
        telco_prepared_full.splits,
        Path(ranked["challenger"].path),
        Path(ranked["leaderboard"].path),
    )
    with pytest.raises(ConfigError, match=r"confidence: expected a level in \[0.5, 1\)"):
        run_gate(*args, tmp_path / "a", confidence=1.5)
    with pytest.raises(ConfigError, match=r"slice_columns: expected columns of the test split"):
        run_gate(*args, tmp_path / "b", slice_columns=["Region"])
    with pytest.raises(ConfigError, match=r"'MonthlyCharges' has .* distinct values"):
        run_gate(*args, tmp_path / "c", slice_columns=["MonthlyCharges"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "c" / "blessing.json").exists()


def test_main_sorts_kfp_arguments_and_returns_the_blessings_own_flag(
    telco_prepared_full: Prepared, bundles: dict[str, Path], tmp_path: Path
) -> None:
    """What component.py hands over (every parameter by name, as KFP passes them) goes through
    ``main``; the bool it returns, the pipeline's branch flag, is the blessing's own."""
    ranked = run_compare(telco_prepared_full, tmp_path / "compare", bundles["good"])
    inputs = gate_inputs(
        telco_prepared_full.splits,
        Path(ranked["challenger"].path),
        Path(ranked["leaderboard"].path),
    )
    flags = []
    for floor in (0.5, 0.99):
        outputs = gate_outputs(tmp_path / f"floor-{floor}")
        arguments = {
            **dataclasses.asdict(GateConfig()),
            **{f.name: getattr(inputs, f.name) for f in dataclasses.fields(inputs)},
            **{f.name: getattr(outputs, f.name) for f in dataclasses.fields(outputs)},
            "min_auc": floor,
            "bootstrap_resamples": 1000.0,  # KFP may hand an integer over as a double
            "run_name": "kfp-run",
        }
        flag = gate.main(arguments)
        assert type(flag) is bool and flag is outputs.blessing.metadata[keys.META_BLESSED]
        blessing = json.loads(Path(outputs.blessing.path).read_text())
        assert blessing[keys.BLESSING_BLESSED] is flag
        assert json.loads(Path(outputs.lineage.path).read_text())[keys.LINEAGE_RUN] == {
            "name": "kfp-run",
            "id": "",
        }
        flags.append(flag)
    assert flags == [True, False]
    # The recorded thresholds are the decision rule's parameters, not the champion or the run.
    assert set(blessing[keys.BLESSING_THRESHOLDS]) == {p.name for p in GateConfig.parameters()} - {
        "champion_uri",
        "run_name",
        "run_id",
        "tracking_uri",
        "registered_model_name",
    }
