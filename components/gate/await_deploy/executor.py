"""Placeholder for deploy: check the blessing, record "blessed, not yet deployed".

Like TFX's pusher (``CheckBlessing``), it reads the blessing artifact instead of trusting the
branch it runs in; unlike a pusher, it deploys nothing. Replace this step with deploy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from components._shared import keys
from components._shared.artifacts import ArtifactLike, set_display_name, write_text_atomic
from components._shared.bundle import sha256_file
from components._shared.errors import DataReadError

STATUS: Final = "blessed, not yet deployed"


def run(*, bundle: ArtifactLike, blessing: ArtifactLike, record: ArtifactLike) -> dict:
    """Write the placeholder record; refuse a blessing that does not bless.

    Raises:
        DataReadError: the blessing is unreadable or does not say ``blessed: true``.
    """
    try:
        verdict = json.loads(Path(blessing.path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataReadError(f"cannot read the blessing at {blessing.path!r}: {exc}") from None
    if verdict.get(keys.BLESSING_BLESSED) is not True:
        raise DataReadError(
            f"blessing {blessing.path!r}: expected blessed=true, got "
            f"{verdict.get(keys.BLESSING_BLESSED)!r} ({verdict.get(keys.BLESSING_SUMMARY)})"
        )
    out = {
        "status": STATUS,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        keys.BLESSING_BUNDLE_URI: bundle.uri or bundle.path,
        "manifest_sha256": sha256_file(Path(bundle.path) / keys.MANIFEST_FILE),
        keys.BLESSING_RULE_VERSION: verdict.get(keys.BLESSING_RULE_VERSION),
        keys.LINEAGE_DEPLOYED_REVISION: None,
    }
    write_text_atomic(record.path, json.dumps(out, indent=2) + "\n")
    record.metadata["status"] = STATUS
    set_display_name(record, STATUS)
    return out
