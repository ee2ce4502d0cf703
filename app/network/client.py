"""The router's side of the node contract over HTTP: one NodeClient per node (base URL + token).

Errors are sorted by what the router may conclude from them: `NotDelivered` (the connection was
never made: the node cannot have acted on the request, so it is safe to send it elsewhere),
`NoAnswer` (the request may have reached the node: only repeating it at the same node is safe,
every write of the contract being idempotent), `CursorExpired` (410) and `NodeRefused` (any other
4xx/5xx, with the node's problem document)."""
from __future__ import annotations

import threading

import requests

TIMEOUT_S = 5.0


class NodeError(Exception):
    pass


class NotDelivered(NodeError):
    """The connection to the node could not be made."""


class NoAnswer(NodeError):
    """The request went out; no usable answer came back."""


class CursorExpired(NodeError):
    """410 cursor-expired: resync from the snapshot."""


class NodeRefused(NodeError):
    def __init__(self, status: int, problem: dict):
        super().__init__(f"{status} {problem.get('code', '')}: {problem.get('detail', problem.get('title', ''))}")
        self.status = status
        self.problem = problem


class NodeClient:
    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT_S):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            s.trust_env = False   # no proxy/netrc lookups per request: nodes are reached directly
            s.headers["Authorization"] = f"Bearer {self.token}"
        return s

    def close(self) -> None:
        s = getattr(self._local, "session", None)
        if s is not None:
            s.close()

    def request(self, method: str, path: str, body=None, params=None, timeout: float | None = None,
                ok=(200, 201)) -> requests.Response:
        try:
            resp = self._session().request(method, self.base + path, json=body, params=params,
                                           timeout=(2.0, timeout or self.timeout))
        except requests.exceptions.ConnectTimeout as exc:
            raise NotDelivered(str(exc)) from None
        except requests.ConnectionError as exc:
            # Refused / unreachable before a byte was sent; a reset after sending is NoAnswer.
            text = repr(exc)
            if "NewConnectionError" in text or "Connection refused" in text or "Failed to establish" in text:
                raise NotDelivered(str(exc)) from None
            raise NoAnswer(str(exc)) from None
        except requests.RequestException as exc:
            raise NoAnswer(str(exc)) from None
        if resp.status_code in ok:
            return resp
        try:
            problem = resp.json()
        except ValueError:
            problem = {"detail": resp.text[:200]}
        if not isinstance(problem, dict):
            problem = {"detail": str(problem)[:200]}
        if resp.status_code in (502, 503) and problem.get("code") == "node-unavailable":
            raise NotDelivered(problem.get("detail", "node unavailable"))  # the front did not pass it on
        if resp.status_code == 410:
            raise CursorExpired(problem.get("detail", "cursor expired"))
        if resp.status_code >= 500 and resp.status_code != 503:
            raise NoAnswer(f"{resp.status_code}: {problem.get('detail', '')}")
        raise NodeRefused(resp.status_code, problem)

    # -- the contract ----------------------------------------------------------------------------------
    def status(self) -> dict:
        return self.request("GET", "/status", ok=(200, 503), timeout=3.0).json()

    def events(self, after: str | None, limit: int = 500, wait: float = 0) -> dict:
        params = {"limit": limit, "wait": int(wait)}
        if after is not None:
            params["after"] = after
        return self.request("GET", "/events", params=params, timeout=wait + 5.0).json()

    def inventory(self) -> tuple[str, list[dict]]:
        """The whole snapshot, page by page: (stream_id, items), each item with the `as_of_seq` of its
        own page (pages are read at different moments; each SKU's events apply after its page's seq)."""
        items, after, stream = [], None, None
        while True:
            params = {"limit": 1000}
            if after is not None:
                params["after"] = after
            page = self.request("GET", "/inventory", params=params).json()
            stream = stream or page["stream_id"]
            items += [{**item, "as_of_seq": page["as_of_seq"]} for item in page["items"]]
            after = page.get("next_cursor")
            if not after or not page["items"]:
                return stream, items

    def put_order(self, order_id: str, body: dict) -> dict:
        return self.request("PUT", f"/orders/{order_id}", body).json()

    def get_order(self, order_id: str) -> dict | None:
        try:
            return self.request("GET", f"/orders/{order_id}").json()
        except NodeRefused as exc:
            if exc.status == 404:
                return None
            raise

    def put_transfer(self, transfer_id: str, body: dict) -> dict:
        return self.request("PUT", f"/transfer-orders/{transfer_id}", body).json()

    def get_transfer(self, transfer_id: str) -> dict | None:
        try:
            return self.request("GET", f"/transfer-orders/{transfer_id}").json()
        except NodeRefused as exc:
            if exc.status == 404:
                return None
            raise

    def put_inbound(self, asn_id: str, body: dict) -> dict:
        return self.request("PUT", f"/inbound-shipments/{asn_id}", body).json()
