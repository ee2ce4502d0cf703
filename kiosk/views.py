"""Kiosk routes: parse the request, call the floor once, render the screen the station shows
next (the partial for htmx requests, the full page otherwise). Who acts is the browser's floor
session; only a session holding the station sees or changes its work."""
from __future__ import annotations

import hmac
import json
import queue

from flask import Blueprint, Response, current_app, redirect, render_template, request, stream_with_context, url_for
from flask_htmx import HTMX

from app.domain import errors
from app.domain.orders import BACKLOG_STATES
from app.domain.packing import CARTONS
from app.domain.permissions import MODE_TITLES, may, modes_for
from app.domain.stock import ADJUSTMENT_REASONS, SHORT_REASONS
from app.floor import Floor, SessionPolicy
from app.floor.streams import StreamRefused
from app.services import operators, printing, supervision
from app.services.inbound import BLIND_REASONS

from .fragments import Fragments
from .sessions import current_session, send_cookie, session_of

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")
htmx = HTMX()
CSRF_HEADER = "X-CSRF-Token"
HEARTBEAT_S = 15.0
STREAM_MAX_S = 600.0  # a live screen reconnects this often, so no stream holds a thread for ever
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"),
                    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))


@bp.record_once
def _setup(state) -> None:
    app = state.app
    htmx.init_app(app)
    node = app.extensions["wes"]
    # One floor per node, even when several apps share the node: two would both answer every
    # serial scan and light button.
    if node.floor is None:
        s = node.settings
        node.floor = Floor(node.uow, node.devices, node_id=s.node_id, sscc_prefix=s.sscc_prefix,
                           session_policy=SessionPolicy(idle_s=s.kiosk_idle_min * 60,
                                                        lifetime_s=s.kiosk_session_hours * 3600),
                           max_streams=s.kiosk_max_streams)
        metrics = getattr(node, "metrics", None)
        if metrics is not None:  # scans, taps and light buttons by outcome, once per node
            node.floor.observe(lambda kind, outcome: metrics.floor_outcome(outcome.screen, outcome.ok, outcome.code))
    app.extensions["wes_floor"] = node.floor
    app.extensions["wes_kiosk_fragments"] = Fragments()
    # the names every template may use, built once (a context processor runs for every render)
    app.extensions["wes_kiosk_globals"] = {
        "SHORT_REASONS": sorted(SHORT_REASONS), "ADJUSTMENT_REASONS": sorted(ADJUSTMENT_REASONS),
        "CARTONS": [c.code for c in CARTONS], "MODE_TITLES": MODE_TITLES, "BLIND_REASONS": BLIND_REASONS, "may": may}


def floor() -> Floor:
    return current_app.extensions["wes_floor"]


def node():
    return current_app.extensions["wes"]


