"""The `wes` command: init, demo, serve, import, backup, simulate, bench."""
from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time

import click

from app.config import Settings


def _settings(**overrides) -> Settings:
    return Settings.load(**{k: v for k, v in overrides.items() if v is not None})


def _serve(node, host: str, port: int, threads: int, banner: str = "") -> None:
    from waitress.server import create_server

    from app import create_app
    from app.front.process import FrontProcess
    from app.serving import settle_heap

    app = create_app(node=node)
    server = create_server(app, host=host, port=port, threads=threads)
    settle_heap()
    url = f"http://{host}:{server.effective_port}"
    front = None
    api_url = url
    try:
        if node.settings.api_front:
            loopback = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
            front = FrontProcess(node.settings, f"http://{loopback}:{server.effective_port}")
            try:
                api_url = front.start()
            except RuntimeError as exc:  # e.g. its port in use: the node stops here, as for its own port
                raise click.ClickException(f"{exc} (WES_API_PORT={node.settings.api_port}; "
                                           "WES_API_FRONT=false serves the router from WES_PORT)") from None
        click.echo(banner.format(url=url, api_url=api_url) if banner else
                   f"Node WES serving on {url} (kiosk, API); the router's API on {api_url}/api/v1")
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if front is not None:
            front.stop()
        server.close()
        node.close()


