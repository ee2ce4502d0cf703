"""The kiosk's cookie: the browser's floor session id (app.floor.sessions), read before each kiosk
request and sent back when it was issued or rotated. HttpOnly, SameSite=Strict, Secure under
WES_HTTPS, and a lifetime no longer than a login may last."""
from __future__ import annotations

from flask import Response, current_app, request
from flask.sessions import NullSession, SessionInterface
from werkzeug.http import dump_cookie, parse_cookie

COOKIE = "wes_floor"
SESSION = "wes.floor_session"  # the request's floor session, kept in its WSGI environ


def session_of(floor, environ):
    """The request's floor session, resolved once per request (Flask's views and hooks and the hot
    routes of kiosk.hot all ask here)."""
    s = environ.get(SESSION)
    if s is None:
        s = environ[SESSION] = floor.sessions.resolve(parse_cookie(environ).get(COOKIE))
    return s


def current_session(floor):
    return session_of(floor, request.environ)


def cookie_header(environ, settings, endpoint: str | None) -> str | None:
    """The Set-Cookie value to send when the request's session was issued or rotated, else None."""
    s = environ.get(SESSION)
    if s is None or not s.issued:
        return None
    if _background_read(environ, endpoint):
        # A screen refresh or live stream that left before a login or logout rotated the cookie
        # arrives with the old value: the browser already holds the new one, which a new cookie
        # here would overwrite (logging it out). It gets the login screen, and no cookie.
        return None
    value = dump_cookie(COOKIE, s.issued, max_age=int(settings.kiosk_session_hours * 3600), path="/kiosk",
                        httponly=True, samesite="Strict", secure=bool(settings.https))
    s.issued = None
    return value


def send_cookie(response: Response) -> Response:
    value = cookie_header(request.environ, current_app.extensions["wes"].settings, request.endpoint)
    if value is not None:
        response.headers.add("Set-Cookie", value)
    return response


class NoCookieSessions(SessionInterface):
    """Flask's own cookie session is not used: identity lives in the floor session, so requests
    (the router's API included) cost nothing to open or save a session."""

    def open_session(self, app, request):
        return NullSession()

    def save_session(self, app, session, response) -> None:
        return None


def _background_read(environ, endpoint: str | None) -> bool:
    """A GET the page makes by itself (htmx refresh, event stream) that presented a cookie."""
    return (environ.get("REQUEST_METHOD") == "GET" and bool(parse_cookie(environ).get(COOKIE))
            and (bool(environ.get("HTTP_HX_REQUEST")) or endpoint == "kiosk.events"))
