"""`python -m app.front --node-url URL`: the router's front process (started by `wes serve`/`wes demo`
through app.front.process; settings come from the same WES_* variables as the node's). Prints
`READY <url>` once it listens, then serves until SIGTERM/SIGINT or until its parent is gone."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

import click


def _stop(*_) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the server loop like Ctrl-C, so the finally below runs


def _orphan_watch(parent: int) -> None:
    # The node process starts and stops the front; if the node dies without stopping it (kill -9),
    # the front must not keep answering status for a node that is gone.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


@click.command()
@click.option("--node-url", required=True, help="The node process, e.g. http://127.0.0.1:8080")
@click.option("--threads", default=16, show_default=True, help="for the requests passed to the node")
def main(node_url: str, threads: int) -> None:
    from app.config import Settings
    from app.front.app import build_front
    from app.front.server import create_front_server
    from app.logformat import configure_logging
    from app.serving import limit_malloc_arenas, settle_heap

    limit_malloc_arenas()
    settings = Settings.load()
    configure_logging(settings.log_level, settings.log_format,
                      (settings.router_token, settings.metrics_token, settings.secret_key))
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), name="wes-front-orphan", daemon=True).start()
    front = build_front(settings, node_url)
    server = create_front_server(front, settings.host, settings.api_port, threads)
    settle_heap()
    signal.signal(signal.SIGTERM, _stop)
    print(f"READY http://{settings.host}:{server.effective_port}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        front.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
