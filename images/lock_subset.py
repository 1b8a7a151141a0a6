"""Write the part of a hashed lock file that an image needs (run inside the image build).

    python lock_subset.py requirements.lock OUT [--drop NAME ...]

A package is left out when it is named with ``--drop`` or when everything that pulls it in
(the lock file's ``# via`` lines, written by ``uv pip compile``) is left out; a package the
project itself asks for (``via kfp-tabular``) stays unless dropped by name. Every kept entry is
copied as it is, hashes included, so ``pip install --require-hashes --no-deps`` still checks
each wheel. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==")
_VIA_ONE = re.compile(r"^\s+# via (\S.*)$")
_VIA_MANY = re.compile(r"^\s+#   (\S.*)$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(text: str) -> tuple[list[str], dict[str, list[str]], dict[str, set[str]]]:
    """(header lines, {package: its lines}, {package: the packages it is there for})."""
    header: list[str] = []
    blocks: dict[str, list[str]] = {}
    parents: dict[str, set[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if match := _ENTRY.match(line):
            current = _normal(match.group(1))
            blocks[current], parents[current] = [line], set()
            continue
        if current is None:
            header.append(line)
            continue
        blocks[current].append(line)
        if via := _VIA_ONE.match(line) or _VIA_MANY.match(line):
            parents[current].add(_normal(via.group(1).split(" (")[0].split()[0]))
    return header, blocks, parents


def subset(text: str, drop: set[str]) -> tuple[str, list[str]]:
    """The lock text without ``drop`` and what only they pull in; and the names left out."""
    header, blocks, parents = parse(text)
    gone = {_normal(name) for name in drop}
    unknown = gone - set(blocks)
    if unknown:
        raise SystemExit(f"lock_subset: not in the lock file: {', '.join(sorted(unknown))}")
    changed = True
    while changed:
        changed = False
        for name, via in parents.items():
            if name not in gone and via and via <= gone:
                gone.add(name)
                changed = True
    kept = [line for name, lines in blocks.items() if name not in gone for line in lines]
    return "\n".join(header + kept) + "\n", sorted(gone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--drop", nargs="*", default=[], help="package names to leave out")
    args = parser.parse_args(argv)
    text, gone = subset(args.lock.read_text(), set(args.drop))
    args.out.write_text(text)
    print(f"lock_subset: {len(gone)} packages left out: {' '.join(gone) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
