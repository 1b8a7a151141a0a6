#!/bin/sh
# What CI needs for tests/monitoring (and the rollout's real-Prometheus tests): Debian's
# prometheus package (Prometheus 2.42 with promtool) and prometheus-pushgateway (1.5, where the
# drift job pushes its verdicts), installed when missing.
set -eu
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
    || ! command -v prometheus-pushgateway >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        prometheus prometheus-pushgateway
fi
# The packages' services are not wanted: the tests start their own on 127.0.0.1.
prometheus --version 2>&1 | head -n 1
prometheus-pushgateway --version 2>&1 | head -n 1
