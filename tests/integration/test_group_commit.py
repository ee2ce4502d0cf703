"""Group commit in the unit of work, on a real SQLite file: commands queued behind the writer share
one COMMIT, a failing command rolls back alone, and when the shared transaction or its COMMIT is
lost every command in it is told so (none of them was acknowledged)."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from app.db.engine import make_engines
from app.db.uow import GroupCommitFailed, UnitOfWork


@pytest.fixture()
def uow(tmp_path):
    path = str(tmp_path / "gc.db")
    con = sqlite3.connect(path)
    con.executescript(
        """
        PRAGMA journal_mode=WAL;
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE item (id INTEGER PRIMARY KEY, who TEXT NOT NULL UNIQUE,
                           parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
        INSERT INTO parent(id) VALUES (1);
        """
    )
    con.close()
    writer, reader = make_engines(path)
    u = UnitOfWork(writer, reader)
    u.path = path
    yield u
    writer.dispose()
    reader.dispose()


def stored(uow) -> set[str]:
    con = sqlite3.connect(uow.path)
    try:
        return {r[0] for r in con.execute("SELECT who FROM item")}
    finally:
        con.close()


def wait_until(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.001)


def in_one_group(uow, first_body, second_body):
    """Runs first_body, and lets it finish only once the second command is queued for the writer, so
    both land in one transaction. Returns {name: None | exception} for both."""
    results: dict[str, BaseException | None] = {}
    second_queued = threading.Event()

    def run(name, body, before_leave=None):
        try:
            with uow.write() as tx:
                body(tx)
                if before_leave:
                    before_leave()
            results[name] = None
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            results[name] = exc

    def hold_until_second_queued():
        wait_until(lambda: uow._queued > 0)
        second_queued.set()

    a = threading.Thread(target=run, args=("first", first_body, hold_until_second_queued))
    a.start()
    wait_until(lambda: uow._group is not None)  # the first command holds the writer
    b = threading.Thread(target=run, args=("second", second_body))
    b.start()
    a.join(10)
    b.join(10)
    assert second_queued.is_set() or isinstance(results.get("first"), Exception)
    return results


def insert(who, parent=1):
    return lambda tx: tx.run("INSERT INTO item(who, parent_id) VALUES (?, ?)", (who, parent))


def test_concurrent_commands_share_commits_and_all_land(uow):
    def worker(n):
        for i in range(50):
            with uow.write() as tx:
                tx.run("INSERT INTO item(who, parent_id) VALUES (?, 1)", (f"t{n}-{i}",))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stored(uow)) == 800
    assert uow.writes == 800
    # the point of it: fewer COMMITs (fsyncs) than commands
    assert uow.commits < uow.writes / 2


def test_one_at_a_time_each_command_commits(uow):
    for i in range(3):
        with uow.write() as tx:
            tx.run("INSERT INTO item(who, parent_id) VALUES (?, 1)", (f"s{i}",))
        assert f"s{i}" in stored(uow)  # visible to another connection as soon as write() returns
    assert uow.commits == 3


def test_a_failing_command_rolls_back_alone(uow):
    def fails(tx):
        tx.run("INSERT INTO item(who, parent_id) VALUES ('bad', 1)")
        raise ValueError("refused")

    res = in_one_group(uow, insert("good"), fails)
    assert res["first"] is None
    assert isinstance(res["second"], ValueError)
    assert stored(uow) == {"good"}
    assert uow.commits == 1


def test_failing_first_command_does_not_take_the_next_one_down(uow):
    def fails_once_second_is_queued(tx):
        tx.run("INSERT INTO item(who, parent_id) VALUES ('bad', 1)")
        wait_until(lambda: uow._queued > 0)
        raise ValueError("refused")

    res = in_one_group(uow, fails_once_second_is_queued, insert("good"))
    assert isinstance(res["first"], ValueError)
    assert res["second"] is None
    assert stored(uow) == {"good"}


def test_transaction_lost_under_a_command_fails_the_whole_group(uow):
    def kills_transaction(tx):
        tx.run("INSERT INTO item(who, parent_id) VALUES ('b', 1)")
        tx.cursor.execute("ROLLBACK")  # what SQLite does by itself on e.g. SQLITE_FULL

    res = in_one_group(uow, insert("a"), kills_transaction)
    assert isinstance(res["first"], GroupCommitFailed)  # told, not silently lost
    assert isinstance(res["second"], GroupCommitFailed)
    assert stored(uow) == set()
    with uow.write() as tx:  # and the writer goes on afterwards
        tx.run("INSERT INTO item(who, parent_id) VALUES ('c', 1)")
    assert stored(uow) == {"c"}


def test_a_failed_commit_is_reported_to_every_member(uow):
    # a deferred foreign key is checked at COMMIT: the shared commit fails for both
    res = in_one_group(uow, insert("a"), insert("orphan", parent=99))
    assert isinstance(res["first"], GroupCommitFailed)
    assert isinstance(res["second"], GroupCommitFailed)
    assert "FOREIGN KEY" in str(res["first"])
    assert stored(uow) == set()
    with uow.write() as tx:
        tx.run("INSERT INTO item(who, parent_id) VALUES ('c', 1)")
    assert stored(uow) == {"c"}


def test_orm_session_in_a_group_keeps_the_other_commands(uow):
    from sqlalchemy import text

    def orm(tx):
        tx.session.execute(text("INSERT INTO item(who, parent_id) VALUES ('orm', 1)"))

    res = in_one_group(uow, insert("raw"), orm)
    assert res == {"first": None, "second": None}
    assert stored(uow) == {"raw", "orm"}


def test_event_listeners_hear_the_head_only_after_commit(uow):
    con = sqlite3.connect(uow.path)
    con.execute("CREATE TABLE event (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT, subject TEXT, "
                "order_version INTEGER, data TEXT, time TEXT)")
    con.commit()
    con.close()
    seen = []

    def listener(head):
        c = sqlite3.connect(uow.path)
        try:  # another connection sees the event the listener is told about
            seen.append((head, c.execute("SELECT max(seq) FROM event").fetchone()[0]))
        finally:
            c.close()

    uow.on_events(listener)

    def emits(tx):
        tx.emit("test.happened", "x")

    res = in_one_group(uow, emits, emits)
    assert res == {"first": None, "second": None}
    assert sorted(h for h, _ in seen) == [1, 2]
    assert all(visible >= head for head, visible in seen)
