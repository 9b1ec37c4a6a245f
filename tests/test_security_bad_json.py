"""JSON the platform cannot store or answer faithfully is a 400 with one line, never a 500: deep
nesting, integers of thousands of digits, NaN and Infinity, lone surrogates, ``?after=2^63``."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from security_platform import DEMO, platform

BAD = {
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "nesting past the limit": '{"a":' * 40 + "1" + "}" * 40,
    "huge integer": '{"score": ' + "9" * 5000 + "}",
    "integer over 64 bits": '{"score": 9223372036854775808}',
    "NaN": '{"subject": "service", "score": NaN}',
    "Infinity": '{"subject": "service", "score": 5, "x": Infinity}',
    "-Infinity": '[-Infinity]',
    "float overflow": '{"score": 1e999}',
    "lone surrogate": '{"comment": "\\ud800"}',
    "surrogate key": '{"\\udfff": 1}',
}
PATHS = ["/api/v1/ratings", "/api/v1/submissions", "/api/v1/service-requests",
         "/api/v1/kiosks/demo-kiosk-001/heartbeat", "/api/v1/echo"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with platform(tmp_path_factory.mktemp("json") / "p.sqlite3", test_endpoints=True) as serving:
        yield serving


def strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} in an answer")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(BAD))
def test_bad_json_is_400_with_one_line(server, path, case):
    response = requests.post(server.url + path, data=BAD[case].encode("utf-8"), timeout=30,
                             headers={**DEMO, "Content-Type": "application/json",
                                      "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 400, (case, response.status_code, response.text[:200])
    error = strict(response.text)["error"]
    assert "\n" not in error and len(error) < 200


@pytest.mark.parametrize("case", ["deep nesting", "huge integer", "NaN", "lone surrogate"])
def test_bad_json_in_a_multipart_payload_is_400(server, case):
    response = requests.post(server.url + "/api/v1/submissions", timeout=30,
                             headers={**DEMO, "Idempotency-Key": str(uuid.uuid4())},
                             files=[("payload", (None, BAD[case].encode("utf-8"), "application/json"))])
    assert response.status_code == 400, response.text[:200]


@pytest.mark.parametrize("after", [str(2**63), str(10**30), "-1", "1e3", "NaN"])
def test_out_of_range_query_numbers_are_400(server, after):
    response = requests.get(server.url + "/api/v1/echo", params={"after": after}, headers=DEMO, timeout=10)
    assert response.status_code == 400
    assert "\n" not in response.json()["error"]


def test_the_largest_values_still_round_trip(server):
    body = {"n": 2**63 - 1, "m": -(2**63), "f": 1.5e300, "nested": [[[[1]]]]}
    stored = requests.post(server.url + "/api/v1/echo", json=body, timeout=10,
                           headers={**DEMO, "Idempotency-Key": str(uuid.uuid4())})
    assert stored.status_code == 201 and strict(stored.text)["received"] == body
