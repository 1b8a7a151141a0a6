"""Docs that stay true: every repository path the README, docs/ and the component and serving
READMEs cite exists.

A cited path is a token that starts with one of the repository's top folders
(``components/_shared/io.py``, ``tests/perf/bench_drift.py``) or a backticked ``*.py`` name; it
may be written relative to the repository root, to the document's folder or to ``components/``.
Generic names that every component has (``component.py``, ``executor.py``, ``config.py``) are
not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOPS = "_shared|components|serving|pipelines|manifests|kfp_tabular|tests|docs|data|\\.ci"
CITED = re.compile(rf"`([^`\s]+\.py)`|(?<![\w/.])((?:{TOPS})/[\w./-]*[\w/])")
GENERIC = {"component.py", "executor.py", "config.py", "__init__.py", "__main__.py"}


def documents() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "serving" / "README.md", ROOT / "data" / "README.md"]
    found += sorted((ROOT / "docs").glob("*.md"))
    found += sorted((ROOT / "components").glob("*/README.md"))
    return [path for path in found if path.exists()]


def missing_paths(document: Path) -> list[str]:
    """``line: path`` for every cited path that exists nowhere it could be meant."""
    problems = []
    bases = (document.parent, ROOT, ROOT / "components")
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
        for match in CITED.finditer(line):
            cited = (match.group(1) or match.group(2)).split(":")[0].rstrip(".")
            if cited in GENERIC:
                continue
            if not any((base / cited).exists() for base in bases):
                problems.append(f"{number}: {cited}")
    return problems


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_path_exists(document: Path) -> None:
    problems = missing_paths(document)
    assert not problems, (
        f"{document.relative_to(ROOT)} cites paths that do not exist:\n" + "\n".join(problems)
    )
