# kfp-tabular: `make run` (the main job on the bundled data) and `make test` install first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
IMAGE_REGISTRY ?= ghcr.io/kfp-tabular
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' components/__init__.py)

.PHONY: install tools mlflow-server run run-adult serve stop test test-fast lint checkov compile docs check-compiled bench bench-drift bench-serving base images push clean

## install: a .venv with exactly the locked versions (idempotent)
install: $(STAMP)

$(STAMP): requirements-dev.lock requirements.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@test -x $(PY) || uv venv --quiet --python $(PYTHON) $(VENV)
	uv pip sync --quiet --compile-bytecode --python $(PY) requirements-dev.lock
	uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

## run: train_and_rollout with kfp.local on the bundled Telco churn data
run: install
	$(PY) -m kfp_tabular run --preset telco

## run-adult: the same pipeline, unchanged, on the bundled Adult data
run-adult: install
	$(PY) -m kfp_tabular run --preset adult

## serve: serve the challenger bundle of the last `make run` on localhost:8080 (V1 and V2 REST)
SERVE_PORT ?= 8080
serve: install
	@test -f local_outputs/last_run.json || { echo "no local run yet: make run first"; exit 1; }
	$(PY) -m serving --model_name=churn --http_port=$(SERVE_PORT) --enable_grpc=false \
		--model_dir="$$($(PY) -c 'import json; print(json.load(open("local_outputs/last_run.json"))["artifacts"]["compare"]["challenger"]["uri"])')"

## stop: stop the local model servers that deploy (target=local) started, from their records
stop: install
	$(PY) -m components._shared.local_serving stop local_outputs

## test: every test CI runs (unit, component via kfp.local, pipeline compile, e2e)
test: install mlflow-server
	$(PY) -m pytest -q

test-fast: install mlflow-server
	$(PY) -m pytest -q -m "not slow"

## lint: ruff (lint + format check), mypy, hadolint and checkov on the Dockerfiles, checkov on manifests/
lint: install tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint components/Dockerfile
	$(VENV)/bin/hadolint serving/Dockerfile
	$(MAKE) --no-print-directory checkov

## tools: checkov in its own virtualenv (its pinned dependencies would clash with the project's)
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@test -x $(TOOLS_VENV)/bin/python || uv venv --quiet --python $(PYTHON) $(TOOLS_VENV)
	uv pip sync --quiet --python $(TOOLS_VENV)/bin/python requirements-tools.lock
	@touch $(TOOLS_STAMP)

## mlflow-server: the MLflow tracking server the tests start (tests/tracking), in its own
## virtualenv: the full mlflow pins pyarrow<26; the project itself needs only mlflow-skinny
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed
mlflow-server: $(MLFLOW_STAMP)

$(MLFLOW_STAMP): requirements-mlflow.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@test -x $(MLFLOW_VENV)/bin/python || uv venv --quiet --python $(PYTHON) $(MLFLOW_VENV)
	uv pip sync --quiet --python $(MLFLOW_VENV)/bin/python requirements-mlflow.lock
	@touch $(MLFLOW_STAMP)

## checkov: security scan of manifests/ (kustomize base and overlays) and both Dockerfiles.
## --skip-download: offline, no Prisma Cloud calls; suppressions sit in place with their reasons.
CHECKOV := $(TOOLS_VENV)/bin/checkov --skip-download --compact --quiet
checkov: tools
	$(CHECKOV) -d manifests --framework kubernetes
	$(CHECKOV) -f components/Dockerfile -f serving/Dockerfile --framework dockerfile

## compile: pipelines/compiled/*.yaml from the pipeline functions
compile: install
	$(PY) -m kfp_tabular compile

## docs: each component README's parameter table from its config.py
docs: install
	$(PY) -m kfp_tabular docs

check-compiled: install
	$(PY) -m kfp_tabular compile --check

## bench: the validate benchmark (tests/perf, not run by CI); bench-drift, bench-serving below
bench: install
	$(PY) tests/perf/bench_validate.py

## bench-drift: fast drift verdicts vs Evidently DataDriftPreset on 1,000,000 x 25
bench-drift: install
	$(PY) tests/perf/bench_drift.py

## bench-serving: the serving benchmark (wrk, MLServer in its own venv; see tests/perf/bench_serving.py)
bench-serving: install
	$(PY) tests/perf/bench_serving.py --out tests/perf/serving_bench/results.md

## base: a Debian 12 + Python 3.11 base image built offline (debootstrap from this machine's apt
## mirror, then docker import), for machines where no container registry answers; needs root
base:
	images/offline_base.sh $(OFFLINE_BASE)

## images: both images, tagged $(IMAGE_REGISTRY)/{components,serving}:$(VERSION); records IDs, sizes
## and build times in build/images.json. BASE_IMAGE=... picks the base (default: the Dockerfiles'
## pinned upstream python slim image, or the offline base of `make base` when it exists here)
images:
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) BASE_IMAGE=$(BASE_IMAGE) OFFLINE_BASE=$(OFFLINE_BASE) images/build.sh

## push: push both images to $(IMAGE_REGISTRY) and record their digests in build/images.json;
## then `kfp-tabular compile --registry $(IMAGE_REGISTRY) --digests build/images.json`
push:
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) images/push.sh

clean:
	rm -rf local_outputs .pytest_cache .mypy_cache .ruff_cache