# ---- session, CSRF, headers ------------------------------------------------------------------------
@bp.before_request
def _check_csrf():
    if request.endpoint == "kiosk.static":
        return None
    session = session_of(floor(), request.environ)
    if request.method == "POST":
        if csrf_refused(session, request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")):
            return _expired_page()
    return None


def csrf_refused(session, sent: str | None) -> bool:
    """A POST must send its session's token (header or form field): another site's form cannot."""
    return not hmac.compare_digest(sent or "", session.csrf)


@bp.after_request
def _headers(response):
    for name, value in SECURITY_HEADERS:
        response.headers[name] = value
    if request.endpoint != "kiosk.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return send_cookie(response)


@bp.app_context_processor
def _globals():
    return current_app.extensions["wes_kiosk_globals"]


@bp.errorhandler(errors.NotFound)
def _not_found(exc):
    return _message_page(exc.message, 404)


def _message_page(message: str, code: int):
    if htmx:
        return render_template("_message.html", message=message), code
    return render_template("message.html", message=message), code


def _expired_page():
    """A stale page (its session ended, or the node restarted without keeping it): back to login."""
    resp = _message_page("This screen was out of date (its login ended). Log in again.", 403)
    if htmx:
        resp = (resp[0], 403, {"HX-Refresh": "true"})
    return resp


def _request_id() -> str | None:
    return request_id_of(request.headers.get("Idempotency-Key"), request.form.get("request_id"))


def request_id_of(idempotency_key: str | None, form_value: str | None) -> str | None:
    """The client's id for this request: the Idempotency-Key header, else the form's request_id."""
    return idempotency_key or form_value or None


def render_part(app, name: str, **ctx) -> str:
    """A partial of a station's screen, rendered by Jinja alone with the kiosk's globals: partials
    use only what they are given (no request, g, session proxy or url_for; a test holds them to
    it), so a scan answered without Flask's request context renders what Flask would."""
    return app.jinja_env.get_template(name).render(app.extensions["wes_kiosk_globals"], **ctx)


# ---- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def index():
    s = current_session(floor())
    if s.station:
        return redirect(url_for("kiosk.station", sid=s.station))
    return redirect(url_for("kiosk.stations"))


@bp.get("/stations")
def stations():
    return render_template("stations.html", stations=floor().stations())


@bp.get("/stations/<sid>")
def station(sid: str):
    return _screen(sid, full=not htmx)


@bp.get("/stations/<sid>/screen")
def screen(sid: str):
    return _screen(sid, full=False)


@bp.post("/stations/<sid>/scan")
def scan(sid: str):
    return scan_answer(current_app, sid, request.form.get("code", ""), _request_id(),
                       session_of(floor(), request.environ), request.script_root)


def scan_answer(app, sid: str, code: str, request_id: str | None, session, script_root: str) -> str:
    """A scan typed or wedged into the station's page, answered with its screen (the partial):
    served by Flask or by kiosk.hot, which needs no request context for it."""
    app.extensions["wes_floor"].wedge(sid, code, session, request_id=request_id)
    return screen_html(app, sid, session, script_root)


@bp.post("/stations/<sid>/act/<action>")
def act(sid: str, action: str):
    f = floor()
    outcome = f.act(sid, action, request.form.to_dict(), current_session(f), request_id=_request_id())
    return _screen(sid, confirm=outcome.data.get("confirm"))


@bp.post("/stations/<sid>/picks")
def pick_json(sid: str):
    """JSON for handheld apps that scan bin and item themselves: {"location", "item", "qty",
    "request_id"} confirms the station's current task in one request (same rules, lights and
    screens as the kiosk). A replay of a request id books nothing and answers as the first time."""
    f = floor()
    return pick_answer(f, sid, pick_body(request), request.headers.get("Idempotency-Key"),
                       session_of(f, request.environ))


def pick_body(req) -> bytes:
    """At most 4 KiB of the request's body (b"" when it says it is longer)."""
    return req.get_data(cache=False)[:4097] if (req.content_length or 0) <= 4096 else b""


def pick_answer(f: Floor, sid: str, raw: bytes, idempotency_key: str | None, session) -> tuple[dict, int]:
    """The handheld route's answer (JSON document, status), served by Flask or by kiosk.hot."""
    body = _small_json(raw)
    if not isinstance(body, dict):
        return {"ok": False, "code": "bad-input",
                "message": "send a JSON object with location, item, qty and request_id (at most 4 KiB)"}, 400
    request_id = idempotency_key or body.pop("request_id", None)
    if not isinstance(request_id, str) or not request_id:
        return {"ok": False, "code": "bad-input",
                "message": "request_id is required: a new random id per confirmation, the same one when retrying"}, 400
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    outcome = f.act(sid, "pick", form, session, request_id=request_id)
    st = f.station(sid)
    p = st.pick if f.holds(session, st) else None
    progress = {k: p.batch.get(k) for k in ("batch_id", "tasks_done", "tasks_total")} if p and p.batch else None
    status = 200 if outcome.ok else {"login-required": 401, "not-allowed": 403, "bad-input": 400}.get(outcome.code, 409)
    return {"ok": outcome.ok, "message": outcome.message, "code": outcome.code,
            "replayed": bool(outcome.data.get("replayed")), "next": p.task if p else None, "batch": progress}, status


def _small_json(raw: bytes):
    if not raw or len(raw) > 4096:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None


@bp.get("/stations/<sid>/jobs/<ref>")
def jobs(sid: str, ref: str):
    f = floor()
    st = f.station(sid)
    if not f.holds(current_session(f), st):
        return _message_page(f"Log in at {sid} first", 403)
    return render_template("_label_status.html", st=st, jobs=f.flows["pack"].jobs(ref), ref=ref,
                           label_and_slip=f.flows["pack"].label_and_slip(ref))


@bp.get("/stations/<sid>/overview")
def overview(sid: str):
    f = floor()
    st = f.station(sid)
    if not f.holds(current_session(f), st) or not may(st.role, "mode:supervise"):
        return _message_page("Supervisors only", 403)
    return render_template("_overview.html", st=st, **_overview_data())


def _overview_data() -> dict:
    n = node()
    open_states = tuple(str(s) for s in BACKLOG_STATES)
    return {
        "status": n.status(),
        "oldest": supervision.oldest_unshipped(n.uow, open_states),
        "pickers": supervision.picks_per_picker(n.uow),
        "stations": floor().stations(),
        "checks": n.devices.checks() if n.devices is not None else {},
        "print_queue": printing.print_queue(n.uow, limit=15),
        **supervision.exception_board(n.uow, limit=20),
        "locked_badges": operators.locked_badges(n.uow),
    }


def _screen(sid: str, full: bool = False, confirm: dict | None = None):
    return screen_html(current_app._get_current_object(), sid, current_session(floor()), request.script_root,
                       full=full, confirm=confirm)


def screen_html(app, sid: str, session, script_root: str, full: bool = False, confirm: dict | None = None) -> str:
    """The station's screen as `session` sees it: the whole page (full) or the partial htmx swaps in."""
    f = app.extensions["wes_floor"]
    st = f.station(sid)
    held = f.holds(session, st)
    ctx = {"st": st, "held": held, "session": session, "csrf": session.csrf, "confirm": confirm,
           "modes": modes_for(st.role) if held else ()}
    if held:
        ctx["last"], ctx["seq"], ctx["screen"] = st.last, st.seq, st.screen
        if st.screen == "pack" and st.pack.package:
            ctx["jobs"] = f.flows["pack"].jobs(st.pack.package["order_id"])
            ctx["label_and_slip"] = f.flows["pack"].label_and_slip(st.pack.package["order_id"])
        if st.screen == "putwall":
            ctx["wall"] = f.flows["putwall"].wall()
        if st.screen == "dock":
            ctx["dock_board"] = f.flows["dock"].board()
    else:
        # a free station's own scanner speaks to whoever stands at its screen; a held one's does not
        mine, station = session.last, st.last if st.holder is None else None
        last = max((o for o in (mine, station) if o is not None), key=lambda o: o.seq, default=None)
        ctx["last"], ctx["seq"], ctx["screen"] = last, last.seq if last else 0, "login"
        ctx["pending_badge"] = session.pending_badge or st.pending_badge
    page = "station.html" if full else "_screen.html"
    parts: Fragments = app.extensions["wes_kiosk_fragments"]
    parts.warm(app.jinja_env, (page, "_screen.html", "_bar.html", f"_{ctx['screen']}.html"))
    ctx["bar"] = _bar(app, parts, ctx, script_root)
    if ctx["screen"] == "pick":
        parts.warm(app.jinja_env, ("_pick_totes.html", "_pick_short.html"))
        ctx.update(pick_parts(app, parts, st))
    if full:  # the page (base.html) links its scripts and styles with url_for: Flask renders it
        return render_template(page, **ctx)
    return render_part(app, page, **ctx)


def _bar(app, parts: Fragments, ctx: dict, script_root: str):
    """The header bar: station, operator, the modes they may switch to."""
    st, held, modes = ctx["st"], ctx["held"], ctx["modes"]
    key = ("_bar.html", script_root, st.station, held, st.operator["name"] if held else None, modes, st.mode)
    return parts.get(key, lambda: render_part(app, "_bar.html", st=st, held=held, modes=modes, root=script_root,
                                              base=f"/kiosk/stations/{st.station}"))


TOTES_SHOWN = 12  # a cart holds a dozen totes; a longer list would only push the buttons off a handheld


def pick_parts(app, parts: Fragments, st) -> dict:
    """The table of the cart's totes (the current one marked) and the short panel of the task on
    screen; {} when the screen shows no task (the template shows neither then). The table is kept
    per cart and current tote: a cart's dozen totes give a dozen tables, each reused at every
    later task of its order."""
    p = st.pick
    t, batch = p.task, p.batch
    if t is None or batch is None or p.totes_pending:
        return {}
    base = f"/kiosk/stations/{st.station}"
    orders = batch["orders"]
    current = t["order_id"]
    shown = tuple((o["tote"], o["order_id"]) for o in orders[:TOTES_SHOWN])
    totes = parts.get(("_pick_totes.html", shown, current, len(orders)),
                      lambda: render_part(app, "_pick_totes.html", rows=shown, current=current,
                                          more=max(0, len(orders) - TOTES_SHOWN)))
    short = parts.get(("_pick_short.html", base, t["remaining"]),
                      lambda: render_part(app, "_pick_short.html", base=base, t=t))
    return {"tote_rows": totes, "short_panel": short}


# ---- server-sent events --------------------------------------------------------------------------
@bp.get("/stations/<sid>/events")
def events(sid: str):
    f = floor()
    session = current_session(f)
    try:
        sub = f.open_stream(sid, session)
    except errors.NotAllowed as exc:
        return Response(exc.message, status=403, mimetype="text/plain")
    except StreamRefused as exc:
        return Response(str(exc), status=429, mimetype="text/plain", headers={"Retry-After": "30"})
    heartbeat = float(current_app.config.get("KIOSK_SSE_HEARTBEAT_S", HEARTBEAT_S))
    max_s = float(current_app.config.get("KIOSK_SSE_MAX_S", STREAM_MAX_S))

    def stream():
        import time

        end = time.monotonic() + max_s
        try:
            yield "retry: 2000\n\n"
            while time.monotonic() < end:
                try:
                    outcome = sub.queue.get(timeout=heartbeat)
                except queue.Empty:
                    f.expire_idle()
                    yield ": heartbeat\n\n"
                    continue
                if outcome is None:  # the session ended or the server is shutting down
                    yield "event: ended\ndata: {}\n\n"
                    return
                data = {"seq": outcome.seq, "ok": outcome.ok, "sound": outcome.sound, "screen": outcome.screen}
                yield f"event: outcome\ndata: {json.dumps(data)}\n\n"
        finally:
            f.streams.close(sub)

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
