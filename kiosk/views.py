"""Kiosk routes: server-driven htmx screens over the station director. Every response is the
screen the station shows next; htmx requests get the partial, everything else the full page."""
from __future__ import annotations

import hmac
import json
import queue
import secrets

from flask import (
    Blueprint, Response, current_app, redirect, render_template, request, session, stream_with_context, url_for,
)
from flask_htmx import HTMX

from app.domain import errors
from app.domain.orders import BACKLOG_STATES
from app.domain.packing import CARTONS
from app.domain.stock import ADJUSTMENT_REASONS, SHORT_REASONS
from app.floor import StationDirector
from app.floor import queries
from app.services import printing

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")
htmx = HTMX()
CSRF_HEADER = "X-CSRF-Token"
HEARTBEAT_S = 15.0


@bp.record_once
def _setup(state) -> None:
    app = state.app
    htmx.init_app(app)
    node = app.extensions["wes"]
    # One director per node, even when several apps share the node: two directors would both
    # answer every serial scan and light button.
    director = node.floor
    if director is None:
        director = StationDirector(node.uow, node.devices, node_id=node.settings.node_id,
                                   sscc_prefix=node.settings.sscc_prefix)
        node.floor = director
    app.extensions["wes_floor"] = director


def director() -> StationDirector:
    return current_app.extensions["wes_floor"]


def node():
    return current_app.extensions["wes"]


# ---- CSRF ----------------------------------------------------------------------------------------
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.before_request
def _check_csrf():
    token = csrf_token()
    if request.method == "POST":
        sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(sent, token):
            return _message_page("This page is out of date (security token). Reload and try again.", 403)
    return None


@bp.app_context_processor
def _globals():
    return {"csrf_token": csrf_token if request and request.blueprint == "kiosk" else (lambda: ""),
            "SHORT_REASONS": sorted(SHORT_REASONS), "ADJUSTMENT_REASONS": sorted(ADJUSTMENT_REASONS),
            "CARTONS": [c.code for c in CARTONS]}


@bp.errorhandler(errors.NotFound)
def _not_found(exc):
    return _message_page(exc.message, 404)


def _message_page(message: str, code: int):
    if htmx:
        return render_template("_message.html", message=message), code
    return render_template("message.html", message=message), code


# ---- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def index():
    station = session.get("station")
    if station:
        return redirect(url_for("kiosk.station", sid=station))
    return redirect(url_for("kiosk.stations"))


@bp.get("/stations")
def stations():
    return render_template("stations.html", stations=director().stations())


@bp.get("/stations/<sid>")
def station(sid: str):
    st = director().view(sid)
    session["station"] = sid
    return _screen(st, full=not htmx)


@bp.get("/stations/<sid>/screen")
def screen(sid: str):
    return _screen(director().view(sid), full=False)


@bp.post("/stations/<sid>/scan")
def scan(sid: str):
    director().wedge(sid, request.form.get("code", ""))
    return _screen(director().view(sid))


@bp.post("/stations/<sid>/act/<action>")
def act(sid: str, action: str):
    params = {k: v for k, v in request.form.items() if k != "csrf_token"}
    director().act(sid, action, **params)
    return _screen(director().view(sid))


@bp.post("/stations/<sid>/picks")
def pick_json(sid: str):
    """JSON for handheld apps that scan bin and item themselves: {"location", "item", "qty"} confirms
    the station's current task in one request (same director rules, lights and SSE as the screens)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {"ok": False, "message": "send a JSON object with location, item and qty"}, 400
    outcome = director().act(sid, "pick", location=str(body.get("location", "")), item=str(body.get("item", "")),
                             qty=str(body.get("qty", 1)))
    st = director().view(sid)
    progress = {k: st.batch.get(k) for k in ("batch_id", "tasks_done", "tasks_total")} if st.batch else None
    return {"ok": outcome.ok, "message": outcome.message, "code": outcome.data.get("code"), "next": st.task,
            "batch": progress}, 200 if outcome.ok else 409


@bp.get("/stations/<sid>/jobs/<ref>")
def jobs(sid: str, ref: str):
    return render_template("_jobs.html", st=director().view(sid), jobs=director().print_jobs(ref), ref=ref)


@bp.get("/stations/<sid>/overview")
def overview(sid: str):
    st = director().view(sid)
    if st.operator is None or st.operator["role"] not in ("supervisor", "admin"):
        return _message_page("Supervisors only", 403)
    return render_template("_overview.html", st=st, **_overview_data())


def _overview_data() -> dict:
    n = node()
    node_status = n.status()
    open_states = tuple(str(s) for s in BACKLOG_STATES)
    return {
        "status": node_status,
        "oldest": queries.oldest_unshipped(n.uow, open_states),
        "pickers": queries.picks_per_picker(n.uow),
        "stations": director().stations(),
        "checks": n.devices.checks() if n.devices is not None else {},
        "print_queue": printing.print_queue(n.uow, limit=15),
        "exceptions": queries.open_exceptions(n.uow, limit=20),
        "exception_orders": queries.orders_in(n.uow, ("exception",)),
        "cancel_pending": queries.orders_in(n.uow, ("cancel_pending",)),
    }


def _screen(st, full: bool = False):
    ctx = {"st": st, "last": st.last}
    if st.screen == "pack" and st.package:
        ctx["jobs"] = director().print_jobs(st.package["order_id"])
    if full:
        return render_template("station.html", **ctx)
    return render_template("_screen.html", **ctx)


# ---- server-sent events --------------------------------------------------------------------------
@bp.get("/stations/<sid>/events")
def events(sid: str):
    d = director()
    d.view(sid)  # 404 for unknown stations before the stream starts
    heartbeat = float(current_app.config.get("KIOSK_SSE_HEARTBEAT_S", HEARTBEAT_S))
    q = d.subscribe(sid)

    def stream():
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    outcome = q.get(timeout=heartbeat)
                except queue.Empty:
                    yield ": heartbeat\n\n"
                    continue
                if outcome is None:  # the server is shutting down
                    return
                data = {"seq": outcome.seq, "ok": outcome.ok, "sound": outcome.sound, "screen": outcome.screen}
                yield f"event: outcome\ndata: {json.dumps(data)}\n\n"
        finally:
            d.unsubscribe(sid, q)

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
