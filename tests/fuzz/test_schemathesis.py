"""schemathesis against the HTTP API's own OpenAPI document (bounded, in CI).

The API runs for real (uvicorn, a node behind it, see :mod:`tests.fuzz.live`);
schemathesis generates requests from ``/openapi.json``, positive and negative, and
checks every response: never a 5xx, a documented status code and content type, and a
body that matches the documented schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.faults.figures import Figures, bound
from tests.fuzz.live import Live, live_servers

pytestmark = pytest.mark.slow

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory) -> Iterator[Live]:
    with live_servers(tmp_path_factory.mktemp("schemathesis")) as servers:
        yield servers


def test_http_api_conforms_to_its_openapi_document(live_api: Live, figures: Figures):
    """Every operation: no 5xx, documented status/content type, body matches its schema."""
    # Operations are driven one by one with their hypothesis strategies: schemathesis'
    # lazy pytest integration (from_fixture) does not work with pytest 9 (Node._nodeid).
    schema = schemathesis.openapi.from_url(f"{live_api.http_url}/openapi.json")
    failures: list[str] = []
    per_operation: dict[str, int] = {}

    def make_test(operation: schemathesis.APIOperation, mode: GenerationMode, label: str):
        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=bound(15, 1_000),
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            figures.inputs_fuzzed += 1
            per_operation[label] = per_operation.get(label, 0) + 1
            case.call_and_validate(base_url=live_api.http_url, checks=CHECKS, timeout=30)

        return exercise

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:  # schema-valid requests, and schema-violating ones
            label = f"{operation.method.upper()} {operation.path} ({mode.value})"
            try:
                make_test(operation, mode, label)()
            except Unsatisfiable:
                continue  # no schema-violating input exists (no parameters, free strings)
            except Exception as error:  # report every operation, not only the first
                figures.crashes += 1
                failures.append(f"{label}: {error}")
    figures.note(operations=len(per_operation), examples_per_operation=per_operation)
    assert not failures, "\n\n".join(failures)
