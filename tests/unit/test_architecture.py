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
