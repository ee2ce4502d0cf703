"""The remembered-cookie session interface: same answers as Flask's signed cookie, less work."""
from __future__ import annotations

from flask import Flask, session

from kiosk.sessions import RememberedCookieSessions


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def make_app(clock):
    app = Flask("t")
    app.secret_key = "s3cret"
    app.session_interface = iface = RememberedCookieSessions(size=3, ttl_s=60, clock=clock)

    @app.post("/login/<name>")
    def login(name):
        session["who"] = name
        return "ok"

    @app.get("/who")
    def who():
        return session.get("who", "-")

    @app.post("/touch")
    def touch():
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    return app, iface


def cookie_of(resp) -> str:
    header = resp.headers["Set-Cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


def remembered_login():
    """ann logs in and is seen once with her cookie, so its value is remembered."""
    app, iface = make_app(Clock())
    c = app.test_client()
    value = cookie_of(c.post("/login/ann"))
    c.get("/who")
    return app, iface, value


def test_verified_cookie_is_remembered_and_gives_the_same_session():
    clock = Clock()
    app, iface = make_app(clock)
    c = app.test_client()
    value = cookie_of(c.post("/login/ann"))
    assert c.get("/who").text == "ann"
    assert list(iface._verified) == [value]
    assert c.get("/who").text == "ann"  # from memory now


def test_altered_cookie_is_still_refused():
    app, iface, value = remembered_login()
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    other = app.test_client()
    other.set_cookie("session", forged)
    assert other.get("/who").text == "-"
    assert forged not in iface._verified


def test_changing_the_session_does_not_change_what_is_remembered():
    app, iface, value = remembered_login()
    other = app.test_client()
    other.set_cookie("session", value)
    assert other.post("/touch").text == "1"
    again = app.test_client()
    again.set_cookie("session", value)  # the old cookie again: its contents, not the touched ones
    assert again.post("/touch").text == "1"
    assert iface._verified[value][1] == {"who": "ann"}


def test_entries_expire_and_the_memory_is_bounded():
    clock = Clock()
    app, iface = make_app(clock)
    values = []
    for name in ("a", "b", "c"):
        c = app.test_client()
        values.append(cookie_of(c.post(f"/login/{name}")))
        c.get("/who")
    assert len(iface._verified) == 3
    c = app.test_client()
    cookie_of(c.post("/login/d"))
    c.get("/who")
    assert len(iface._verified) <= 3
    clock.t += 61  # past the ttl: verified again (and still valid for Flask)
    c2 = app.test_client()
    c2.set_cookie("session", values[0])
    assert c2.get("/who").text == "a"
    assert iface._verified[values[0]][0] > clock.t
