"""The lineage record: a run manifest that says what went in, what was decided and on what.

A plain JSON artifact, written by the gate, because KFP is removing ML Metadata and nothing may
depend on it. It records the source data (URI and content hash, from the challenger's manifest),
the test rows the decision used (URI and hash), the code version, every candidate of the
leaderboard, the challenger and champion bundles (URIs and manifest hashes), the thresholds and
the decision. Deploy adds ``deployed_revision`` on its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import components
from components._shared import keys
from components.gate.config import GateConfig
from components.gate.decision import Decision

LINEAGE_FORMAT_VERSION: Final = 1


def candidates(board: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The leaderboard rows as lineage entries (name, family, role, rank, bundle, metrics)."""
    out = []
    for row in board.get(keys.LEADERBOARD_ROWS, []):
        out.append(
            {
                "name": row.get("name"),
                "family": row.get("family"),
                "role": row.get("role"),
                "rank": row.get("rank"),
                "bundle_uri": row.get("bundle_uri"),
                "valid": row.get("valid"),
                "test": row.get("test"),
            }
        )
    return out


def record(
    *,
    run: Mapping[str, str],
    data: Mapping[str, Any] | None,
    test_split: Mapping[str, Any],
    board: Mapping[str, Any],
    leaderboard_uri: str,
    leaderboard_sha256: str,
    challenger: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    config: GateConfig,
    decision: Decision,
    blessed_bundle: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The run manifest as a JSON-ready dict (keys in ``components._shared.keys``)."""
    return {
        keys.LINEAGE_FORMAT: LINEAGE_FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        keys.MANIFEST_CODE_VERSION: components.__version__,
        keys.LINEAGE_RUN: dict(run),
        keys.LINEAGE_DATA: dict(data) if data else None,
        keys.LINEAGE_TEST_SPLIT: dict(test_split),
        "leaderboard": {
            "uri": leaderboard_uri,
            "sha256": leaderboard_sha256,
            keys.LEADERBOARD_PRIMARY_METRIC: board.get(keys.LEADERBOARD_PRIMARY_METRIC),
            keys.LEADERBOARD_CHAMPION_AHEAD: board.get(keys.LEADERBOARD_CHAMPION_AHEAD),
        },
        keys.LINEAGE_CANDIDATES: candidates(board),
        keys.LINEAGE_CHALLENGER: dict(challenger),
        keys.LINEAGE_CHAMPION: dict(champion) if champion else None,
        keys.LINEAGE_THRESHOLDS: config.thresholds(),
        keys.LINEAGE_DECISION: {
            keys.BLESSING_BLESSED: decision.blessed,
            keys.BLESSING_VERDICT: decision.verdict,
            keys.BLESSING_RULE_VERSION: decision.rule_version,
            keys.BLESSING_SUMMARY: decision.summary(),
            "failed_checks": [f"{r.check}/{r.name}" for r in decision.failed],
        },
        keys.LINEAGE_BLESSED_BUNDLE: dict(blessed_bundle) if blessed_bundle else None,
        keys.LINEAGE_DEPLOYED_REVISION: None,
    }
