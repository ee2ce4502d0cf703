"""The parts of the pick screen kept between scans (kiosk.fragments): reused while what they show
is the same, rendered again as soon as it changes, and templates compiled once however many
stations ask for them first."""
from __future__ import annotations

import re
import threading

import pytest

from app import create_app
from kiosk.fragments import Fragments
from tests.conftest import make_settings

from .floor_helpers import add_order, floor_node, gtin
from .test_floor_kiosk import Browser

URL = "/kiosk/stations/PICK-1"


@pytest.fixture
def picking(tmp_path):
    node, _, _ = floor_node(tmp_path, make_settings)
    app = create_app({"TESTING": True}, node=node)
    b = Browser(app.test_client())
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    add_order(node.uow, "O-2", ("SKU-00001", 1))
    b.post(f"{URL}/scan", data={"code": "BADGE-0001"})
    b.post(f"{URL}/act/login", data={"pin": "1111"})
    b.post(f"{URL}/act/start_batch", data={"mode": "cluster", "max_orders": "6"})
    b.post(f"{URL}/scan", data={"code": "TOTE-1"})
    yield b, app.extensions["wes_kiosk_fragments"]
    node.close()


def current_tote(html: str) -> str:
    return re.search(r'<tr class="current"><td>([^<]+)</td>', html).group(1)


def short_max(html: str) -> str:
    return re.search(r'name="qty_found" min="0" max="(-?\d+)"', html).group(1)


def test_the_totes_and_short_panel_follow_the_task_and_are_rendered_once_while_it_stays(picking):
    b, parts = picking
    html = b.html(f"{URL}/scan", data={"code": "TOTE-2"})  # cart ready: first task, O-1 into TOTE-1
    assert current_tote(html) == "TOTE-1" and short_max(html) == "1"
    before = parts.rendered
    html = b.html(f"{URL}/scan", data={"code": "A-01-01"})
    html = b.html(f"{URL}/scan", data={"code": gtin(1)})  # one of two taken: the short panel offers less
    assert current_tote(html) == "TOTE-1" and short_max(html) == "0"
    assert parts.rendered == before + 1  # only the short panel changed; the bar and the rows were reused
    b.html(f"{URL}/scan", data={"code": "A-01-01"})
    before = parts.rendered
    html = b.html(f"{URL}/scan", data={"code": gtin(1)})  # O-1 done: O-2's task, into TOTE-2
    assert current_tote(html) == "TOTE-2" and 'id="task-tote">TOTE-2<' in html and short_max(html) == "0"
    assert html.count("<tr") == 2 and parts.rendered == before + 1  # the tote table, its mark moved
    assert 'class="who">PICK-1 · Pat Picker</span>' in html and 'id="logout"' in html


def test_a_full_store_is_emptied_and_filled_again():
    parts = Fragments(limit=2)
    assert parts.get("a", lambda: "<b>a</b>") == "<b>a</b>" and parts.get("b", lambda: "b") == "b"
    assert parts.get("a", lambda: "never") == "<b>a</b>"  # reused
    assert parts.get("c", lambda: "c") == "c"  # full: emptied first
    assert parts.get("a", lambda: "again") == "again" and parts.rendered == 4
    assert str(parts.get("a", lambda: "x").__html__()) == "again"  # a part is markup: not escaped twice


def test_twenty_threads_asking_for_a_new_template_compile_it_once():
    class CountingEnv:
        def __init__(self):
            self.loads = []
            self.gate = threading.Barrier(20)

        def get_template(self, name):
            self.loads.append(name)

    env, parts = CountingEnv(), Fragments()

    def first_screen():
        env.gate.wait()
        parts.warm(env, ("_screen.html", "_pick.html"))

    threads = [threading.Thread(target=first_screen) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(env.loads) == ["_pick.html", "_screen.html"]


def test_the_screen_partials_use_only_what_they_are_given(picking):
    """kiosk.hot renders a scan's screen without Flask's request context (views.render_part): a
    partial that used request, g, Flask's session, config or url_for would fail there."""
    from jinja2 import meta

    b, _ = picking
    env = b.client.application.jinja_env
    flask_only = {"request", "g", "config", "url_for", "get_flashed_messages"}
    partials = [n for n in env.list_templates() if n.startswith("_") and n.endswith(".html")]
    assert {"_screen.html", "_pick.html", "_bar.html", "_pick_totes.html", "_login.html"} <= set(partials)
    for name in partials:
        source = env.loader.get_source(env, name)[0]
        assert not meta.find_undeclared_variables(env.parse(source)) & flask_only, name
