"""The `wes` command: init, demo, serve, import, backup, restore, simulate, bench."""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time

import click

from app.config import ConfigError, Settings
from app.logformat import configure_logging
from app.liveness import NodeLock, NodeRunning


def _settings(**overrides) -> Settings:
    """Settings from the environment, the config file and the command's options; the group's
    --log-level/--log-format count as options of every command (the front inherits them)."""
    root = click.get_current_context(silent=True)
    if root is not None:
        root = root.find_root()
        overrides.setdefault("log_level", root.params.get("log_level"))
        overrides.setdefault("log_format", root.params.get("log_format"))
    try:
        return Settings.load(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def check_ports(settings: Settings) -> None:
    """Both ports free, or one clear line naming the one in use, before anything else is done
    (the demo seeds its database first, and the front is started only after the node listens)."""
    wanted = [(settings.port, "the node's port (kiosk and API): --port / WES_PORT")]
    if settings.api_front:
        wanted.append((settings.api_port, "the router's API port: --api-port / WES_API_PORT"))
    for port, what in wanted:
        if port == 0:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
            try:
                probe.bind((settings.host, port))
            except OSError as exc:
                raise click.ClickException(f"{settings.host}:{port} cannot be used ({exc.strerror}); it is {what}. "
                                           "Stop what uses it or choose another port.") from None


def _stop_on_signal(signum, _frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (systemd, kill, a test) ends the server loop like Ctrl-C does


def _serve(node, host: str, port: int, threads: int, banner: str = "", lock: NodeLock | None = None,
           shown_token: str | None = None) -> None:
    """Serves until SIGTERM or SIGINT. The banner shows `shown_token` in its curl lines (the token
    itself only when it is no secret: the demo's, or a random one of this run)."""
    from app import create_app
    from app.front.process import FrontProcess
    from app.serving import settle_heap, waitress_server

    previous = {sig: signal.signal(sig, _stop_on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    front = server = None
    try:
        app = create_app(node=node)
        server = waitress_server(app, threads, host=host, port=port)
        settle_heap()
        url = f"http://{host}:{server.effective_port}"
        api_url = url
        if node.settings.api_front:
            loopback = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
            front = FrontProcess(node.settings, f"http://{loopback}:{server.effective_port}")
            try:
                api_url = front.start()
            except RuntimeError as exc:  # e.g. its port taken since the check: the node stops here
                raise click.ClickException(f"{exc} (WES_API_PORT={node.settings.api_port}; "
                                           "WES_API_FRONT=false serves the router from WES_PORT)") from None
        click.echo(banner.format(url=url, api_url=api_url, token=shown_token or node.settings.router_token) if banner else
                   f"Node WES serving on {url} (kiosk, API); the router's API on {api_url}/api/v1")
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if front is not None:
            front.stop()
        if server is not None:
            server.close()
        node.close()
        if lock is not None:
            lock.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


BANNER = """
Node WES {title}
  open the kiosk:  {{url}}/kiosk/   (pick a station, then a badge and PIN)
  router's API:    {{api_url}}/api/v1   (documents: {{api_url}}/api/v1/openapi.json)
  try it:          curl -H 'Authorization: Bearer {{token}}' {{api_url}}/api/v1/status
  metrics:         curl -H 'Authorization: Bearer {{token}}' {{api_url}}/metrics
{extra}Stop with Ctrl-C (or SIGTERM).
"""


def _log_secrets(settings: Settings) -> tuple[str, ...]:
    return (settings.router_token, settings.metrics_token, settings.secret_key)


@click.group()
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR (overrides WES_LOG_LEVEL).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="text for people, json for log tools: one object per line (overrides WES_LOG_FORMAT).")
def main(log_level, log_format):
    """Node WES: the warehouse execution system of one micro-fulfillment node."""
    from app.serving import limit_malloc_arenas

    limit_malloc_arenas()
    fmt = (log_format or os.environ.get("WES_LOG_FORMAT", "text")).lower()
    configure_logging(log_level or os.environ.get("WES_LOG_LEVEL", "INFO"), fmt if fmt in ("text", "json") else "text")


DB_HELP = "SQLite file (WES_DB; default wes.db)."
CONFIG_HELP = "TOML configuration file (WES_CONFIG); see app/deploy/node.example.toml."
HOST_HELP = "Address the node listens on (WES_HOST; default 127.0.0.1; 0.0.0.0 for every interface)."
PORT_HELP = "The node's port: kiosk and the whole API (WES_PORT; default 8080; 0 picks a free one)."
API_PORT_HELP = "The router's API port, served by the front process (WES_API_PORT; default 8081; 0 picks a free one)."


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--config", "config_file", default=None, help=CONFIG_HELP)
def init(db, config_file):
    """Create or upgrade the database (alembic upgrade head). A database made by a newer version
    is refused: downgrades are not supported."""
    from app.db.schema import SchemaTooNew, upgrade

    settings = _settings(db=db, config_file=config_file)
    try:
        stream = upgrade(settings.db)
    except SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database {settings.db} is at head (stream {stream})")


@main.command()
@click.option("--db", default=None, help="SQLite file (WES_DB; default wes-demo.db, made and seeded if missing).")
@click.option("--host", default=None, help=HOST_HELP)
@click.option("--port", default=None, type=int, help=PORT_HELP)
@click.option("--api-port", default=None, type=int, help=API_PORT_HELP)
@click.option("--orders", "order_count", default=30, show_default=True, help="Sample orders at start.")
@click.option("--order-rate", default=0.05, show_default=True, help="New sample orders per second afterwards (0: none).")
@click.option("--no-serve", is_flag=True, help="Only build the demo database.")
@click.option("--floor-workers", default=0, show_default=True, type=click.IntRange(0, 32),
              help="Simulated floor workers (threads) that pick, pack and ship orders and transfers with no human.")
@click.option("--floor-pace", default=0.5, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds each simulated floor worker waits between actions.")
def demo(db, host, port, api_port, order_count, order_rate, no_serve, floor_workers, floor_pace):
    """A demo node: sample catalog, bins in 3 zones, stock, operators, orders, simulated devices."""
    from app.bootstrap import build_node
    from app.db.engine import make_engines
    from app.db.schema import SchemaTooNew, upgrade
    from app.db.uow import UnitOfWork
    from app.demo import push_orders, seed

    settings = _settings(db=db or os.environ.get("WES_DB") or DEMO_DB, host=host, port=port, api_port=api_port,
                         router_token=os.environ.get("WES_ROUTER_TOKEN") or "demo-token")
    lock = None
    if not no_serve:
        check_ports(settings)
        lock = _lock(settings)
    fresh = not os.path.exists(settings.db)
    try:
        upgrade(settings.db)
    except SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from None
    if fresh:
        writer, reader = make_engines(settings.db, settings.synchronous)
        uow = UnitOfWork(writer, reader)
        click.echo("seeding demo data …")
        info = seed(uow)
        push_orders(uow, order_count)
        writer.dispose()
        reader.dispose()
        click.echo(f"  {info['skus']} SKUs, {info['bins']} bins in zones A/B/C, {info['cubbies']} put-wall cubbies, "
                   f"{order_count} orders")
    if no_serve:
        return
    configure_logging(settings.log_level, settings.log_format, _log_secrets(settings))
    node = build_node(settings, lock=lock)
    if floor_workers:
        from app.demo_floor import FloorWorkers

        node.workers.append(FloorWorkers(  # in node.workers: stopped with the node
            node.uow, floor_workers, floor_pace, node_id=settings.node_id, sscc_prefix=settings.sscc_prefix,
            printer="lp-1" if settings.devices == "simulated" else None).start())
    if order_rate > 0:
        threading.Thread(target=_order_stream, args=(node, order_rate, order_count + 1), name="wes-demo-orders",
                         daemon=True).start()
    extra = ("  badges:          BADGE-0001 (picker, PIN 1111), BADGE-0003 (packer, PIN 3333), "
             "BADGE-0004 (supervisor, PIN 4444)\n"
             f"  devices:         simulated; printed labels go to {_prints_dir(settings)}\n")
    _serve(node, settings.host, settings.port, settings.threads,
           BANNER.format(title=f"demo node {settings.node_id}", extra=extra), lock)


DEMO_DB = "wes-demo.db"


def _lock(settings: Settings) -> NodeLock:
    try:
        return NodeLock(settings.db).claim("serve it again")
    except NodeRunning as exc:
        raise click.ClickException(str(exc)) from None


def _prints_dir(settings: Settings) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(settings.db)), "prints")


def _order_stream(node, rate: float, start: int) -> None:
    from sqlmodel import select

    from app.db.tables import Order
    from app.demo import push_orders

    with node.uow.read() as s:
        start = max(start, len(s.exec(select(Order.id)).all()) + 1)
    n = start
    while True:
        time.sleep(1 / rate)
        try:
            push_orders(node.uow, 1, start=n)
        except Exception:
            logging.getLogger("wes.demo").exception("demo order failed")
        n += 1


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--host", default=None, help=HOST_HELP)
@click.option("--port", default=None, type=int, help=PORT_HELP)
@click.option("--api-port", default=None, type=int, help=API_PORT_HELP)
@click.option("--config", "config_file", default=None, help=CONFIG_HELP)
@click.option("--backup-every", default=None, help="Take a backup this often while serving, e.g. 1h (WES_BACKUP_EVERY).")
@click.option("--backup-keep", default=None, type=int, help="Backups that schedule keeps (WES_BACKUP_KEEP; default 48).")
@click.option("--backup-dir", default=None, help="Where it writes them (WES_BACKUP_DIR; default backups/ beside the database).")
def serve(db, host, port, api_port, config_file, backup_every, backup_keep, backup_dir):
    """Serve the kiosk and the API with waitress, and start the router's front."""
    from app.bootstrap import build_node
    from app.db.schema import SchemaTooNew

    settings = _settings(db=db, host=host, port=port, api_port=api_port, config_file=config_file,
                         backup_every=backup_every, backup_keep=backup_keep, backup_dir=backup_dir)
    check_ports(settings)
    lock = _lock(settings)
    configure_logging(settings.log_level, settings.log_format, _log_secrets(settings))
    notice = {"simulated": f"DEVICES ARE SIMULATED (WES_DEVICES=simulated): no real lights, scanners or printers are "
                           f"driven; labels are written to {_prints_dir(settings)}. For real devices add [devices] "
                           "tables to the config file (hardware/devices.example.toml).",
              "none": "NO DEVICES (WES_DEVICES=none): lights, scanners and printers are off."}.get(settings.devices)
    if notice and settings.log_format == "json":  # log tools see it as the JSON line it is
        logging.getLogger("wes").warning(notice)
    elif notice:
        click.echo(notice, err=True)
    if not os.environ.get("WES_ROUTER_TOKEN") and not settings.config_file:
        click.echo(f"WES_ROUTER_TOKEN not set; this run's API token is {settings.router_token}", err=True)
    try:
        node = build_node(settings, lock=lock)
    except SchemaTooNew as exc:
        lock.release()
        raise click.ClickException(str(exc)) from None
    configured_token = bool(os.environ.get("WES_ROUTER_TOKEN") or settings.config_file)
    _serve(node, settings.host, settings.port, settings.threads, BANNER.format(title=f"node {settings.node_id}",
                                                                              extra=""), lock,
           shown_token="$WES_ROUTER_TOKEN" if configured_token else None)


@main.command("import")
@click.argument("kind", type=click.Choice(["catalog", "locations", "stock"]))
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", default=None, help=DB_HELP)
@click.option("--config", "config_file", default=None, help=CONFIG_HELP)
def import_(kind, csv_file, db, config_file):
    """Import catalog, locations or stock from CSV (all rows or none)."""
    from tqdm import tqdm

    from app.db.engine import make_engines
    from app.db.schema import upgrade
    from app.db.uow import UnitOfWork
    from app.importer import ImportFailed, import_csv

    settings = _settings(db=db, config_file=config_file)
    upgrade(settings.db)
    writer, reader = make_engines(settings.db, settings.synchronous)
    uow = UnitOfWork(writer, reader)
    with open(csv_file, newline="", encoding="utf-8-sig") as fh:
        total = max(0, sum(1 for _ in fh) - 1)
    try:
        with open(csv_file, newline="", encoding="utf-8-sig") as fh, tqdm(total=total, unit="row", desc=kind,
                                                                          file=sys.stderr) as bar:
            report = import_csv(uow, kind, fh, progress=bar.update)
    except ImportFailed as exc:
        for line_no, message in exc.report.errors:
            click.echo(f"{csv_file}:{line_no}: {message}", err=True)
        click.echo(f"{len(exc.report.errors)} bad row(s) of {exc.report.rows}: nothing imported", err=True)
        sys.exit(1)
    finally:
        writer.dispose()
        reader.dispose()
    click.echo(f"imported {report.rows} {kind} row(s)")


def _database_to_back_up(db, config_file) -> Settings:
    """The configured database; with nothing configured and no wes.db here, the demo's (the README's
    `wes backup TARGET` after `wes demo`)."""
    settings = _settings(db=db, config_file=config_file)
    configured = db or config_file or os.environ.get("WES_DB") or os.environ.get("WES_CONFIG")
    if not configured and not os.path.exists(settings.db) and os.path.exists(DEMO_DB):
        settings.db = DEMO_DB
    if not os.path.exists(settings.db):
        raise click.ClickException(f"no database at {os.path.abspath(settings.db)} (give --db, WES_DB or --config)")
    return settings


@main.command()
@click.argument("target", type=click.Path())
@click.option("--db", default=None, help="The database to back up (WES_DB, or the config's; wes-demo.db after a demo).")
@click.option("--config", "config_file", default=None, help=CONFIG_HELP)
@click.option("--every", default=None, help="Keep going: a dated backup in the TARGET folder this often, e.g. 1h, "
                                            "until stopped (in `wes serve`: --backup-every).")
@click.option("--keep", default=48, show_default=True, help="With --every: the backups kept (the oldest go first).")
def backup(target, db, config_file, every, keep):
    """Online backup of the database to TARGET (a file, or a folder: a dated file in it); safe
    while the node runs, checked before it is kept."""
    from app.backup import BackupFailed, BackupSchedule, backup_database, backup_name
    from app.config import parse_interval

    settings = _database_to_back_up(db, config_file)
    if every:
        try:
            every_s = parse_interval(every)
        except ConfigError as exc:
            raise click.ClickException(f"--every: {exc}") from None
        schedule = BackupSchedule(settings.db, target, settings.node_id, every_s, keep)
        previous = {sig: signal.signal(sig, _stop_on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        click.echo(f"backing up {settings.db} into {target}/ every {every}, keeping {keep}; Ctrl-C (or SIGTERM) stops")
        try:
            while True:
                time.sleep(schedule.step())
        except KeyboardInterrupt:
            return
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if os.path.isdir(target) or target.endswith(os.sep):
        target = os.path.join(target, backup_name(settings.node_id, time.time()))
    try:
        result = backup_database(settings.db, target)
    except (BackupFailed, OSError) as exc:
        raise click.ClickException(f"backup failed: {exc}") from None
    click.echo(f"backed up {settings.db} to {result.path} ({result.size_bytes / 1e6:.1f} MB in {result.seconds:.2f} s, "
               f"schema {result.revision}, integrity ok)")


@main.command()
@click.argument("backup_file", type=click.Path())
@click.option("--db", default=None, help="The database to replace (WES_DB, or the config's).")
@click.option("--config", "config_file", default=None, help=CONFIG_HELP)
def restore(backup_file, db, config_file):
    """Replace the database with BACKUP_FILE after checking its integrity and schema version.
    Refused while a node runs on the database; the replaced database is kept beside it."""
    from app.backup import BackupFailed, restore_database

    settings = _settings(db=db, config_file=config_file)
    try:
        revision, kept = restore_database(backup_file, settings.db)
    except (BackupFailed, NodeRunning, OSError) as exc:
        raise click.ClickException(f"restore refused: {exc}") from None
    click.echo(f"restored {backup_file} to {settings.db} (schema {revision}; `wes serve` upgrades it if older)"
               + (f"; the database it replaced is {kept}" if kept else ""))


@main.group()
def simulate():
    """Stand-in devices on real transports (pty, TCP) for a node run with WES_DEVICES=config."""


@simulate.command("scanner")
@click.option("--station", default="PACK-1", show_default=True, help="Station the snippet assigns the scanner to.")
@click.option("--id", "scanner_id", default="sim-scanner", show_default=True, help="Scanner id in the snippet.")
@click.option("--terminator", type=click.Choice(["CR", "CRLF", "LF"]), default="CR", show_default=True,
              help="What ends each scan, as the scanner is set up to send.")
def simulate_scanner(station, scanner_id, terminator):
    """A serial barcode scanner on a pty: every line typed on stdin is scanned."""
    from app.simulate import run_scanner

    run_scanner(station=station, scanner_id=scanner_id, terminator=terminator)


@simulate.command("printer")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the printer listens on.")
@click.option("--port", default=9100, show_default=True, type=int, help="0 picks a free port.")
@click.option("--out", "out_dir", default="prints", show_default=True, type=click.Path(file_okay=False),
              help="Folder where each job is saved.")
@click.option("--max-jobs", default=None, type=int, help="Stop after this many jobs.")
@click.option("--seconds", default=None, type=float, help="Stop after this many seconds.")
@click.option("--fault", default="none", show_default=True,
              type=click.Choice(["none", "paper-out", "cover-open", "offline", "power-cut", "drop", "no-read", "mute"]),
              help="Misbehave: a state answered in status, lose power mid-job, reset connections, never read, "
                   "never answer status queries.")
@click.option("--cut-after", default=16, show_default=True, type=int, help="Bytes taken before a power-cut.")
def simulate_printer(host, port, out_dir, max_jobs, seconds, fault, cut_after):
    """A raw-TCP (:9100) ESC/POS or ZPL printer that saves each job, answers status queries and
    shows what it printed."""
    from app.simulate import run_printer

    run_printer(host=host, port=port, out_dir=out_dir, max_jobs=max_jobs, seconds=seconds, fault=fault,
                cut_after=cut_after)


@simulate.command("lights")
@click.option("--zone", default="A", show_default=True, help="Zone the snippet assigns the modules to.")
@click.option("--id", "lights_id", default="sim-lights", show_default=True, help="Lights id in the snippet.")
@click.option("--url", default=None, help="Serve the device end of this pyserial URL instead of a new pty.")
@click.option("--baudrate", default=115200, show_default=True, type=int, help="Serial speed (8N1).")
def simulate_lights(zone, lights_id, url, baudrate):
    """Console pick-to-light modules (ASCII protocol): shows what is lit; 'press <addr> <button>'."""
    from app.simulate import run_lights

    run_lights(zone=zone, lights_id=lights_id, url=url, baudrate=baudrate)


@main.command()
@click.option("--quick", is_flag=True, help="Small database and short runs: a smoke run in under 2 minutes.")
@click.option("--duration", type=float, default=None, help="Seconds of pick load (and of the baseline); default 60.")
@click.option("--skip-5m", "skip_5m", is_flag=True, help="Skip the 5,000,000-event database (read scaling).")
@click.option("--keep-db", "keep_db", is_flag=True, help="Keep the generated databases and reuse them next time.")
@click.option("--out", default="bench-results.json", show_default=True, type=click.Path(dir_okay=False),
              help="Where the JSON summary goes (also printed).")
@click.option("--workdir", default=None, type=click.Path(file_okay=False),
              help="Where the generated databases live (default: <tmp>/wes-bench).")
@click.option("--no-profile", "no_profile", is_flag=True, help="Skip the short profiled window.")
def bench(quick, duration, skip_5m, keep_db, out, workdir, no_profile):
    """Benchmark suite: scan->light latency, pick confirmations vs a minimal endpoint, order ingest,
    reads on a big database, CPU and memory. Prints JSON and a table of targets (PASS/FAIL)."""
    try:
        import psutil  # noqa: F401
    except ImportError:
        raise click.ClickException("wes bench needs psutil (CPU and memory figures): "
                                   "pip install 'node-wes[bench]' (or .venv/bin/pip install -e '.[bench]')") from None
    from app.bench.suite import Options, main as bench_main

    sys.exit(bench_main(Options(quick=quick, duration=duration, skip_5m=skip_5m, keep_db=keep_db, out=out,
                                workdir=workdir, profile=not no_profile)))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.pass_context
def router(ctx):
    """Serve the network's reference router (app.network; see `wes router --help`)."""
    from app.network.cli import router_command

    router_command.main(args=ctx.args, prog_name="wes router")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.pass_context
def network(ctx):
    """The micro-fulfillment network: `wes network demo --nodes 3` (see `wes network --help`)."""
    from app.network.cli import network_group
    from app.network.simulation_cli import backtest_command, simulate_command

    network_group.add_command(simulate_command)
    network_group.add_command(backtest_command)
    network_group.main(args=ctx.args, prog_name="wes network")


if __name__ == "__main__":
    main()
