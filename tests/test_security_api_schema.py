"""The OpenAPI document describes every request body, header and answer, and the real server keeps to
it: schemathesis sends generated requests (with a kiosk token and with none) to the platform on a
loopback port and fails on any 5xx, an undocumented status, or an answer that breaks its schema."""
from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from backend.access import AccessPolicy
from backend.auth import AuthThrottle
from security_platform import DEMO, platform

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Few examples per operation and per token: the point is every operation, every documented body and
# answer shape, in well under a minute on a loaded two-core machine.
EXAMPLES = 15
NEGATIVE_EXAMPLES = 8
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # Generous limits, so that generated requests reach the routes instead of the throttles
    # (the throttles have their own tests).
    with platform(tmp_path_factory.mktemp("schema") / "p.sqlite3",
                  auth_throttle=AuthThrottle(failures_allowed=10**9),
                  access_policy=AccessPolicy(subjects_per_hour=10**9, unknown_receipts_per_hour=10**9)) as server:
        yield server


def operations(served):
    loaded = schemathesis.openapi.from_url(served.url + "/api/v1/openapi.json")

    found = [result.ok() for result in loaded.get_all_operations()]
    assert len(found) >= 10
    return found


def fuzz(served, headers: dict[str, str], *, as_the_kiosk: bool, mode: GenerationMode = GenerationMode.POSITIVE,
         checks: list = CHECKS) -> tuple[int, list[str]]:
    """Run every operation's generated cases; (requests sent, failures as one line each).

    ``as_the_kiosk``: the kiosk names itself (X-Kiosk-Id, the heartbeat's path), so that generated
    bodies get past authentication to the routes' own checks.
    """
    sent, failures = 0, []
    for operation in operations(served):
        fixed: dict = {}
        if as_the_kiosk:
            fixed["headers"] = {"X-Kiosk-Id": "demo-kiosk-001"}
            if "{kiosk_id}" in operation.path:
                fixed["path_parameters"] = {"kiosk_id": "demo-kiosk-001"}

        @settings(FUZZ, max_examples=EXAMPLES if mode is GenerationMode.POSITIVE else NEGATIVE_EXAMPLES)
        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        def run(case):
            nonlocal sent
            sent += 1
            case.call_and_validate(base_url=served.url, headers=dict(headers), checks=checks)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing in this operation's schema can be broken (a free-form path segment)
        except Exception as exc:  # schemathesis' failure groups and assertion errors alike
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:1500]}")
    return sent, failures


def test_with_a_kiosk_token(served):
    sent, failures = fuzz(served, DEMO, as_the_kiosk=True)
    print(f"schemathesis with a kiosk token: {sent} requests")
    assert failures == [], "\n\n".join(failures)


def test_without_a_token(served):
    sent, failures = fuzz(served, {}, as_the_kiosk=False)
    print(f"schemathesis without a token: {sent} requests")
    assert failures == [], "\n\n".join(failures)


def test_requests_that_break_the_schema_never_get_a_5xx(served):
    sent, failures = fuzz(served, DEMO, as_the_kiosk=True, mode=GenerationMode.NEGATIVE,
                          checks=[not_a_server_error, status_code_conformance, content_type_conformance])
    print(f"schemathesis, schema-breaking requests: {sent} requests")
    assert failures == [], "\n\n".join(failures)


def test_the_document_declares_bodies_headers_and_refusals(served):
    document = requests.get(served.url + "/api/v1/openapi.json", timeout=10).json()
    operations = {(path, method): op for path, item in document["paths"].items() for method, op in item.items()}
    assert len(operations) >= 10
    for (path, method), operation in operations.items():
        answers = set(operation["responses"])
        if path.startswith("/api/v1/"):
            assert {"400", "401", "403", "429"} <= answers, (path, method, answers)
            assert operation["security"] == [{"kioskToken": []}]
            assert any(p["name"] == "X-Kiosk-Id" for p in operation["parameters"])
        if method == "post":
            assert "content" in operation["requestBody"], (path, method)
            assert {"413", "415", "422"} <= answers, (path, method, answers)
    submissions = operations[("/api/v1/submissions", "post")]
    assert "409" in submissions["responses"]
    assert set(submissions["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    names = {p["name"] for p in submissions["parameters"]}
    assert "Idempotency-Key" in names
    certificates = operations[("/api/v1/certificates", "get")]
    assert any(p["name"] == "X-Subject-Id-Number" and p["required"] for p in certificates["parameters"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
