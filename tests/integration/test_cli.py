"""The `wes` command on real files."""
import sqlite3

from click.testing import CliRunner

from app.cli import main


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


def test_init_creates_the_schema(tmp_path):
    db = tmp_path / "n.db"
    out = run("init", "--db", str(db))
    assert out.exit_code == 0 and "at head" in out.output
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"orders", "stock", "ledger", "event", "print_job"} <= tables


def write(path, text):
    path.write_text(text)
    return str(path)


def test_import_applies_all_rows(tmp_path):
    db = str(tmp_path / "n.db")
    locs = write(tmp_path / "l.csv", "code,zone,path_seq,kind,light_address\nA-1,A,1,pick,01\nA-2,A,2,pick,02\n")
    cat = write(tmp_path / "c.csv", "code,name,barcodes,unit_weight_g\nS-1,Soap,4006381333931,100\nS-2,Tea,5901234123457|12345,50\n")
    stock = write(tmp_path / "s.csv", "sku,location,qty\nS-1,A-1,5\nS-2,A-2,7\n")
    for kind, f in (("locations", locs), ("catalog", cat), ("stock", stock)):
        out = run("import", kind, f, "--db", db)
        assert out.exit_code == 0, out.output
    con = sqlite3.connect(db)
    assert con.execute("SELECT sum(on_hand) FROM stock").fetchone()[0] == 12
    assert con.execute("SELECT count(*) FROM sku_barcode").fetchone()[0] == 3


def test_import_with_bad_rows_reports_each_and_imports_nothing(tmp_path):
    db = str(tmp_path / "n.db")
    run("import", "locations", write(tmp_path / "l.csv", "code,zone\nA-1,A\n"), "--db", db)
    run("import", "catalog", write(tmp_path / "c.csv", "code,name\nS-1,Soap\n"), "--db", db)
    bad = write(tmp_path / "s.csv", "sku,location,qty\nS-1,A-1,5\nNOPE,A-1,1\nS-1,Z-9,1\nS-1,A-1,-4\nS-1,A-1,x\n")
    out = run("import", "stock", bad, "--db", db)
    assert out.exit_code == 1
    for line_no in (3, 4, 5, 6):
        assert f"s.csv:{line_no}:" in out.output
    assert "nothing imported" in out.output
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM event").fetchone()[0] == 0


def test_import_missing_column_is_refused(tmp_path):
    out = run("import", "stock", write(tmp_path / "s.csv", "sku,qty\nS-1,5\n"), "--db", str(tmp_path / "n.db"))
    assert out.exit_code == 1 and "missing column" in out.output


def test_backup_is_a_consistent_copy(tmp_path):
    db = str(tmp_path / "n.db")
    run("demo", "--db", db, "--no-serve", "--orders", "5")
    out = run("backup", str(tmp_path / "b.db"), "--db", db)
    assert out.exit_code == 0 and "integrity ok" in out.output
    src, dst = sqlite3.connect(db), sqlite3.connect(tmp_path / "b.db")
    q = "SELECT count(*), coalesce(max(seq), 0) FROM event"
    assert src.execute(q).fetchone() == dst.execute(q).fetchone() != (0, 0)


def test_demo_builds_a_node_with_catalog_stock_and_orders(tmp_path):
    db = str(tmp_path / "d.db")
    out = run("demo", "--db", db, "--no-serve", "--orders", "10")
    assert out.exit_code == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM sku").fetchone()[0] == 300
    assert con.execute("SELECT count(DISTINCT zone) FROM location WHERE kind='pick'").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 10
    assert con.execute("SELECT count(*) FROM sku_barcode WHERE length(barcode) = 14").fetchone()[0] == 300
