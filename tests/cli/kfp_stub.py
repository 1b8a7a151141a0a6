"""KfpRestStub: a local HTTP stub of the Kubeflow Pipelines v2beta1 REST API, for tests.

No KFP API server can run on the development machines, so the CLI's ``submit`` and
``schedule`` talk to this stub through the real kfp.Client 2.17. It is a stub, not a fake
server: it answers only the calls kfp.Client 2.17 makes for those commands, shaped like the
real server's answers in ``shared/reference/kfp_client_2.17.0_trace.jsonl`` and
``KFP_REST_AND_SELDON_FACTS.md`` (protojson: snake_case names, empty fields omitted, int64 as
strings, errors ``{"code", "message", "details"}``), and records every request for the test to
assert on. Routes:

- ``GET  /apis/v2beta1/healthz``                 -> ``{"multi_user", "pipeline_store", ...}``
- ``GET  /apis/v2beta1/experiments?filter=&namespace=`` -> ``{}`` or ``{"experiments", "total_size"}``
- ``POST /apis/v2beta1/experiments``             -> the Experiment
- ``POST /apis/v2beta1/runs``                    -> the Run, ``state: PENDING``
- ``GET  /apis/v2beta1/runs/{id}``               -> the Run; each GET moves along ``run_states``
- ``POST /apis/v2beta1/recurringruns``           -> the RecurringRun, ``status: ENABLED|DISABLED``

Like the server it rejects unknown request fields (400, code 3), an empty display name, a
max_concurrency outside 1..10 and a missing namespace in multi-user mode; anything else is
404 (code 5). ``pipelines/upload`` is not stubbed: the CLI sends the spec inline with the run,
as ``create_run_from_pipeline_package`` does (no upload, per the trace).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/apis/v2beta1"
CREATED_AT = "2025-01-01T00:00:00Z"
NEVER = "1970-01-01T00:00:00Z"  # how the server writes an unset timestamp

# Request fields the server accepts (experiment.proto, run.proto, recurring_run.proto inputs).
EXPERIMENT_FIELDS = {"display_name", "description", "namespace"}
RUN_FIELDS = {
    "experiment_id",
    "display_name",
    "description",
    "pipeline_spec",
    "pipeline_version_reference",
    "pipeline_version_id",
    "runtime_config",
    "service_account",
}
RECURRING_RUN_FIELDS = {
    "display_name",
    "description",
    "pipeline_spec",
    "pipeline_version_reference",
    "pipeline_version_id",
    "runtime_config",
    "service_account",
    "max_concurrency",
    "trigger",
    "mode",
    "no_catchup",
    "experiment_id",
}


@dataclass
class Recorded:
    """One request as the stub received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None


