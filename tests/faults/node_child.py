"""A node process for fault tests: builds the node on the given database, serves its API on a
free loopback port, prints "READY <url> <boot_id>" and runs until it is killed."""
import sys
import time

from app import create_app
from app.bootstrap import build_node
from app.serving import BackgroundServer
from tests.conftest import make_settings


def main(db_dir: str, port: int = 0) -> None:
    from pathlib import Path

    node = build_node(make_settings(Path(db_dir)), start_workers=False)
    server = BackgroundServer(create_app({"TESTING": True}, node=node), threads=4, port=port)
    print(f"READY {server.url} {node.boot_id}", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
