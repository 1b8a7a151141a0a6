"""The gate's smaller parts: card completion and re-sealing, and the component's body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from components._shared import keys
from components._shared.bundle import copy_with_model_card, load_bundle
from components._shared.errors import BundleError
from components.gate import report

GATE = Path(__file__).resolve().parents[2] / "components" / "gate"


def test_complete_model_card_replaces_only_the_gate_section() -> None:
    card = "# Card\n\n## Metrics\n\nx\n\n## Gate decision\n\nGate decision: pending\n\n## Limits\n\n- y\n"
    done = report.complete_model_card(card, "## Gate decision\n\n**Blessed**\n")
    assert (
        done == "# Card\n\n## Metrics\n\nx\n\n## Gate decision\n\n**Blessed**\n\n## Limits\n\n- y\n"
    )
    assert report.complete_model_card("# Card\n", "## Gate decision\n\nz\n").endswith(
        "# Card\n\n## Gate decision\n\nz\n\n"
    )


def test_copy_with_model_card_reseals_and_refuses_a_tampered_source(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    manifest = copy_with_model_card(bundles["weak"], tmp_path / "copy", "# new card\n")
    copy = load_bundle(tmp_path / "copy")
    assert (tmp_path / "copy" / keys.MODEL_CARD_FILE).read_text() == "# new card\n"
    assert copy.manifest == manifest
    assert (
        load_bundle(bundles["weak"]).manifest[keys.MANIFEST_FILES] != manifest[keys.MANIFEST_FILES]
    )
    source = tmp_path / "source"
    source.mkdir()
    for path in bundles["weak"].iterdir():
        (source / path.name).write_bytes(path.read_bytes())
    (source / keys.PROFILE_FILE).write_text("{}")
    with pytest.raises(BundleError, match=r"profile\.json: sha256 mismatch"):
        copy_with_model_card(source, tmp_path / "bad", "# card\n")
    assert not (tmp_path / "bad").exists()


def test_the_gate_component_returns_what_main_returns() -> None:
    # main returns the blessing's own flag (tests/gate/test_executor.py checks the value).
    tree = ast.parse((GATE / "component.py").read_text())
    (function,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    imports = [n for n in ast.walk(function) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [getattr(n, "module", None) for n in imports] == ["components.gate.executor"]
    assert ast.unparse(function.body[-1]) == "return main(arguments)"
