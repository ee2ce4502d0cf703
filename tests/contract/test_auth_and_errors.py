"""Bearer auth on everything but the OpenAPI document; problem+json for every refusal; never a
5xx for bad input; /status maps fail to 503."""
from __future__ import annotations

import json
import time

import pytest
import requests

from .conftest import order_body, problem_of

ENDPOINTS = [("PUT", "/orders/RO-1"), ("GET", "/orders/RO-1"), ("PATCH", "/orders/RO-1"), ("GET", "/orders"),
             ("POST", "/orders/RO-1/cancellation"), ("GET", "/events"), ("GET", "/inventory"),
             ("PUT", "/inbound-shipments/ASN-1"), ("GET", "/inbound-shipments/ASN-1"), ("GET", "/status")]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dGVzdDp0ZXN0", "Bearer", "bearer  "])
def test_every_endpoint_needs_the_bearer_token(api, header):
    headers = {"Authorization": header} if header else {}
    for method, path in ENDPOINTS:
        r = requests.request(method, api.base + path, headers=headers, json=order_body(("SKU-1", 1)))
        problem_of(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get(f"{api.base}/orders").json()["orders"] == []


def test_the_openapi_document_is_public_and_lists_every_route(api, app):
    r = requests.get(f"{api.base}/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m != "parameters"}
    routed = {(m, "/" + rule.rule.split("/api/v1/", 1)[1].replace("<", "{").replace(">", "}"))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


def test_the_token_is_compared_in_constant_time(monkeypatch, api):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    api.get(f"{api.base}/status")
    assert calls


BAD_BODIES = [
    b"{", b"", b"null", b"[]", b'"text"', b"\xff\xfe", b'{"lines": NaN}', b'{"priority": Infinity}',
    b'{"priority": 1' + b"0" * 5000 + b"}", b'{"lines": [{"line_id": "1", "sku": "SKU-1", "qty": 1e999}]}',
    b"[" * 100000 + b"]" * 100000, b'{"lines": [{"line_id": "\\ud800", "sku": "SKU-1", "qty": 1}], "ship_to": {}}',
    json.dumps({"lines": [{"line_id": "ü€😀\u0000", "sku": "SKU-😀", "qty": 99999999999999999999999}],
                "ship_to": {"name": "\u202e" * 300}}).encode(),
    json.dumps({"lines": [{"line_id": "1", "sku": "SKU-1", "qty": 2 ** 70}], "ship_to": {}, "priority": -2 ** 70}).encode(),
]


@pytest.mark.parametrize("raw", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_input_is_a_4xx_problem_never_a_5xx(api, raw):
    for method, path in [("PUT", "/orders/RO-1"), ("PATCH", "/orders/RO-1"), ("PUT", "/inbound-shipments/A-1"),
                         ("POST", "/orders/RO-1/cancellation")]:
        r = api.request(method, api.base + path, data=raw, headers={"Content-Type": "application/json",
                                                                    "If-Match": '"1"'})
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
        assert r.headers["Content-Type"].startswith("application/problem+json")


def test_wrong_content_type_is_415_and_a_huge_body_is_413(api):
    r = api.put(f"{api.base}/orders/RO-1", data=json.dumps(order_body(("SKU-1", 1))),
                headers={"Content-Type": "text/plain"})
    problem_of(r, 415, "unsupported-media-type")
    r = api.put(f"{api.base}/orders/RO-1", data=b'{"x": "' + b"a" * (3 * 1024 * 1024) + b'"}',
                headers={"Content-Type": "application/json"})
    problem_of(r, 413)
    ok = api.put(f"{api.base}/orders/RO-1", data=json.dumps(order_body(("SKU-1", 1))),
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 201


def test_unknown_routes_and_methods_are_problems(api):
    problem_of(api.get(f"{api.base}/nothing-here"), 404, "not-found")
    r = api.delete(f"{api.base}/orders/RO-1")
    problem_of(r, 405, "method-not-allowed")
    assert "PUT" in r.headers["Allow"]
    problem_of(api.get(f"{api.base}/orders/a%2Fb"), 404)


def test_query_strings_with_odd_unicode_are_refused_cleanly(api):
    for params in ({"limit": "１０"}, {"limit": "1" * 40}, {"status": "\u0000"}, {"after": "٣"}, {"wait": "1e400"}):
        for path in ("/orders", "/events", "/inventory"):
            r = api.get(api.base + path, params=params)
            assert r.status_code < 500, (path, params, r.text[:200])


def test_status_reports_pass_or_warn_with_200_and_fail_with_503(api, monkeypatch):
    doc = api.get(f"{api.base}/status")
    assert doc.status_code == 200
    body = doc.json()
    assert body["status"] in ("pass", "warn") and body["node_id"] == "N1" and body["boot_id"] == api.node.boot_id
    assert {"received", "allocated", "picking", "picked", "packed", "oldest_unshipped_age_s"} <= set(body["backlog"])
    assert body["checks"]["db:latency"][0]["observedUnit"] == "ms"
    assert body["head_seq"] > 0
    monkeypatch.setattr(api.node.devices, "checks", lambda: {"printer:lp-1": [{"status": "fail", "output": "offline"}]})
    warn = _status_once_changed(api, "warn")
    assert (warn.status_code, warn.json()["status"]) == (200, "warn")
    assert warn.json()["checks"]["printer:lp-1"] == [{"status": "fail", "output": "offline"}]
    monkeypatch.setattr(api.node.devices, "checks", lambda: {"db:disk": [{"status": "fail", "output": "disk full"}]})
    failed = _status_once_changed(api, "fail")
    assert (failed.status_code, failed.json()["status"], failed.json()["accepting_orders"]) == (503, "fail", False)


def _status_once_changed(api, expected: str):
    """The node's port answers at once; the router's front copies the node's status every 0.1 s here."""
    resp = api.get(f"{api.base}/status")
    deadline = time.monotonic() + 3
    while resp.json()["status"] != expected and time.monotonic() < deadline:
        time.sleep(0.02)
        resp = api.get(f"{api.base}/status")
    return resp
