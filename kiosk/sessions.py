"""The kiosk's cookie: the browser's floor session id (app.floor.sessions), read before each kiosk
request and sent back when it was issued or rotated. HttpOnly, SameSite=Strict, Secure under
WES_HTTPS, and a lifetime no longer than a login may last."""
from __future__ import annotations

from flask import Response, current_app, g, request
from flask.sessions import NullSession, SessionInterface

COOKIE = "wes_floor"


def current_session(floor):
    s = getattr(g, "floor_session", None)
    if s is None:
        s = g.floor_session = floor.sessions.resolve(request.cookies.get(COOKIE))
    return s


def send_cookie(response: Response) -> Response:
    s = getattr(g, "floor_session", None)
    if s is not None and s.issued and _background_read():
        # A screen refresh or live stream that left before a login or logout rotated the cookie
        # arrives with the old value: the browser already holds the new one, which a new cookie
        # here would overwrite (logging it out). It gets the login screen, and no cookie.
        return response
    if s is not None and s.issued:
        node = current_app.extensions["wes"]
        response.set_cookie(COOKIE, s.issued, max_age=int(node.settings.kiosk_session_hours * 3600), path="/kiosk",
                            httponly=True, samesite="Strict", secure=bool(node.settings.https))
        s.issued = None
    return response


class NoCookieSessions(SessionInterface):
    """Flask's own cookie session is not used: identity lives in the floor session, so requests
    (the router's API included) cost nothing to open or save a session."""

    def open_session(self, app, request):
        return NullSession()

    def save_session(self, app, session, response) -> None:
        return None


def _background_read() -> bool:
    """A GET the page makes by itself (htmx refresh, event stream) that presented a cookie."""
    return (request.method == "GET" and bool(request.cookies.get(COOKIE))
            and (bool(request.headers.get("HX-Request")) or request.endpoint == "kiosk.events"))
