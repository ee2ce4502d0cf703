"""HTTP-level parsing for the API: bearer auth, JSON bodies, query parameters, entity tags.
Everything here refuses bad input with a problem (4xx); nothing reaches a service unchecked."""
from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Mapping

from flask import current_app, request

from .problems import ApiProblem, validation_problem

INT_RE = re.compile(r"^-?[0-9]{1,18}$")
ETAG_LIST_RE = re.compile(r'^\s*(\*|(W/)?"[!#-~]*"(\s*,\s*(W/)?"[!#-~]*")*)\s*$')


def node():
    return current_app.extensions["wes"]


# the router's front (app.front) serves the feed and tells the node, on its status poll, how far the
# router has read it (pruning waits for that)
READ_THROUGH_HEADER = "X-Wes-Feed-Read-Through"
UNAUTHORIZED = "a valid bearer token is required (Authorization: Bearer <token>)"
CHALLENGE = 'Bearer realm="node-wes"'


def bearer_ok(header: str, expected: str) -> bool:
    """`Authorization: Bearer <token>` compared in constant time (also the router's front, app.front)."""
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8", "replace"),
                                                              expected.encode())


def require_bearer() -> None:
    """Against WES_ROUTER_TOKEN; 401 with a challenge otherwise."""
    if not bearer_ok(request.headers.get("Authorization", ""), node().settings.router_token):
        raise ApiProblem(401, "unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": CHALLENGE})


def json_body(optional: bool = False):
    """The request body as a JSON value; 415 for another content type, 400 when it is not JSON."""
    raw = request.get_data(cache=True)
    if optional and not raw:
        return {}
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ApiProblem(415, "unsupported-media-type", "send the body as application/json")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants, parse_float=_number)
        # Lone surrogates decode from \ud800 escapes but cannot be stored or hashed as UTF-8.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise ApiProblem(400, "malformed-json", f"the body is not valid UTF-8 JSON: {str(exc)[:120]}") from None
    return body


def _number(text: str):
    """JSON has one number type: 2.0 is the integer 2 (as JSON Schema says), 2.5 stays a float."""
    value = float(text)
    if math.isfinite(value) and value.is_integer() and abs(value) < 2 ** 63:
        return int(value)
    return value


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    return int_param(request.args, name, default, lo, hi)


def int_param(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query parameter from `args` (the parsed query: the first value of each name),
    or 422. Without Flask's request, for the router's front (app.front) as well."""
    raw = args.get(name)
    if raw is None:
        return default
    if not INT_RE.match(raw) or not lo <= int(raw) <= hi:
        raise validation_problem(f"{name} must be a whole number from {lo} to {hi}", name, f"from {lo} to {hi}")
    return int(raw)


def number_param(args: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    """A number of seconds from the query (as int_param), or 422."""
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", raw) or not lo <= value <= hi:
        raise validation_problem(f"{name} must be a number of seconds from {lo:g} to {hi:g}", name,
                                 f"from {lo:g} to {hi:g}")
    return value


def if_match_version(current_version_of) -> int:
    """The order version named by If-Match: 428 without one, 422 when malformed. `*` means the
    current version (looked up by `current_version_of()`); no matching tag → 0, which the service answers
    with 412 once the body is known to be valid."""
    raw = request.headers.get("If-Match", "")
    if not raw.strip():
        raise ApiProblem(428, "precondition-required",
                         'send If-Match: "<version>" with the ETag of the order you read')
    if not ETAG_LIST_RE.match(raw):
        raise validation_problem('If-Match must be an entity tag such as "3"', "If-Match", "not an entity tag")
    tags = [t.strip() for t in raw.split(",")]
    if "*" in tags:
        return current_version_of()
    # Strong comparison (RFC 9110 13.1.1): weak tags and tags that are not versions never match.
    versions = [int(t[1:-1]) for t in tags
                if t.startswith('"') and t[1:-1].isascii() and t[1:-1].isdigit() and len(t) < 20]
    if len(versions) == 1:
        return versions[0]
    # Several tags: match them here. No match returns 0 (no order has it), so the service still
    # checks the body first and then answers 412.
    current = current_version_of() if versions else 0
    return current if current in versions else 0


def tag_matches(raw: str | None, etag: str) -> bool:
    """True when an If-None-Match value `raw` names `etag` (weak comparison) or is `*`."""
    if not raw:
        return False
    tags = [t.strip() for t in raw.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags
