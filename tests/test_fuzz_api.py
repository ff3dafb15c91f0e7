"""Property-based fuzzing of the API from its own OpenAPI document: no answer is a 5xx.

Kept short here (a few examples per operation). The longer run, against a server you start:

    emotion-analytics serve --port 8000 --jobs-db /tmp/fuzz.sqlite3 &
    .venv/bin/schemathesis run http://127.0.0.1:8000/openapi.json --checks all \\
        --exclude-checks positive_data_acceptance \\
        --max-examples 200
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from server_fixtures import LiveServer  # noqa: E402

from emotion_analytics.server.config import ServerConfig  # noqa: E402


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "jobs.sqlite3"
    with LiveServer(ServerConfig(jobs_db=db, max_body_bytes=1024 * 1024)) as srv:
        yield schemathesis.openapi.from_url(srv.url + "/openapi.json")


def _fuzz(operation, max_examples: int) -> int:
    calls = []

    @given(case=operation.as_strategy())
    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(timeout=60)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert "fault" in response.json(), response.text
        calls.append(response.status_code)

    run()
    return len(calls)


def test_no_server_errors(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 7  # 4 recognise, 2 status, health
    for operation in operations:
        assert _fuzz(operation, max_examples=12) > 0, operation.label
