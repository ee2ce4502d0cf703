"""Logs a node's tools can parse: one JSON object per line with WES_LOG_FORMAT=json, carrying the
request id and station of the request being served; the same error at most once a minute; and
never a PIN or a token, whatever happens (the output of a whole session is searched for them)."""
import json
import logging

import pytest
import requests

from app import create_app, logcontext
from app.logformat import OncePerMinute, StderrHandler, configure_logging
from app.services import catalog
from tests.conftest import TOKEN, LiveServer

PIN = "482916"


@pytest.fixture
def json_logs(node, capsys):
    root = logging.getLogger()
    level = root.level
    configure_logging("DEBUG", "json", (node.settings.router_token, node.settings.secret_key))
    capsys.readouterr()

    def lines():
        err = capsys.readouterr().err
        return [json.loads(line) for line in err.splitlines() if line.strip()]
    yield lines
    for handler in list(root.handlers):
        if isinstance(handler, StderrHandler):
            root.removeHandler(handler)
    root.setLevel(level)


def test_each_line_is_a_json_object_with_the_request_id_and_station_of_the_request(node, json_logs):
    app = create_app({"TESTING": True}, node=node)

    def probe(sid):
        logging.getLogger("wes.probe").warning("probe on %s", sid)
        with logcontext.bound(badge="BADGE-7", order_id="RO-9"):
            logging.getLogger("wes.probe").info("inside the floor's action")
        return "ok"
    app.add_url_rule("/probe/<sid>", "probe", probe)
    server = LiveServer(app)
    try:
        sent = requests.get(f"{server.url}/probe/PACK-1", headers={"X-Request-Id": "req-abc-123"}, timeout=10)
        fresh = requests.get(f"{server.url}/probe/PICK-2", timeout=10)
    finally:
        server.stop()
    assert sent.headers["X-Request-Id"] == "req-abc-123" and fresh.headers["X-Request-Id"] not in ("", "req-abc-123")
    lines = [line for line in json_logs() if line["logger"] == "wes.probe"]
    assert [(x["message"], x["request_id"], x["station"], x.get("badge"), x.get("order_id")) for x in lines] == [
        ("probe on PACK-1", "req-abc-123", "PACK-1", None, None),
        ("inside the floor's action", "req-abc-123", "PACK-1", "BADGE-7", "RO-9"),
        ("probe on PICK-2", fresh.headers["X-Request-Id"], "PICK-2", None, None),
        ("inside the floor's action", fresh.headers["X-Request-Id"], "PICK-2", "BADGE-7", "RO-9"),
    ]
    assert all(x["level"] in ("WARNING", "INFO") and x["time"].endswith("+00:00") for x in lines)
    assert logcontext.current() == {}  # nothing leaks past the request


def test_a_session_with_pins_and_tokens_never_writes_one_to_the_log(node, json_logs):
    catalog.create_operator(node.uow, "BADGE-0042", "Pat", "picker", PIN)
    catalog.upsert_station(node.uow, "PICK-1", kind="handheld")
    app = create_app({"TESTING": True}, node=node)
    floor = app.extensions["wes_floor"]
    session = floor.sessions.resolve(None)
    floor.act("PICK-1", "login", {"badge": "BADGE-0042", "pin": "000000"}, session)  # a wrong PIN
    floor.act("PICK-1", "login", {"badge": "BADGE-0042", "pin": PIN}, session)
    client = app.test_client()
    client.get("/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
    client.get("/api/v1/status", headers={"Authorization": "Bearer not-the-token"})
    client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    log = logging.getLogger("wes.careless")
    log.error("request headers were %r", {"Authorization": f"Bearer {TOKEN}"})
    log.warning("login form %s", {"badge": "BADGE-0042", "pin": PIN})
    try:
        raise RuntimeError(f"token={TOKEN}")
    except RuntimeError:
        log.exception("failed with the token in the exception")
    lines = json_logs()
    text = json.dumps(lines)
    assert len(lines) >= 3 and "***" in text
    assert PIN not in text and TOKEN not in text and node.settings.secret_key not in text


def test_the_same_error_is_logged_once_a_minute_with_the_count_of_the_rest():
    now = [1000.0]
    gate = OncePerMinute(clock=lambda: now[0])

    def record(msg, level=logging.ERROR):
        return logging.LogRecord("wes.printing", level, __file__, 1, msg, (), None)

    passed = [gate.filter(record("printer lp-1 offline")) for _ in range(5)]
    assert passed == [True, False, False, False, False]
    assert gate.filter(record("printer lp-2 offline"))  # another printer is another line
    assert gate.filter(record("print job 17 on lp-1 waits 4s: offline", logging.WARNING))
    assert not gate.filter(record("print job 18 on lp-1 waits 8s: offline", logging.WARNING))  # the same, numbers aside
    assert gate.filter(record("printer lp-1 offline", logging.INFO))  # info is never held back
    now[0] += 61
    again = record("printer lp-1 offline")
    assert gate.filter(again) and again.suppressed == 4


def test_wes_serve_with_json_logs_writes_only_json_lines_and_no_token(tmp_path):
    """The real command: its notices and the heartbeat's warnings (a router that is down) on stderr,
    each a JSON object; the banner on stdout."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    token = "json-token-0987654321"
    env = {**os.environ, "WES_DB": str(tmp_path / "n.db"), "WES_PORT": "0", "WES_API_FRONT": "false",
           "WES_ROUTER_TOKEN": token, "WES_LOG_FORMAT": "json", "WES_ROUTER_URL": "http://127.0.0.1:9",
           "WES_HEARTBEAT_S": "0.2", "WES_LOG_LEVEL": "INFO"}
    env.pop("WES_DEVICES", None)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("wes")), "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while "Stop with" not in proc.stdout.readline():
            assert proc.poll() is None
        time.sleep(1.5)  # a few heartbeats fail
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON, or this fails
    assert "DEVICES ARE SIMULATED" in lines[0]["message"] and lines[0]["level"] == "WARNING"
    assert any(x["logger"] == "wes.sync" and x["level"] == "WARNING" for x in lines)
    assert token not in err
