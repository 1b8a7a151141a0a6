"""Print the sha256 of the source that goes into the images (images/build.sh labels them with it).

The container tests compare an image's label with the working tree's hash, so that a test
never runs code older than the tree it checks without saying so ("image is stale: make images").
Hashed: every file under components/, serving/, pipelines/ and kfp_tabular/ (bytecode caches
aside), pyproject.toml, requirements.lock and both Dockerfiles' helpers, by path and content.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("components", "serving", "pipelines", "kfp_tabular")
FILES = ("pyproject.toml", "requirements.lock", "images/lock_subset.py", "images/slim_venv.sh")


def source_hash(root: Path = ROOT) -> str:
    """sha256 over (relative path, content) of every hashed file, in sorted order."""
    paths = [root / name for name in FILES]
    for folder in FOLDERS:
        paths += [
            p
            for p in (root / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(source_hash() + "\n")
