"""The two requests a picker sends most, served in front of Flask's dispatch: a kiosk scan
(`POST /kiosk/stations/<sid>/scan`, answered with the screen) and a handheld confirmation
(`POST /kiosk/stations/<sid>/picks`, JSON). The node runs Python on one core, so CPU per request
is confirmations per second; Flask's request machinery (hooks through context proxies, response
objects, header objects) cost about as much as rendering the screen.

Nothing here is a second copy of the Flask path: the session (sessions.session_of), the CSRF check
(views.csrf_refused), the security headers (views.SECURITY_HEADERS), the cookie
(sessions.cookie_header), the request id, log context and timing (app.web.RequestTrail), the
views' own code (views.scan_answer, views.pick_answer), and for anything raised Flask's own error
handling are the functions the Flask path calls. Neither answer needs Flask's request context: the
screen is a partial rendered by views.render_part, and the form is read here as Flask reads it. A
request that is not the usual case (no CSRF header or a wrong one, an unknown station, a scan that
is not a small urlencoded form) is handed to Flask before anything is read or begun, and Flask
answers it as it always did."""
from __future__ import annotations

import re
import sys
from urllib.parse import parse_qsl

from werkzeug.http import HTTP_STATUS_CODES

from app.domain import errors

from .sessions import cookie_header, session_of
from .views import SECURITY_HEADERS, csrf_refused, pick_answer, pick_body, request_id_of, scan_answer

HOT = re.compile(r"/kiosk/stations/([A-Za-z0-9._-]{1,64})/(scan|picks)")
ENDPOINTS = {"scan": "kiosk.scan", "picks": "kiosk.pick_json"}
FORM = "application/x-www-form-urlencoded"
MAX_FORM = 16 * 1024  # a scan is a code and a request id; anything longer goes through Flask
# the hooks the hot routes stand in for: a hook added to the app or the kiosk must be added here too
HOOKS = {"before_request": {"_begin", "_check_csrf"}, "after_request": {"_end", "_headers"},
         "teardown_request": {"_forget"}, "url_value_preprocessor": set()}


class HotRoutes:
    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.floor = app.extensions["wes_floor"]
        self.settings = app.extensions["wes"].settings
        self.trail = app.extensions["wes_request_trail"]
        rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
        self.rules = {route: rules[endpoint] for route, endpoint in ENDPOINTS.items()}
        _check_hooks(app)

    def __call__(self, environ, start_response):
        found = HOT.fullmatch(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "POST" else None
        if found is None or not self._usual(environ, *found.groups()):
            return self.wsgi_app(environ, start_response)
        sid, route = found.groups()
        self.trail.begin(environ, sid)
        if route == "scan":
            return self._scan(environ, start_response, sid)
        return self._picks(environ, start_response, sid)

    def _usual(self, environ, sid: str, route: str) -> bool:
        # the session is kept in the environ: Flask, when it answers instead, resolves it no second time
        if csrf_refused(session_of(self.floor, environ), environ.get("HTTP_X_CSRF_TOKEN")):
            return False  # the token may be in the form; else Flask sends the page back to login
        try:
            self.floor.station(sid)
        except errors.NotFound:
            return False  # Flask's not-found page
        if route == "scan":
            length = environ.get("CONTENT_LENGTH") or ""
            return (environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() == FORM
                    and length.isdigit() and int(length) <= MAX_FORM)
        return True

    def _scan(self, environ, start_response, sid: str):
        # the screen partial needs no request context (views.render_part); Flask's error handling does
        try:
            try:
                form = _small_form(environ)
                html = scan_answer(self.app, sid, form.get("code", ""),
                                   request_id_of(environ.get("HTTP_IDEMPOTENCY_KEY"), form.get("request_id")),
                                   session_of(self.floor, environ), self.app.request_class(environ).script_root)
            except Exception:
                with self.app.request_context(environ):
                    return self._flask_error(environ, start_response)
            return self._send(environ, start_response, "scan", 200, "text/html; charset=utf-8", html.encode())
        finally:
            self.trail.forget(environ)

    def _picks(self, environ, start_response, sid: str):
        try:
            try:
                payload, status = pick_answer(self.floor, sid, pick_body(self.app.request_class(environ)),
                                              environ.get("HTTP_IDEMPOTENCY_KEY"), session_of(self.floor, environ))
                answer = self.app.json.response(payload)  # Flask's JSON, as a view's dict becomes
            except Exception:
                with self.app.request_context(environ):
                    return self._flask_error(environ, start_response)
            return self._send(environ, start_response, "picks", status, answer.content_type, answer.get_data())
        finally:
            self.trail.forget(environ)

    def _send(self, environ, start_response, route: str, status: int, content_type: str, body: bytes):
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *SECURITY_HEADERS,
                   ("Cache-Control", "no-store")]
        cookie = cookie_header(environ, self.settings, ENDPOINTS[route])
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
        rid = self.trail.end(environ, self.rules[route], "POST", status)
        if rid is not None:
            headers.append(("X-Request-Id", rid))
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}", headers)
        return [body]

    def _flask_error(self, environ, start_response):
        """In an except block, with the request context pushed: what Flask.full_dispatch_request and
        Flask.wsgi_app do with an exception (error handlers, the 500 page, the after-request hooks)."""
        app = self.app
        try:
            response = app.finalize_request(app.handle_user_exception(sys.exc_info()[1]))
        except Exception as exc:
            response = app.handle_exception(exc)
        return response(environ, start_response)


def _small_form(environ) -> dict[str, str]:
    """The scan's urlencoded form (its length checked by _usual), first value of each field, decoded
    as Flask's form parser decodes it (UTF-8, undecodable bytes replaced)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode("latin-1") if length else ""
    form: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True, encoding="utf-8", errors="replace"):
        form.setdefault(name, value)
    return form


def _check_hooks(app) -> None:
    """The hot routes call the hooks' functions themselves: a new hook would be skipped silently."""
    found = {
        "before_request": app.before_request_funcs, "after_request": app.after_request_funcs,
        "teardown_request": app.teardown_request_funcs, "url_value_preprocessor": app.url_value_preprocessors,
    }
    for kind, by_scope in found.items():
        names = {f.__name__ for scope in (None, "kiosk") for f in by_scope.get(scope, ())}
        if names != HOOKS[kind]:
            raise RuntimeError(f"kiosk.hot serves /scan and /picks without Flask's {kind} hooks {sorted(names)}: "
                               f"it calls {sorted(HOOKS[kind])}; add the new hook's function to kiosk.hot")
    if app.teardown_appcontext_funcs:  # a handheld confirmation is served without an app context
        raise RuntimeError("kiosk.hot serves /picks without an app context: teardown_appcontext hooks would not run")
