#!/usr/bin/env bash
# Build the component and serving images (`make images`), tag them with the package version and
# record what was built in build/images.json (image ID, size, base, seconds).
#
#   images/build.sh [components|serving ...]        default: both
#
# Environment (the Makefile passes its variables of the same names):
#   IMAGE_REGISTRY  registry/namespace of the tags     (default ghcr.io/kfp-tabular)
#   BASE_IMAGE      base of both images                (default: the Dockerfiles' pinned upstream
#                   python slim image; when that is not set and the offline base of `make base`
#                   exists locally, that one, as the build says)
#   CA_BUNDLE       CA bundle handed to pip as the BuildKit secret `ca`, for a TLS-intercepting
#                   proxy (default: the one pip is configured with here, if any; CA_BUNDLE=none
#                   for no secret)
#   DOCKER          the docker client (default: the first that can build with BuildKit)
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY=${IMAGE_REGISTRY:-ghcr.io/kfp-tabular}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' components/__init__.py)
OFFLINE_BASE=${OFFLINE_BASE:-kfp-tabular/base:bookworm-py3.11}
RECORD=build/images.json
IMAGES=("$@")
[[ ${#IMAGES[@]} -gt 0 ]] || IMAGES=(components serving)

DOCKER=${DOCKER:-$(images/docker_client.sh)}
export DOCKER_BUILDKIT=1

ca_bundle() {
    # The CA bundle pip uses on this machine: its environment, its configuration, then the system's.
    local candidate
    for candidate in "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" \
        "$(python3 -m pip config get global.cert 2>/dev/null || true)" \
        /etc/ssl/certs/ca-certificates.crt; do
        if [[ -n "$candidate" && -s "$candidate" ]]; then
            echo "$candidate"
            return
        fi
    done
}

CA=${CA_BUNDLE:-$(ca_bundle)}
SECRET=()
if [[ -n "$CA" && "$CA" != none ]]; then
    SECRET=(--secret "id=ca,src=$CA")
fi

BASE=${BASE_IMAGE:-}
if [[ -z "$BASE" ]] && "$DOCKER" image inspect "$OFFLINE_BASE" >/dev/null 2>&1; then
    BASE=$OFFLINE_BASE
    echo "images: base $BASE (the offline base of \`make base\`; BASE_IMAGE=... chooses another)"
fi
# The source the images hold, as a label: tests/containers refuse a stale image by it.
BUILD_ARGS=(--label "io.kfp-tabular.source-sha256=$(python3 images/source_hash.py)")
[[ -z "$BASE" ]] || BUILD_ARGS+=(--build-arg "BASE_IMAGE=$BASE")

mkdir -p build
declare -A DOCKERFILE=([components]=components/Dockerfile [serving]=serving/Dockerfile)
entries=()
for image in "${IMAGES[@]}"; do
    tag="$REGISTRY/$image:$VERSION"
    start=$(date +%s)
    echo "images: building $tag (${DOCKERFILE[$image]})"
    log="build/$image.build.log"
    extra=()  # the component image's compiled pipelines name the registry it is built for
    [[ "$image" != components ]] || extra=(--build-arg "IMAGE_REGISTRY=$REGISTRY")
    if ! "$DOCKER" build --progress=plain "${BUILD_ARGS[@]}" "${extra[@]}" "${SECRET[@]}" \
        -f "${DOCKERFILE[$image]}" -t "$tag" . >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "images: building $tag failed; the whole log is $log" >&2
        exit 1
    fi
    grep -E 'lock_subset:' "$log" | sed 's/^#[0-9]* [0-9.]* /images:   /' || true
    seconds=$(($(date +%s) - start))
    read -r id size < <("$DOCKER" image inspect -f '{{.Id}} {{.Size}}' "$tag")
    echo "images: $tag $id $((size / 1000000)) MB, $seconds s"
    entries+=("\"$image\": {\"tag\": \"$tag\", \"id\": \"$id\", \"size_bytes\": $size, \"base\": \"${BASE:-dockerfile default}\", \"build_seconds\": $seconds}")
done
# Merge into the record: images built earlier keep their entries.
python3 - "$RECORD" "${entries[@]}" <<'EOF'
import json, sys
from pathlib import Path
path = Path(sys.argv[1])
record = json.loads(path.read_text()) if path.exists() else {}
for entry in sys.argv[2:]:
    record.update(json.loads("{" + entry + "}"))
path.write_text(json.dumps(record, indent=2) + "\n")
EOF
echo "images: recorded in $RECORD"
