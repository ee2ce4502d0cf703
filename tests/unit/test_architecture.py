"""The layering of DESIGN.md, enforced: domain is pure, hardware knows no warehouse."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def absolute_imports(source: str, module: str) -> set[str]:
    """Every module a file imports, relative imports resolved against its own dotted name
    (`from ..db.tables import Order` in app.domain.x is app.db.tables)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[:-node.level]
                names.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
    return names


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level packages each file of `package` imports, relative imports included."""
    return {str(path.relative_to(ROOT)): {n.split(".")[0] for n in absolute_imports(path.read_text(), dotted(path))}
            for path in (ROOT / package).rglob("*.py")}


def test_relative_imports_are_resolved_so_they_cannot_slip_past_the_layering():
    found = absolute_imports("from ..db.tables import Order\nfrom . import errors\n", "app.domain.stock")
    assert found == {"app.db.tables", "app.domain"}


def test_domain_imports_no_flask_sql_or_hardware():
    forbidden = {"flask", "flask_htmx", "sqlalchemy", "sqlmodel", "alembic", "hardware", "serial", "escpos",
                 "pymodbus", "kiosk", "requests", "waitress"}
    offenders = {f: sorted(n & forbidden) for f, n in imported_modules("app/domain").items() if n & forbidden}
    assert offenders == {}


def test_domain_imports_nothing_from_outer_layers_of_app():
    for path in (ROOT / "app/domain").rglob("*.py"):
        for name in absolute_imports(path.read_text(), dotted(path)):
            if name == "app" or name.startswith("app."):
                assert name.startswith("app.domain"), f"{path}: imports {name}"


def test_only_services_and_db_write_sql():
    """The floor, the kiosk and the API reach tables through services (read models included)."""
    for package in ("app/floor", "kiosk", "app/api"):
        for path, names in imported_modules(package).items():
            text = (ROOT / path).read_text()
            assert not {"sqlalchemy", "sqlmodel", "sqlite3"} & names, f"{path} imports SQL libraries"
            assert "app.db.tables" not in absolute_imports(text, dotted(ROOT / path)), f"{path} imports tables"


def test_hardware_knows_nothing_about_the_warehouse_app():
    offenders = {f: sorted(n & {"app", "kiosk", "flask", "sqlmodel"}) for f, n in imported_modules("hardware").items()
                 if n & {"app", "kiosk", "flask", "sqlmodel"}}
    assert offenders == {}


def test_services_do_not_import_flask():
    offenders = {f: sorted(n & {"flask", "flask_htmx", "kiosk"}) for f, n in imported_modules("app/services").items()
                 if n & {"flask", "flask_htmx", "kiosk"}}
    assert offenders == {}


def test_nothing_is_built_at_import_time():
    """Importing the app package must not open a database or start threads."""
    import subprocess
    import sys

    code = ("import threading, app, app.api, app.services.orders, app.cli, app.devices;"
            "import sys; print(threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/tmp", check=True)
    assert out.stdout.strip() == "1"


def _imports_of(path: Path) -> list[tuple[str, bool]]:
    """(module, at top level of the file) for every absolute import in `path`."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top))
    return found


def test_node_code_never_imports_the_network():
    """The reference router is a separate program: nothing of the node imports app.network, except
    the `wes` CLI, and only lazily inside a command function (so `wes serve` never loads it)."""
    offenders = []
    for path in (ROOT / "app").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("app/network/"):
            continue
        for module, at_top in _imports_of(path):
            if module == "app.network" or module.startswith("app.network."):
                if rel == "app/cli.py" and not at_top:
                    continue
                offenders.append(f"{rel}: {module}")
    for package in ("kiosk", "hardware", "migrations"):
        for path in (ROOT / package).rglob("*.py"):
            offenders += [f"{path.relative_to(ROOT)}: {m}" for m, _ in _imports_of(path)
                          if m.startswith("app.network")]
    assert offenders == []


def test_the_network_talks_to_nodes_only_over_http():
    """app/network imports nothing of the node's internals (no services, db, domain, floor, api...)."""
    offenders = []
    for path in (ROOT / "app/network").rglob("*.py"):
        for module, _ in _imports_of(path):
            if module.split(".")[0] in ("kiosk", "hardware", "migrations") or (
                    module.startswith("app.") and not module.startswith("app.network")) or module == "app":
                offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_the_routing_rules_are_pure():
    names = {m.split(".")[0] for m, _ in _imports_of(ROOT / "app/network/routing.py")}
    assert names & {"flask", "sqlalchemy", "sqlmodel", "requests", "alembic", "psycopg"} == set()
