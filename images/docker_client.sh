#!/usr/bin/env bash
# Print the path of a docker client that can build with BuildKit (the Dockerfiles use RUN --mount):
# one with the buildx plugin, or one older than 23.0 whose built-in BuildKit works with
# DOCKER_BUILDKIT=1 (Debian's docker.io package). A newer client without buildx is passed over:
# it refuses BuildKit builds ("buildx component is missing").
set -uo pipefail
candidates=()
command -v docker >/dev/null 2>&1 && candidates+=("$(command -v docker)")
if command -v dpkg >/dev/null 2>&1; then
    while read -r path; do candidates+=("$path"); done < <(dpkg -L docker.io 2>/dev/null | grep '/bin/docker$')
fi
for client in "${candidates[@]}"; do
    [[ -x "$client" ]] || continue
    if "$client" buildx version >/dev/null 2>&1; then
        echo "$client"
        exit 0
    fi
    major=$("$client" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [[ "$major" =~ ^[0-9]+$ && "$major" -lt 23 ]]; then
        echo "$client"
        exit 0
    fi
done
echo "docker_client: no docker client that builds with BuildKit (install docker.io, or the buildx plugin)" >&2
exit 1
