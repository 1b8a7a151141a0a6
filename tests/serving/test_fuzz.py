"""Fuzz the runtime's REST API from its own OpenAPI document: no request may get a 5xx.

schemathesis reads /openapi.json from the running server and generates requests for every
operation, both valid ones (from the bundle's column types) and invalid ones (negative mode:
wrong types, missing fields, out-of-schema values). A client's mistake must be a 4xx, and the
server must still be up afterwards. Bounded: a fixed number of examples per operation.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.serving.conftest import Runtime

EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 60}


def test_fuzzed_requests_never_get_a_server_error(runtime: Runtime) -> None:
    schema = schemathesis.openapi.from_url(f"{runtime.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    failures: list[str] = []
    for mode, examples in EXAMPLES_PER_OPERATION.items():
        for operation in operations:
            is_post = operation.method.upper() == "POST"
            if mode is GenerationMode.NEGATIVE and not is_post:
                continue  # a GET without parameters has nothing to make invalid
            budget = examples if is_post else 5

            @settings(
                max_examples=budget,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(base_url=runtime.url, timeout=10)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]} (body {str(case.body)[:300]})"
                    )

            call()
    assert not failures, "\n".join(failures[:10])
    assert runtime.alive()
