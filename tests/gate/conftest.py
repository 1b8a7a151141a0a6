"""Real Telco bundles for the gate tests: trained inside the tests, ranked by the real compare.

Each scenario is a challenger and (optionally) a champion; :func:`gate_run` runs compare on them,
as the pipeline does, then the gate on compare's outputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kfp import dsl

from components._shared import keys
from components.compare import executor as compare
from components.gate import executor as gate
from components.gate.config import GateConfig
from components.gate.decision import Decision
from tests.fixtures.datasets import Prepared, fast_candidate, train_bundle

# The slice whose training labels are shuffled for the "better overall, worse on one slice"
# challenger (and shuffled everywhere else for its champion, an expert of that slice only).
SLICE = ("PaymentMethod", "Electronic check")


def relabelled(
    prepared: Prepared, out: Path, change: Callable[[pd.DataFrame, np.ndarray], np.ndarray]
) -> Prepared:
    """A copy of ``prepared`` whose train and valid feature labels are ``change(raw rows, labels)``;
    the raw splits (and so the test rows the gate judges on) keep the true labels."""
    features = out / "features"
    features.mkdir(parents=True)
    for split in keys.SPLITS:
        table = pd.read_parquet(prepared.features / keys.split_file(split))
        if split != keys.TEST:
            labels = table[keys.LABEL_COLUMN].to_numpy()
            table[keys.LABEL_COLUMN] = change(prepared.frames[split], labels).astype(np.int8)
        table.to_parquet(features / keys.split_file(split), index=False)
    return Prepared(
        features,
        prepared.splits,
        prepared.featurizer,
        prepared.schema,
        prepared.profile,
        prepared.schema_obj,
        prepared.featurizer_obj,
        prepared.frames,
    )


@pytest.fixture(scope="session")
def bundles(
    telco_prepared_full: Prepared, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """good (LightGBM), weak (two depth-1 trees), shuffled (every label permuted),
    slice_blind (LightGBM, labels permuted inside SLICE) and slice_expert (logistic regression,
    labels permuted outside SLICE)."""
    root = tmp_path_factory.mktemp("gate_bundles")
    rng = np.random.default_rng(0)
    column, value = SLICE

    def permuted(where: Callable[[pd.DataFrame], np.ndarray]) -> Callable[..., np.ndarray]:
        def change(frame: pd.DataFrame, y: np.ndarray) -> np.ndarray:
            y, rows = y.copy(), np.flatnonzero(where(frame))
            y[rows] = rng.permutation(y[rows])
            return y

        return change

    def inside(frame: pd.DataFrame) -> np.ndarray:
        return frame[column].astype(str).to_numpy() == value

    shuffled = relabelled(
        telco_prepared_full, root / "shuffled_data", permuted(lambda f: np.ones(len(f), bool))
    )
    blind = relabelled(telco_prepared_full, root / "blind_data", permuted(inside))
    expert = relabelled(telco_prepared_full, root / "expert_data", permuted(lambda f: ~inside(f)))
    return {
        "good": train_bundle(
            telco_prepared_full, root / "good", fast_candidate("lightgbm", name="good")
        ),
        "weak": train_bundle(
            telco_prepared_full,
            root / "weak",
            fast_candidate("sklearn_rf", name="weak", n_estimators=2, max_depth=1),
        ),
        "shuffled": train_bundle(
            shuffled, root / "shuffled", fast_candidate("sklearn_logreg", name="shuffled")
        ),
        "slice_blind": train_bundle(
            blind, root / "slice_blind", fast_candidate("lightgbm", name="slice_blind")
        ),
        "slice_expert": train_bundle(
            expert, root / "slice_expert", fast_candidate("sklearn_logreg", name="slice_expert")
        ),
    }


@dataclass
class GateRun:
    """The gate's result and every output it wrote."""

    result: gate.Gated
    outputs: gate.GateOutputs
    blessing: dict[str, Any]
    lineage: dict[str, Any]
    rationale: str
    blessed: bool

    @property
    def decision(self) -> Decision:
        return self.result.decision

    def failed(self) -> list[str]:
        """``check/name`` of every failed reason."""
        return [f"{r.check}/{r.name}" for r in self.decision.failed]


def run_compare(
    prepared: Prepared, out: Path, challenger: Path, champion: str = ""
) -> dict[str, Any]:
    """compare (its `main`) on one candidate (and the champion), as the pipeline runs it."""
    outputs = {
        "challenger": dsl.Model(name="challenger", uri=str(out / "challenger")),
        "leaderboard": dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        "leaderboard_md": dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        "leaderboard_html": dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "compare_metrics")),
    }
    compare.main(
        {
            "candidates": [dsl.Model(name="bundle", uri=str(challenger))],
            "splits": dsl.Dataset(name="splits", uri=str(prepared.splits)),
            "primary_metric": "auc",
            "champion_uri": champion,
            **outputs,
        }
    )
    return outputs


def gate_outputs(out: Path) -> gate.GateOutputs:
    """Fresh output artifacts of the gate under ``out``."""
    return gate.GateOutputs(
        blessing=dsl.Artifact(name="blessing", uri=str(out / "blessing.json")),
        rationale=dsl.Markdown(name="rationale", uri=str(out / "rationale.md")),
        metrics=dsl.Metrics(name="metrics", uri=str(out / "gate_metrics")),
        blessed_bundle=dsl.Model(name="blessed_bundle", uri=str(out / "blessed_bundle")),
        lineage=dsl.Artifact(name="lineage", uri=str(out / "lineage.json")),
        roc=dsl.ClassificationMetrics(name="roc", uri=str(out / "roc")),
    )


def gate_inputs(splits: Path, challenger: Path, leaderboard: Path) -> gate.GateInputs:
    """The gate's input artifacts: compare's challenger and leaderboard, featurize's splits."""
    return gate.GateInputs(
        challenger=dsl.Model(name="challenger", uri=str(challenger)),
        splits=dsl.Dataset(name="splits", uri=str(splits)),
        leaderboard=dsl.Artifact(name="leaderboard", uri=str(leaderboard)),
    )


def gate_result(outputs: gate.GateOutputs, result: gate.Gated) -> GateRun:
    """The result with every output read back."""
    return GateRun(
        result=result,
        outputs=outputs,
        blessing=json.loads(Path(outputs.blessing.path).read_text()),
        lineage=json.loads(Path(outputs.lineage.path).read_text()),
        rationale=Path(outputs.rationale.path).read_text(),
        blessed=outputs.blessing.metadata[keys.META_BLESSED],
    )


def run_gate(
    splits: Path,
    challenger: Path,
    leaderboard: Path,
    out: Path,
    champion: str = "",
    **thresholds: Any,
) -> GateRun:
    """gate.run on existing compare outputs."""
    outputs = gate_outputs(out)
    config = GateConfig(champion_uri=champion, run_name="test-run", run_id="run-0", **thresholds)
    result = gate.run(gate_inputs(splits, challenger, leaderboard), outputs, config)
    return gate_result(outputs, result)


def gate_run(
    prepared: Prepared, out: Path, challenger: Path, champion: Path | None = None, **thresholds: Any
) -> GateRun:
    """compare, then gate: the pipeline's last two steps on a challenger and a champion."""
    ranked = run_compare(prepared, out / "compare", challenger, str(champion or ""))
    return run_gate(
        prepared.splits,
        Path(ranked["challenger"].path),
        Path(ranked["leaderboard"].path),
        out / "gate",
        champion=str(champion or ""),
        **thresholds,
    )