class StubError(Exception):
    """An error answer: HTTP status and a gRPC-gateway body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class KfpRestStub:
    """A stub of the KFP v2beta1 REST API on a free localhost port (see the module docstring).

    ``run_states``: the states a new run reports, one more per ``GET /runs/{id}`` (the last one
    repeats). ``run_error``: the Run's ``error`` once it is FAILED. ``inject``: an answer to
    return instead, keyed by ``(method, path)``; the value is ``(status, body)`` where body may
    be a function of the recorded request.
    """

    multi_user: bool = False
    run_states: list[str] = field(default_factory=lambda: ["PENDING", "RUNNING", "SUCCEEDED"])
    run_error: dict[str, Any] | None = None
    inject: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    recurring_runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._script: dict[str, list[str]] = {}
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> KfpRestStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as urllib3 pools connections

            def do_GET(self) -> None:
                stub._handle(self)

            def do_POST(self) -> None:
                stub._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet tests

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the host to give kfp.Client."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- what tests read ---------------------------------------------------------------------

    def calls(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request, in order."""
        return [(r.method, r.path) for r in self.requests]

    def bodies(self, method: str, path: str) -> list[Any]:
        """The JSON bodies of the requests to ``method path``."""
        return [r.body for r in self.requests if (r.method, r.path) == (method, path)]

    # -- dispatch ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        request = Recorded(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            try:
                status, answer = self._answer(request)
            except StubError as error:
                status = error.status
                answer = {"code": error.code, "message": error.message, "details": []}
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, request: Recorded) -> tuple[int, Any]:
        key = (request.method, request.path)
        if key in self.inject:
            status, body = self.inject[key]
            return status, body(request) if callable(body) else body
        routes: dict[tuple[str, str], Callable[[Recorded], Any]] = {
            ("GET", f"{API}/healthz"): self._healthz,
            ("GET", f"{API}/experiments"): self._list_experiments,
            ("POST", f"{API}/experiments"): self._create_experiment,
            ("POST", f"{API}/runs"): self._create_run,
            ("POST", f"{API}/recurringruns"): self._create_recurring_run,
        }
        if key in routes:
            return 200, routes[key](request)
        if request.method == "GET" and request.path.startswith(f"{API}/runs/"):
            return 200, self._get_run(request.path.rsplit("/", 1)[1])
        raise StubError(404, 5, f"KfpRestStub: no route for {request.method} {request.path}")

    # -- handlers, server-shaped -------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    @staticmethod
    def _check_fields(body: Any, allowed: set[str], kind: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StubError(400, 3, f"{kind}: request body must be a JSON object")
        unknown = sorted(set(body) - allowed)
        if unknown:
            # protojson with DiscardUnknown=false, as the API server decodes requests.
            raise StubError(400, 3, f'proto: (line 1:2): unknown field "{unknown[0]}"')
        if not body.get("display_name"):
            raise StubError(400, 3, f"Invalid input error: The {kind} name is empty")
        return body

    def _healthz(self, request: Recorded) -> Any:
        return {
            "commit_sha": "stub",
            "tag_name": "2.17.0-stub",
            "multi_user": self.multi_user,
            "pipeline_store": "database",
        }

    def _list_experiments(self, request: Recorded) -> Any:
        names = set()
        for raw in request.query.get("filter", []):
            for predicate in json.loads(raw).get("predicates", []):
                if predicate.get("key") == "display_name":
                    names.add(predicate.get("stringValue") or predicate.get("string_value"))
        namespace = (request.query.get("namespace") or [""])[0]
        found = [
            e
            for e in self.experiments.values()
            if (not names or e["display_name"] in names) and e.get("namespace", "") == namespace
        ]
        # protojson omits empty fields: no match is "{}", not an empty list.
        return {"experiments": found, "total_size": len(found)} if found else {}

    def _create_experiment(self, request: Recorded) -> Any:
        body = self._check_fields(request.body, EXPERIMENT_FIELDS, "experiment")
        if self.multi_user and not body.get("namespace"):
            raise StubError(400, 3, "Invalid input error: Missing namespace")
        experiment = {
            "experiment_id": self._new_id("exp"),
            "display_name": body["display_name"],
            "created_at": CREATED_AT,
            "storage_state": "AVAILABLE",
            "last_run_created_at": NEVER,
        }
        if body.get("description"):
            experiment["description"] = body["description"]
        if body.get("namespace"):
            experiment["namespace"] = body["namespace"]
        self.experiments[experiment["experiment_id"]] = experiment
        return experiment

    def _check_experiment(self, body: dict[str, Any]) -> None:
        if body.get("experiment_id") and body["experiment_id"] not in self.experiments:
            raise StubError(404, 5, f"Experiment {body['experiment_id']} not found")

    def _create_run(self, request: Recorded) -> Any:
        body = self._check_fields(request.body, RUN_FIELDS, "run")
        self._check_experiment(body)
        run_id = self._new_id("run")
        self._script[run_id] = list(self.run_states)
        run = {
            **body,
            "run_id": run_id,
            "storage_state": "AVAILABLE",
            "created_at": CREATED_AT,
            "scheduled_at": CREATED_AT,
            "finished_at": NEVER,
            "state": self._script[run_id][0],
        }
        self.runs[run_id] = run
        return run

    def _get_run(self, run_id: str) -> Any:
        if run_id not in self.runs:
            raise StubError(404, 5, f"Failed to get run: Run {run_id} not found")
        script = self._script[run_id]
        if len(script) > 1:
            script.pop(0)
        run = self.runs[run_id]
        run["state"] = script[0]
        if script[0] in {"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}:
            run["finished_at"] = CREATED_AT
            if script[0] == "FAILED" and self.run_error:
                run["error"] = self.run_error
        return run

    def _create_recurring_run(self, request: Recorded) -> Any:
        body = self._check_fields(request.body, RECURRING_RUN_FIELDS, "recurring run")
        self._check_experiment(body)
        concurrency = int(body.get("max_concurrency", 1))
        if not 1 <= concurrency <= 10:
            raise StubError(
                400,
                3,
                f"Invalid input error: max concurrency of the job is out of range: {concurrency}",
            )
        trigger = body.get("trigger") or {}
        if len(trigger) != 1 or next(iter(trigger)) not in ("cron_schedule", "periodic_schedule"):
            raise StubError(400, 3, "Invalid input error: a trigger is required")
        recurring_run = {
            **body,
            "recurring_run_id": self._new_id("rr"),
            "max_concurrency": str(concurrency),  # int64 is a JSON string
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
            "status": "DISABLED" if body.get("mode") == "DISABLE" else "ENABLED",
        }
        self.recurring_runs[recurring_run["recurring_run_id"]] = recurring_run
        return recurring_run
