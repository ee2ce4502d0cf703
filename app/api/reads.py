"""The router's polling reads, the inventory page and the event feed, as plain HTTP answers: status,
headers and body from the query, the If-None-Match header and the node. The API blueprint sends
them through Flask; the router's front (app.front) sends them without it (Flask's request machinery
cost it more CPU than the read itself). Both ports parse the query, tag the page and refuse bad input
here, so they answer alike. Bad input raises ApiProblem or a DomainError, as everywhere in the API."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from app.services import feed, inventory

from .http import int_param, number_param, tag_matches

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]  # Content-Type when there is a body; never Content-Length


def inventory_answer(node, args: Mapping[str, str], if_none_match: str | None) -> Answer:
    """GET /api/v1/inventory: a page of per-SKU totals with an entity tag; 304 when the router
    already has it."""
    after = args.get("after")
    limit = int_param(args, "limit", 100, 1, 1000)
    as_of_seq, body = inventory.inventory_page_json(node.uow, after=after, limit=limit)
    # Every stock change writes an event, so as_of_seq versions the totals; the day is in the tag
    # because velocity windows move with the calendar even when nothing happens.
    key = f"{node.stream_id}|{as_of_seq}|{after or ''}|{limit}|{node.uow.clock().date().isoformat()}"
    etag = f'"inv-{as_of_seq}-{hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]}"'
    if tag_matches(if_none_match, etag):
        return Answer(304, b"", (("ETag", etag),))
    return Answer(200, f'{{"stream_id":{json.dumps(node.stream_id)},{body[1:]}'.encode(),
                  (("ETag", etag), ("Content-Type", JSON)))


def events_answer(node, args: Mapping[str, str]) -> Answer:
    """GET /api/v1/events: a page of the feed after the router's cursor (a long poll with `wait`)."""
    limit = int_param(args, "limit", 100, 1, 1000)
    wait = number_param(args, "wait", 0, 0, 30)
    body = feed.read_events_json(node.uow, node.settings.node_id, after=args.get("after"), limit=limit,
                                 wait=wait, watch=node.watch)
    return Answer(200, body.encode(), (("Content-Type", JSON),))
