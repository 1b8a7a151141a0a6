#!/bin/sh
# Remove from a virtualenv what no kfp-tabular code path loads (run in the images' build stage):
#   - the test suites that numpy, scipy, pandas, pyarrow, scikit-learn, statsmodels and psutil
#     ship inside their packages (about 150 MB with their bytecode; never imported at run time);
#   - kubernetes-validate's non-strict schema copies: components/_shared/manifests.py validates
#     with strict=True only, which reads the *-local-strict folders (about 55 MB).
# Everything else stays, bytecode included: a read-only root file system cannot cache it later.
set -eu
SITE=$(echo "${1:-/opt/venv}"/lib/python3*/site-packages)
before=$(du -sm "$SITE" | cut -f1)
for package in numpy scipy pandas pyarrow sklearn statsmodels psutil; do
    [ -d "$SITE/$package" ] && find "$SITE/$package" -depth -type d -name tests -exec rm -rf {} +
done
if [ -d "$SITE/kubernetes_validate/kubernetes-json-schema" ]; then
    find "$SITE/kubernetes_validate/kubernetes-json-schema" -mindepth 1 -maxdepth 1 -type d \
        -name 'v*-local' -exec rm -rf {} +
fi
echo "slim_venv: $SITE $before MB -> $(du -sm "$SITE" | cut -f1) MB"
