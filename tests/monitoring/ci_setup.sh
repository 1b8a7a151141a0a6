#!/bin/sh
# What CI needs for tests/monitoring (and the rollout's real-Prometheus tests): Debian's
# prometheus package (Prometheus 2.42 with promtool), installed when missing.
set -eu
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
fi
# The package's service is not wanted: the tests start their own Prometheus on 127.0.0.1.
prometheus --version 2>&1 | head -n 1
