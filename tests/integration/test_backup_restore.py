"""Backups a node can be restored from (issue 15): `wes backup` copies the configured database (the
demo's after `wes demo`), into a folder made if missing; `wes restore` checks the copy and its
schema, refuses a running node's database, and the restored node serves the same orders and feed
as the node had at the moment of the backup, taken while orders streamed in."""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from app import create_app
from app.bootstrap import build_node
from app.cli import main
from app.demo import sample_order
from tests.conftest import LiveServer, make_settings
from tests.helpers import wait_until

WES = Path(sys.executable).with_name("wes")
TOKEN = "backup-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env or {}, catch_exceptions=False)


def feed(url) -> list[dict]:
    events, cursor = [], ""
    while True:
        page = requests.get(f"{url}/api/v1/events", params={"limit": 500, "after": cursor} if cursor else {"limit": 500},
                            headers=AUTH, timeout=30).json()
        events += page["events"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return events


def orders_of(events) -> list[str]:
    return sorted({e["subject"] for e in events if e["type"] == "order.received"})


def serve_in_process(tmp_path, db):
    node = build_node(make_settings(tmp_path, db=str(db), router_token=TOKEN))
    server = LiveServer(create_app({"TESTING": True}, node=node))
    return node, server


def test_a_backup_taken_under_load_restores_to_a_node_serving_the_same_orders_and_feed(tmp_path):
    db = tmp_path / "node.db"
    assert run("demo", "--db", db, "--no-serve", "--orders", "5").exit_code == 0
    env = {**os.environ, "WES_DB": str(db), "WES_PORT": "0", "WES_API_FRONT": "false", "WES_DEVICES": "none",
           "WES_ROUTER_TOKEN": TOKEN, "WES_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(WES), "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    stop, pushed, failures = threading.Event(), [], []
    try:
        url = None
        while url is None:
            line = proc.stdout.readline()
            assert line, "wes serve ended before its banner"
            if m := re.search(r"(http://127\.0\.0\.1:\d+)/kiosk/", line):
                url = m.group(1)

        def push(worker):
            import random
            rng, n = random.Random(worker), 0
            with requests.Session() as http:
                while not stop.is_set():
                    order_id, body = sample_order(rng, n, skus=300)
                    order_id = f"LOAD-{worker}-{n:04d}"
                    resp = http.put(f"{url}/api/v1/orders/{order_id}", json=body, headers=AUTH, timeout=30)
                    (pushed if resp.status_code in (200, 201) else failures).append((order_id, resp.status_code))
                    n += 1
        workers = [threading.Thread(target=push, args=(w,)) for w in range(3)]
        for w in workers:
            w.start()
        assert wait_until(lambda: len(pushed) >= 30, timeout=60)
        backup = tmp_path / "new-folder" / "under-load.db"
        out = run("backup", backup, "--db", db)
        assert out.exit_code == 0 and "integrity ok" in out.output, out.output
        at_backup = len(pushed)
        refused = run("restore", backup, "--db", db)
        assert refused.exit_code == 1 and "running" in refused.output and f"pid {proc.pid}" in refused.output
        assert wait_until(lambda: len(pushed) >= at_backup + 20, timeout=60)  # the load went on after it
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        proc.stdout.close()
    assert failures == []

    restored_db = tmp_path / "restored" / "node.db"  # a folder that does not exist yet
    out = run("restore", backup, "--db", restored_db)
    assert out.exit_code == 0, out.output
    source, source_server = serve_in_process(tmp_path / "a", db)
    restored, restored_server = serve_in_process(tmp_path / "b", restored_db)
    try:
        source_feed, restored_feed = feed(source_server.url), feed(restored_server.url)
        assert 35 <= len(orders_of(restored_feed)) < len(orders_of(source_feed))
        assert restored_feed == source_feed[:len(restored_feed)]  # the same feed up to the backup's moment
        for order_id in orders_of(restored_feed):
            mine = requests.get(f"{restored_server.url}/api/v1/orders/{order_id}", headers=AUTH, timeout=10)
            theirs = requests.get(f"{source_server.url}/api/v1/orders/{order_id}", headers=AUTH, timeout=10)
            assert mine.status_code == 200 and mine.json() == theirs.json()
            assert mine.headers["ETag"] == theirs.headers["ETag"]
        # a new stream: a cursor from before the restore is refused, so the router resyncs instead of
        # skipping what the restored node writes next under seqs it had already read from the old one
        assert restored.stream_id != source.stream_id
        cursor = requests.get(f"{source_server.url}/api/v1/events", params={"limit": 1}, headers=AUTH,
                              timeout=10).json()["next_cursor"]
        stale = requests.get(f"{restored_server.url}/api/v1/events", params={"after": cursor}, headers=AUTH,
                             timeout=10)
        assert stale.status_code == 410
    finally:
        for server, node in ((source_server, source), (restored_server, restored)):
            server.stop()
            node.close()


def test_backup_without_options_after_the_demo_copies_the_demo_database(tmp_path):
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        assert run("demo", "--no-serve", "--orders", "2").exit_code == 0  # wes-demo.db here
        out = run("backup", "backups/today.db")
        assert out.exit_code == 0, out.output
        assert "wes-demo.db" in out.output and os.path.exists("backups/today.db")
        dated = run("backup", "backups/")
        assert dated.exit_code == 0 and len(os.listdir("backups")) == 2


def test_backup_with_no_database_says_which_it_looked_for(tmp_path):
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        out = run("backup", "b.db")
        assert out.exit_code == 1 and "no database at" in out.output and "wes.db" in out.output
        assert "Traceback" not in out.output


def test_restore_refuses_a_damaged_file_and_a_schema_from_a_newer_version(tmp_path):
    db = tmp_path / "node.db"
    assert run("init", "--db", db).exit_code == 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    out = run("restore", junk, "--db", tmp_path / "target.db")
    assert out.exit_code == 1 and "restore refused" in out.output
    newer = tmp_path / "newer.db"
    assert run("backup", newer, "--db", db).exit_code == 0
    with sqlite3.connect(newer) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999'")
    out = run("restore", newer, "--db", tmp_path / "target.db")
    assert out.exit_code == 1 and "schema 9999" in out.output and "newer" in out.output
    assert not (tmp_path / "target.db").exists()


def test_restore_keeps_the_database_it_replaces(tmp_path):
    db, copy = tmp_path / "node.db", tmp_path / "copy.db"
    assert run("demo", "--db", db, "--no-serve", "--orders", "2").exit_code == 0
    assert run("backup", copy, "--db", db).exit_code == 0
    out = run("restore", copy, "--db", db)
    assert out.exit_code == 0 and "before-restore" in out.output
    kept = [p for p in os.listdir(tmp_path) if p.startswith("node.db.before-restore-")]
    assert kept and sqlite3.connect(tmp_path / kept[0]).execute("SELECT count(*) FROM orders").fetchone()[0] == 2


def test_init_refuses_to_downgrade_a_database_from_a_newer_version(tmp_path):
    db = tmp_path / "node.db"
    assert run("init", "--db", db).exit_code == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999'")
    out = CliRunner().invoke(main, ["init", "--db", str(db)])
    assert out.exit_code == 1 and "schema 9999" in out.output and "downgrade is not supported" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_serve_takes_a_backup_at_start_and_every_interval_keeping_the_newest(tmp_path):
    from app.backup import BackupSchedule

    folder = tmp_path / "backups"
    node = build_node(make_settings(tmp_path, backup_every="1h", backup_keep=2, backup_dir=str(folder)))
    try:
        assert wait_until(lambda: node.backups.last_success is not None, timeout=30)
        assert len(os.listdir(folder)) == 1
    finally:
        node.close()
    clock = [1_800_000_000.0]
    schedule = BackupSchedule(str(tmp_path / "node.db"), str(folder), "N1", 3600, 2, clock=lambda: clock[0])
    for _ in range(3):
        assert schedule.step() == 3600
        clock[0] += 3600
    names = sorted(os.listdir(folder))
    assert len(names) == 2 and names == ["wes-N1-20270115T090000Z.db", "wes-N1-20270115T100000Z.db"]


def test_backup_every_keeps_taking_backups_until_stopped_and_keeps_the_newest(tmp_path):
    db = tmp_path / "node.db"
    assert run("init", "--db", db).exit_code == 0
    proc = subprocess.Popen([str(WES), "backup", str(tmp_path / "kept"), "--db", str(db), "--every", "1s",
                             "--keep", "2"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: (tmp_path / "kept").exists() and len(os.listdir(tmp_path / "kept")) == 2
                          and proc.poll() is None, timeout=30)
        time.sleep(2.2)  # two more backups, and two pruned
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        output = proc.stdout.read()
        proc.stdout.close()
    assert code == 0, output
    names = sorted(os.listdir(tmp_path / "kept"))
    assert len(names) == 2 and all(n.startswith("wes-N1-") for n in names)
    assert output.count("INFO wes.backup: backup") >= 3
