"""The router's status, inventory and feed reads answered without Flask: Flask's request machinery
(app context, routing, hooks, response object) cost the front more CPU than these reads
themselves. The inventory and feed answers are the API blueprint's own (app.api.reads makes them
for both), the status document is the front's copy of the node's; refusals are the same problems
(401 with its challenge, 422, 410, a logged 500), sent straight to WSGI."""
from __future__ import annotations

import json
import logging
from http import HTTPStatus

from werkzeug.wrappers import Request

from app.api.http import CHALLENGE, UNAUTHORIZED, bearer_ok
from app.api.problems import INTERNAL_ERROR, ApiProblem, api_problem, domain_problem, problem_document
from app.api.reads import JSON, Answer, events_answer, inventory_answer
from app.domain.errors import DomainError

from .proxy import send_problem_document

log = logging.getLogger("wes.front")


def status_read(node, environ) -> Answer:
    """The node's status as last copied (503 with the document when it says 'fail')."""
    doc = node.status()
    return Answer(503 if doc["status"] == "fail" else 200, json.dumps(doc, separators=(",", ":")).encode(),
                  (("Content-Type", JSON),))


def inventory_read(node, environ) -> Answer:
    return inventory_answer(node, Request(environ).args, environ.get("HTTP_IF_NONE_MATCH"))


def events_read(node, environ) -> Answer:
    return events_answer(node, Request(environ).args)


# the reads answered here, by path (serves_locally decides which requests reach them)
READS = {"/api/v1/status": status_read, "/api/v1/inventory": inventory_read, "/api/v1/events": events_read}


def read_response(node, path: str, environ, start_response, headers=()):
    """The read of READS at `path`, as the blueprint answers it; `headers` go with every answer
    (the request id)."""
    if not bearer_ok(environ.get("HTTP_AUTHORIZATION", ""), node.settings.router_token):
        return _problem(start_response, 401, problem_document(401, "unauthorized", UNAUTHORIZED),
                        {"WWW-Authenticate": CHALLENGE}, headers)
    try:
        answer = READS[path](node, environ)
    except ApiProblem as exc:
        return _problem(start_response, *api_problem(exc), headers)
    except DomainError as exc:
        return _problem(start_response, *domain_problem(exc), headers)
    except Exception:  # a bug or an unreadable file: logged with its stack, answered as a problem
        log.exception("%s read failed (unhandled error on %s %s)", path.rsplit("/", 1)[-1],
                      environ.get("REQUEST_METHOD"), path)
        return _problem(start_response, 500, problem_document(500, "internal-error", INTERNAL_ERROR), {}, headers)
    sent = [*answer.headers, *headers]
    if answer.status != 304:  # a 304 has no body to measure (RFC 9110 8.6)
        sent.append(("Content-Length", str(len(answer.body))))
    start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", sent)
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else answer.body]


def _problem(start_response, status: int, document: dict, problem_headers: dict, headers):
    return send_problem_document(start_response, status, document, HTTPStatus(status).phrase,
                                 [*problem_headers.items(), *headers])
