"""Child process for the SIGKILL test: confirms picks as fast as it can and prints the id of each
task only after confirm_pick has returned (i.e. after commit) — that line is the acknowledgement.
With a thread count (argv[2]) that many pickers work at once, each on its own carts, so commands
share group commits when the kill comes."""
import sys
import threading

from app.db.engine import make_engines
from app.db.uow import UnitOfWork
from app.services import picking


def pick(uow: UnitOfWork, out_lock: threading.Lock, max_orders: int) -> None:
    while True:
        batch = picking.create_batch(uow, zone="A", max_orders=max_orders)
        if batch is None:
            return
        task = batch["next"]
        while task:
            out = picking.confirm_pick(uow, task["task_id"])
            with out_lock:
                sys.stdout.write(f"{task['task_id']}\n")
                sys.stdout.flush()
            task = out["next"]


def main(db: str, threads: int = 1) -> None:
    writer, reader = make_engines(db, "FULL")
    uow = UnitOfWork(writer, reader)
    out_lock = threading.Lock()
    if threads == 1:
        pick(uow, out_lock, 50)
    else:
        pickers = [threading.Thread(target=pick, args=(uow, out_lock, 5)) for _ in range(threads)]
        for t in pickers:
            t.start()
        for t in pickers:
            t.join()
    sys.stdout.write("done\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
