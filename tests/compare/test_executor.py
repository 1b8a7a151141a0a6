"""compare on real Telco bundles: ranking, tie-break, champion handling, bad champions (the typed
``run``, and ``main`` as the component calls it); ``rank`` and the renderers without bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.bundle import load_bundle
from components._shared.errors import BundleError, ConfigError, ContractMismatch
from components.compare import executor
from components.compare.config import CompareConfig
from components.compare.leaderboard import render_html, render_markdown
from tests.fixtures.datasets import Prepared, fast_candidate, prepare, telco, train_bundle


@pytest.fixture(scope="module")
def bundles(telco_prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    return {
        "good": train_bundle(
            telco_prepared, root / "good", fast_candidate("lightgbm", name="good")
        ),
        # Heavily regularised: nearly constant predictions, so clearly worse than "good".
        "weak": train_bundle(
            telco_prepared, root / "weak", fast_candidate("sklearn_logreg", name="weak", C=1e-5)
        ),
        "weaker": train_bundle(
            telco_prepared,
            root / "weaker",
            fast_candidate("sklearn_rf", name="weaker", n_estimators=2, max_depth=1),
        ),
    }


def _outputs(out: Path) -> dict:
    return {
        "challenger": dsl.Model(name="challenger", uri=str(out / "challenger")),
        "leaderboard": dsl.Artifact(name="leaderboard", uri=str(out / "leaderboard.json")),
        "leaderboard_md": dsl.Markdown(name="leaderboard_md", uri=str(out / "leaderboard.md")),
        "leaderboard_html": dsl.HTML(name="leaderboard_html", uri=str(out / "leaderboard.html")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "metrics")),
    }


def _run(
    prepared: Prepared,
    out: Path,
    candidates: list[Path],
    champion: str = "",
    metric: str = "auc",
    ensemble_members: int = 0,  # off: these tests are about the single candidates
) -> dict:
    outputs = _outputs(out)
    executor.run(
        executor.CompareInputs(
            candidates=[dsl.Model(name="bundle", uri=str(p)) for p in candidates],
            splits=dsl.Dataset(name="splits", uri=str(prepared.splits)),
        ),
        executor.CompareOutputs(**outputs),
        CompareConfig(
            primary_metric=metric, champion_uri=champion, ensemble_members=ensemble_members
        ),
    )
    outputs["board"] = json.loads(Path(outputs["leaderboard"].path).read_text())
    return outputs


def test_ranks_candidates_on_valid_and_copies_the_best(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    out = _run(telco_prepared, tmp_path, [bundles["weak"], bundles["good"], bundles["weaker"]])
    board = out["board"]
    rows = board[keys.LEADERBOARD_ROWS]
    assert rows[0]["name"] == "good"
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["role"] for r in rows] == [keys.ROLE_CANDIDATE] * 3
    aucs = [r["valid"][keys.METRIC_AUC] for r in rows]
    assert aucs == sorted(aucs, reverse=True)
    assert set(rows[0]["test"]) == set(keys.CLASSIFICATION_METRICS)
    assert rows[0]["bundle_uri"] == str(bundles["good"])
    assert (
        board[keys.LEADERBOARD_CHALLENGER] == "good"
        and board[keys.LEADERBOARD_CHAMPION_AHEAD] is False
    )

    challenger = load_bundle(out["challenger"].path)
    assert challenger.name == "good"
    assert sorted(p.name for p in Path(out["challenger"].path).iterdir()) == sorted(
        p.name for p in bundles["good"].iterdir()
    )
    # The same valid rows scored the same way as train did.
    assert rows[0]["valid"][keys.METRIC_AUC] == pytest.approx(
        challenger.manifest[keys.MANIFEST_METRICS][keys.METRIC_AUC], abs=1e-12
    )

    logged = out["metrics"].metadata
    assert logged["challenger_valid_auc"] == rows[0]["valid"]["auc"]
    assert logged["challenger_test_auc"] == rows[0]["test"]["auc"]
    assert logged[keys.METRIC_CANDIDATES] == 3 and logged[keys.METRIC_CHAMPION_AHEAD] == 0.0
    assert "champion_valid_auc" not in logged
    assert out["challenger"].metadata[keys.META_CANDIDATE] == "good"
    md = Path(out["leaderboard_md"].path).read_text()
    assert "| 1 | good | lightgbm | candidate |" in md
    page = Path(out["leaderboard_html"].path).read_text()
    assert (
        page.startswith("<!DOCTYPE html>")
        and '<tr class="challenger"><td>1</td><td>good</td>' in page
    )
    for name in ("challenger", "leaderboard", "leaderboard_md", "leaderboard_html", "metrics"):
        assert out[name].metadata[keys.META_DISPLAY_NAME]


def test_log_loss_ranks_lower_first(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    board = _run(telco_prepared, tmp_path, [bundles["weak"], bundles["good"]], metric="log_loss")[
        "board"
    ]
    losses = [r["valid"][keys.METRIC_LOG_LOSS] for r in board[keys.LEADERBOARD_ROWS]]
    assert losses == sorted(losses)
    assert board[keys.LEADERBOARD_PRIMARY_METRIC] == "log_loss"


def test_champion_ahead_is_flagged_and_never_copied(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    out = _run(
        telco_prepared,
        tmp_path,
        [bundles["weaker"], bundles["weak"]],
        champion=str(bundles["good"]),
    )
    board = out["board"]
    rows = board[keys.LEADERBOARD_ROWS]
    assert (rows[0]["name"], rows[0]["role"], rows[0]["bundle_uri"]) == (
        "good",
        keys.ROLE_CHAMPION,
        str(bundles["good"]),
    )
    assert board[keys.LEADERBOARD_CHAMPION_AHEAD] is True
    best_candidate = rows[1]["name"]
    assert board[keys.LEADERBOARD_CHALLENGER] == best_candidate != "good"
    assert load_bundle(out["challenger"].path).name == best_candidate
    assert out["challenger"].metadata[keys.META_CHAMPION_AHEAD] is True
    logged = out["metrics"].metadata
    assert logged[keys.METRIC_CHAMPION_AHEAD] == 1.0
    assert logged["champion_valid_auc"] == rows[0]["valid"]["auc"] > logged["challenger_valid_auc"]
    assert "champion ranks ahead" in Path(out["leaderboard_md"].path).read_text()


def test_champion_behind_is_ranked_but_the_candidate_wins(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    board = _run(telco_prepared, tmp_path, [bundles["good"]], champion=str(bundles["weak"]))[
        "board"
    ]
    assert [(r["name"], r["role"]) for r in board[keys.LEADERBOARD_ROWS]] == [
        ("good", keys.ROLE_CANDIDATE),
        ("weak", keys.ROLE_CHAMPION),
    ]
    assert board[keys.LEADERBOARD_CHAMPION_AHEAD] is False


def test_ties_go_to_the_lower_single_row_latency(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, fast = tmp_path / "slow", tmp_path / "fast"
    shutil.copytree(bundles["good"], slow)
    shutil.copytree(bundles["good"], fast)
    monkeypatch.setattr(
        executor,
        "single_row_latency_ms",
        lambda bundle, records, calls: 9.0 if "slow" in bundle.uri else 1.0,
    )
    out = _run(telco_prepared, tmp_path / "out", [slow, fast])
    rows = out["board"][keys.LEADERBOARD_ROWS]
    assert rows[0]["valid"] == rows[1]["valid"]
    assert [(r["bundle_uri"], r[keys.METRIC_PREDICT_LATENCY_MS]) for r in rows] == [
        (str(fast), 1.0),
        (str(slow), 9.0),
    ]


def test_incompatible_champion_names_the_columns(
    telco_csv: Path, telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    frame, schema = telco(telco_csv, rows=600)
    # The champion was trained when the data had a column the current data lacks.
    frame["loyalty_score"] = np.linspace(0, 1, len(frame))
    from components._shared.schema import ColumnSchema

    schema = schema.with_columns(
        [*schema.columns, ColumnSchema(name="loyalty_score", kind="numeric")]
    )
    old = prepare(tmp_path / "old", frame, schema)
    champion = train_bundle(
        old, tmp_path / "champion", fast_candidate("sklearn_logreg", name="old_champion")
    )
    with pytest.raises(
        ContractMismatch,
        match=r"champion bundle .*: feature column\(s\) \['loyalty_score'\] are missing from the current data",
    ):
        _run(telco_prepared, tmp_path / "out", [bundles["good"]], champion=str(champion))
    assert not (tmp_path / "out" / "challenger").exists()


def test_tampered_candidate_and_bad_metric_are_refused(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(bundles["weak"], tampered)
    (tampered / keys.FEATURIZER_FILE).write_text(
        (tampered / keys.FEATURIZER_FILE).read_text() + " "
    )
    with pytest.raises(BundleError, match=r"featurizer\.json: sha256 mismatch"):
        _run(telco_prepared, tmp_path / "a", [bundles["good"], tampered])
    with pytest.raises(
        ConfigError, match=r"primary_metric: expected one of \['auc', .*\], got 'roc'"
    ):
        _run(telco_prepared, tmp_path / "b", [bundles["good"]], metric="roc")
    with pytest.raises(ConfigError, match="at least one candidate"):
        _run(telco_prepared, tmp_path / "c", [])
    for name in ("a", "b", "c"):
        assert not (tmp_path / name).exists()


def test_main_takes_the_component_arguments(
    telco_prepared: Prepared, bundles: dict, tmp_path: Path
) -> None:
    outputs = _outputs(tmp_path)
    executor.main(
        {
            "candidates": [dsl.Model(name="bundle", uri=str(bundles["good"]))],
            "splits": dsl.Dataset(name="splits", uri=str(telco_prepared.splits)),
            **outputs,
            "primary_metric": "f1",
        }
    )
    board = json.loads(Path(outputs["leaderboard"].path).read_text())
    assert board[keys.LEADERBOARD_PRIMARY_METRIC] == "f1" and board["higher_is_better"] is True
    assert outputs["metrics"].metadata["challenger_valid_f1"] == board["rows"][0]["valid"]["f1"]
    with pytest.raises(ConfigError, match="unknown parameter 'champion'; did you mean"):
        executor.main({"candidates": [], "splits": None, **outputs, "champion": ""})


def _entry(
    name: str, auc: float, latency: float, role: str = keys.ROLE_CANDIDATE
) -> executor.Entry:
    entry = executor.Entry(name, "sklearn_logreg", role, f"/bundles/{name}", bundle=None)  # type: ignore[arg-type]
    entry.valid = {m: 0.5 for m in keys.CLASSIFICATION_METRICS} | {keys.METRIC_AUC: auc}
    entry.test = dict(entry.valid)
    entry.latency_ms = latency
    return entry


def test_rank_breaks_ties_within_the_tolerance_by_latency_then_name() -> None:
    """The pure ranking: no bundles, no files."""
    entries = [
        _entry("b", 0.80, 2.0),
        _entry("a", 0.80 + executor.TIE_TOLERANCE / 2, 3.0),
        _entry("c", 0.90, 9.0, keys.ROLE_CHAMPION),
        _entry("d", 0.80, 2.0),
    ]
    ordered = executor.rank(entries, keys.METRIC_AUC)
    assert [(e.name, e.rank) for e in ordered] == [("c", 1), ("b", 2), ("d", 3), ("a", 4)]
    board = {
        keys.LEADERBOARD_CHALLENGER: "b",
        keys.LEADERBOARD_CHAMPION_AHEAD: True,
        keys.LEADERBOARD_ROWS: [executor._row(e) for e in ordered],
    }
    md = render_markdown(board, keys.METRIC_AUC)
    assert "| 1 | c | sklearn_logreg | champion |" in md and "champion ranks ahead" in md
    page = render_html(board, keys.METRIC_AUC)
    assert '<tr class="champion"><td>1</td><td>c</td>' in page
    assert '<tr class="challenger"><td>2</td><td>b</td>' in page
