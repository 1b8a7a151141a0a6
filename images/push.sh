#!/usr/bin/env bash
# Push the images `make images` built to IMAGE_REGISTRY (`make push`) and record the digest each
# push produced in build/images.json, for `kfp-tabular compile --registry ... --digests`.
#
#   IMAGE_REGISTRY=europe-docker.pkg.dev/my-proj/ml images/push.sh [components|serving ...]
#
# Log in first (`docker login`, `gcloud auth configure-docker europe-docker.pkg.dev`, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY=${IMAGE_REGISTRY:-ghcr.io/kfp-tabular}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' components/__init__.py)
RECORD=build/images.json
DOCKER=${DOCKER:-docker}
IMAGES=("$@")
[[ ${#IMAGES[@]} -gt 0 ]] || IMAGES=(components serving)

pushed=()
for image in "${IMAGES[@]}"; do
    tag="$REGISTRY/$image:$VERSION"
    "$DOCKER" image inspect "$tag" >/dev/null 2>&1 || {
        echo "push: $tag is not built here: make images IMAGE_REGISTRY=$REGISTRY" >&2
        exit 1
    }
    echo "push: $tag"
    "$DOCKER" push "$tag" | tail -1
    # The registry's digest of what was pushed (the manifest digest a pod pulls by).
    digest=$("$DOCKER" image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$tag" \
        | grep -F "$REGISTRY/$image@" | head -1 | cut -d@ -f2)
    [[ -n "$digest" ]] || {
        echo "push: no digest recorded for $tag after the push" >&2
        exit 1
    }
    echo "push: $REGISTRY/$image@$digest"
    pushed+=("$image" "$REGISTRY/$image:$VERSION@$digest")
done
python3 - "$RECORD" "${pushed[@]}" <<'EOF'
import json, sys
from pathlib import Path
path = Path(sys.argv[1])
record = json.loads(path.read_text()) if path.exists() else {}
pairs = sys.argv[2:]
for image, reference in zip(pairs[::2], pairs[1::2]):
    record.setdefault(image, {})["pushed"] = reference
path.parent.mkdir(exist_ok=True)
path.write_text(json.dumps(record, indent=2) + "\n")
EOF
echo "push: digests recorded in $RECORD; pin them: kfp-tabular compile --registry $REGISTRY --digests $RECORD"
