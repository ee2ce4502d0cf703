"""RFC 9457 problem details: the one shape every API error takes (domain errors, HTTP errors,
bad input). Handlers are registered on the blueprint; unmatched URLs under /api/v1 are caught
at app level so the router never sees an HTML error page."""
from __future__ import annotations

import logging

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from app.domain.errors import DomainError

log = logging.getLogger("wes.api")
PROBLEM_JSON = "application/problem+json"


class ApiProblem(Exception):
    """An HTTP-level refusal raised by the API layer itself (auth, content type, bad query)."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict] | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors = errors
        self.headers = headers or {}


INTERNAL_ERROR = "the node failed to handle this request; it has been logged"


def problem_document(status: int, code: str, detail: str, errors: list[dict] | None = None, **extra) -> dict:
    """The problem+json body (also sent by the router's front, app.front, outside Flask)."""
    body = {"type": f"urn:node-wes:problem:{code}", "title": code.replace("-", " ").capitalize(),
            "status": status, "detail": detail, "code": code}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


def problem(status: int, code: str, detail: str, errors: list[dict] | None = None,
            headers: dict | None = None, **extra) -> Response:
    return problem_response(status, problem_document(status, code, detail, errors, **extra), headers)


def problem_response(status: int, document: dict, headers: dict | None = None) -> Response:
    resp = Response(json.dumps(document), status=status, mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def validation_problem(detail: str, field: str, message: str) -> ApiProblem:
    return ApiProblem(422, "validation-error", detail, errors=[{"field": field, "message": message}])


def from_domain(exc: DomainError) -> Response:
    return problem_response(*domain_problem(exc))


def api_problem(exc: ApiProblem) -> tuple[int, dict, dict]:
    """(status, problem document, headers) of a refusal by the API layer."""
    return exc.status, problem_document(exc.status, exc.code, exc.detail, exc.errors), exc.headers


def domain_problem(exc: DomainError) -> tuple[int, dict, dict]:
    """(status, problem document, headers) of a domain error (also sent by the router's front,
    app.front, outside Flask)."""
    details = dict(exc.details)
    errors = details.pop("errors", None)
    if errors is None and exc.code == "validation-error":
        errors = [{"field": str(details.get("field", "")), "message": exc.message}]
    extra = {k: v for k, v in details.items() if k in ("order_id", "version", "sku", "remaining")}
    headers = {"ETag": f'"{details["version"]}"'} if exc.status == 412 and "version" in details else {}
    if getattr(exc, "retry_after_s", None):  # storage-full: the router should come back, not give up
        headers["Retry-After"] = str(exc.retry_after_s)
    return exc.status, problem_document(exc.status, exc.code, exc.message, errors, **extra), headers


HTTP_CODES = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 413: "payload-too-large",
              415: "unsupported-media-type"}


def from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem(status, HTTP_CODES.get(status, "http-error"), exc.description or exc.name, headers=headers)


def register(bp) -> None:
    @bp.errorhandler(DomainError)
    def _domain(exc):
        return from_domain(exc)

    @bp.errorhandler(ApiProblem)
    def _api(exc):
        return problem_response(*api_problem(exc))

    @bp.errorhandler(HTTPException)
    def _http(exc):
        return from_http(exc)

    @bp.errorhandler(Exception)
    def _unexpected(exc):  # a bug, not bad input: logged with its stack, answered as a problem
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal-error", INTERNAL_ERROR)

    @bp.app_errorhandler(404)
    @bp.app_errorhandler(405)
    def _unrouted(exc):
        if request.path.startswith(bp.url_prefix + "/") or request.path == bp.url_prefix:
            return from_http(exc)
        return exc
