"""``kfp-tabular render-examples [--check]``: manifests/examples/ from what deploy renders.

Writes one file per platform, mode and strategy (KServe Knative and Standard, Seldon; direct,
canary, shadow) and the segment-routing InferenceGraphs (switch, splitter), every document
validated against the strict CRD schemas (components/deploy/examples.py). ``--check`` writes
nothing and exits 1 when a checked-in file differs from what the code renders now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Write (or check) the rendered examples; 0 ok, 1 out of date (--check)."""
    from components.deploy import examples

    parser = argparse.ArgumentParser(prog="kfp-tabular render-examples", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    parser.add_argument(
        "--out", type=Path, default=examples.EXAMPLES_DIR, help="directory of the examples"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = examples.differences(args.out)
        for line in stale:
            print(f"kfp-tabular render-examples: {line}", file=sys.stderr)
        if stale:
            print("run `kfp-tabular render-examples` to regenerate them", file=sys.stderr)
        return 1 if stale else 0
    for path in examples.write(args.out):
        print(args.out / path)
    return 0