@click.group()
@click.option("--log-level", default=None, help="Overrides WES_LOG_LEVEL.")
def main(log_level):
    """Node WES: the warehouse execution system of one micro-fulfillment node."""
    logging.basicConfig(level=(log_level or os.environ.get("WES_LOG_LEVEL", "INFO")).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter hides the banner


@main.command()
@click.option("--db", default=None, help="SQLite file (WES_DB).")
def init(db):
    """Create or upgrade the database (alembic upgrade head)."""
    from app.db.schema import upgrade

    settings = _settings(db=db)
    stream = upgrade(settings.db)
    click.echo(f"database {settings.db} is at head (stream {stream})")


@main.command()
@click.option("--db", default=None, help="SQLite file (default: wes-demo.db).")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--orders", "order_count", default=30, show_default=True, help="Sample orders at start.")
@click.option("--order-rate", default=0.05, show_default=True, help="New sample orders per second afterwards (0: none).")
@click.option("--no-serve", is_flag=True, help="Only build the demo database.")
@click.option("--floor-workers", default=0, show_default=True, type=click.IntRange(0, 32),
              help="Simulated floor workers (threads) that pick, pack and ship orders and transfers with no human.")
@click.option("--floor-pace", default=0.5, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds each simulated floor worker waits between actions.")
def demo(db, host, port, order_count, order_rate, no_serve, floor_workers, floor_pace):
    """A demo node: sample catalog, bins in 3 zones, stock, operators, orders, simulated devices."""
    from app.bootstrap import build_node
    from app.db.engine import make_engines
    from app.db.schema import upgrade
    from app.db.uow import UnitOfWork
    from app.demo import push_orders, seed

    settings = _settings(db=db or os.environ.get("WES_DB") or "wes-demo.db", host=host, port=port,
                         router_token=os.environ.get("WES_ROUTER_TOKEN") or "demo-token")
    fresh = not os.path.exists(settings.db)
    upgrade(settings.db)
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
    node = build_node(settings)
    if floor_workers:
        from app.demo_floor import FloorWorkers

        node.workers.append(FloorWorkers(  # in node.workers: stopped with the node
            node.uow, floor_workers, floor_pace, node_id=settings.node_id, sscc_prefix=settings.sscc_prefix,
            printer="lp-1" if settings.devices == "simulated" else None).start())
    if order_rate > 0:
        threading.Thread(target=_order_stream, args=(node, order_rate, order_count + 1), name="wes-demo-orders",
                         daemon=True).start()
    banner = ("\nNode WES demo node {node}\n  kiosk:     {{url}}/kiosk/\n  API:       {{api_url}}/api/v1/status\n"
              "  OpenAPI:   {{api_url}}/api/v1/openapi.json\n  API token: {token}\n"
              "  badges:    BADGE-0001 (picker, PIN 1111), BADGE-0003 (packer, PIN 3333), "
              "BADGE-0004 (supervisor, PIN 4444)\n  prints go to {prints}\nCtrl-C stops.\n").format(
        node=settings.node_id, token=settings.router_token,
        prints=os.path.join(os.path.dirname(os.path.abspath(settings.db)), "prints"))
    _serve(node, settings.host, settings.port, settings.threads, banner)


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
@click.option("--db", default=None)
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--config", "config_file", default=None, help="TOML config file (WES_CONFIG).")
def serve(db, host, port, config_file):
    """Serve the API and kiosk with waitress."""
    from app.bootstrap import build_node

    settings = _settings(db=db, host=host, port=port, config_file=config_file)
    if not os.environ.get("WES_ROUTER_TOKEN") and not settings.config_file:
        click.echo(f"WES_ROUTER_TOKEN not set; this run's API token is {settings.router_token}", err=True)
    _serve(build_node(settings), settings.host, settings.port, settings.threads)


@main.command("import")
@click.argument("kind", type=click.Choice(["catalog", "locations", "stock"]))
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", default=None)
def import_(kind, csv_file, db):
    """Import catalog, locations or stock from CSV (all rows or none)."""
    from tqdm import tqdm

    from app.db.engine import make_engines
    from app.db.schema import upgrade
    from app.db.uow import UnitOfWork
    from app.importer import ImportFailed, import_csv

    settings = _settings(db=db)
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


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--db", default=None)
def backup(target, db):
    """Online backup of the database (SQLite backup API; safe while the node runs)."""
    settings = _settings(db=db)
    if not os.path.exists(settings.db):
        raise click.ClickException(f"no database at {settings.db}")
    src = sqlite3.connect(settings.db)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1024)
        ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        src.close()
        dst.close()
    if ok != "ok":
        raise click.ClickException(f"backup failed its integrity check: {ok}")
    click.echo(f"backed up {settings.db} to {target} (integrity ok)")


@main.group()
def simulate():
    """Stand-in devices on real transports (pty, TCP) for a node run with WES_DEVICES=config."""


@simulate.command("scanner")
@click.option("--station", default="PACK-1", show_default=True, help="Station the snippet assigns the scanner to.")
@click.option("--id", "scanner_id", default="sim-scanner", show_default=True, help="Scanner id in the snippet.")
@click.option("--terminator", type=click.Choice(["CR", "CRLF", "LF"]), default="CR", show_default=True)
def simulate_scanner(station, scanner_id, terminator):
    """A serial barcode scanner on a pty: every line typed on stdin is scanned."""
    from app.simulate import run_scanner

    run_scanner(station=station, scanner_id=scanner_id, terminator=terminator)


@simulate.command("printer")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int, help="0 picks a free port.")
@click.option("--out", "out_dir", default="prints", show_default=True, type=click.Path(file_okay=False))
@click.option("--max-jobs", default=None, type=int, help="Stop after this many jobs.")
@click.option("--seconds", default=None, type=float, help="Stop after this many seconds.")
def simulate_printer(host, port, out_dir, max_jobs, seconds):
    """A raw-TCP (:9100) ESC/POS or ZPL printer that saves each job and shows what it printed."""
    from app.simulate import run_printer

    run_printer(host=host, port=port, out_dir=out_dir, max_jobs=max_jobs, seconds=seconds)


@simulate.command("lights")
@click.option("--zone", default="A", show_default=True, help="Zone the snippet assigns the modules to.")
@click.option("--id", "lights_id", default="sim-lights", show_default=True, help="Lights id in the snippet.")
@click.option("--url", default=None, help="Serve the device end of this pyserial URL instead of a new pty.")
@click.option("--baudrate", default=115200, show_default=True, type=int)
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

    network_group.main(args=ctx.args, prog_name="wes network")


if __name__ == "__main__":
    main()
