"""Kiosk sessions as rules: identity is the browser's, ids rotate at login and logout, logins end
after the idle time and the lifetime, and a stale cookie is nobody (a fake store: no database)."""
from __future__ import annotations

from app.floor.sessions import MAX_ANONYMOUS, FloorSessions, SessionPolicy, key_of

PAT = {"badge": "B-1", "name": "Pat", "role": "picker"}


class FakeSessionStore:
    """The sessions a database would keep: open ones by key, and the ends it was told of."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.ends: list[tuple[str, str]] = []

    def started(self, key, badge, station, csrf, replaced):
        for old, why in replaced:
            self.ended(old, why)
        self.rows[key] = {"badge": badge, "station": station, "csrf": csrf}

    def ended(self, key, reason):
        if self.rows.pop(key, None) is not None:
            self.ends.append((key, reason))

    def open(self, idle, lifetime):
        return []


class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self):
        return self.t


def sessions(idle_s=900, lifetime_s=12 * 3600):
    clock = Clock()
    return FloorSessions(FakeSessionStore(), SessionPolicy(idle_s=idle_s, lifetime_s=lifetime_s), clock), clock


def test_a_browser_without_a_cookie_gets_a_new_anonymous_session_with_its_own_csrf_token():
    s, _ = sessions()
    a, b = s.resolve(None), s.resolve("forged-or-stale")
    assert a is not b and a.operator is None and a.issued and a.csrf != b.csrf
    assert s.resolve(a.issued) is a  # the cookie it was given finds it again


def test_login_rotates_the_id_so_the_cookie_from_before_login_is_worthless():
    s, _ = sessions()
    a = s.resolve(None)
    before, csrf_before = a.issued, a.csrf
    s.start(a, PAT, "PICK-1", ending=[])
    assert a.issued != before and a.csrf != csrf_before and a.key == key_of(a.issued)
    assert s.resolve(before) is not a and s.resolve(before).operator is None
    assert s.resolve(a.issued) is a and a.station == "PICK-1"


def test_logout_rotates_again_and_a_saved_logged_in_cookie_is_nobody_afterwards():
    s, _ = sessions()
    a = s.resolve(None)
    s.start(a, PAT, "PICK-1", ending=[])
    logged_in = a.issued
    s.end(a, "Logged out")
    stale = s.resolve(logged_in)
    assert stale is not a and stale.operator is None and stale.station is None
    assert a.operator is None and a.issued and a.issued != logged_in


def test_a_login_ends_after_the_idle_time_and_after_its_lifetime():
    s, clock = sessions(idle_s=60, lifetime_s=3600)
    a = s.resolve(None)
    s.start(a, PAT, "PICK-1", ending=[])
    clock.t += 59
    assert s.expiry_reason(a) is None
    s.touch(a)
    clock.t += 59
    assert s.expiry_reason(a) is None  # used a minute ago: still in
    clock.t += 61
    assert "without use" in s.expiry_reason(a)
    b = s.resolve(None)
    s.start(b, PAT, "PICK-2", ending=[])
    for _ in range(70):  # used every 55 s for over an hour
        clock.t += 55
        s.touch(b)
    assert "log in again" in s.expiry_reason(b)


def test_a_session_ended_by_another_login_tells_its_browser_why():
    s, _ = sessions()
    a, b = s.resolve(None), s.resolve(None)
    s.start(a, PAT, "PICK-1", ending=[])
    a_cookie = a.issued
    s.start(b, PAT, "PICK-2", ending=[(a, "B-1 logged in at PICK-2")])
    told = s.resolve(a_cookie)
    assert told.operator is None and told.notice == "B-1 logged in at PICK-2"
    assert s.store.rows.keys() == {b.key}


def test_a_flood_of_anonymous_sessions_forgets_the_oldest_not_the_logged_in_ones():
    s, _ = sessions()
    a = s.resolve(None)
    s.start(a, PAT, "PICK-1", ending=[])
    first = s.resolve(None)
    for _ in range(MAX_ANONYMOUS):
        s.resolve(None)
    assert s.resolve(first.issued) is not first
    assert s.resolve(a.issued) is a


def test_applied_request_ids_older_than_two_days_are_pruned(tmp_path):
    from datetime import timedelta

    from app.bootstrap import build_node
    from app.services.floor_sessions import prune_applied_requests
    from tests.conftest import make_settings

    node = build_node(make_settings(tmp_path), start_workers=False)
    try:
        with node.uow.write() as tx:
            for key, age in (("old", 3), ("new", 1)):
                tx.run("INSERT INTO applied_request(request_key, created_at) VALUES (?, ?)",
                       (key, (tx.now - timedelta(days=age)).strftime("%Y-%m-%d %H:%M:%S.%f")))
        assert prune_applied_requests(node.uow) == 1
        with node.uow.read_raw() as raw:
            assert [r[0] for r in raw.rows("SELECT request_key FROM applied_request")] == ["new"]
    finally:
        node.close()
