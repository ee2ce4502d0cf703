"""Child process for the SIGKILL test: confirms picks as fast as it can and prints the id of each
task only after confirm_pick has returned (i.e. after commit) — that line is the acknowledgement."""
import sys

from app.db.engine import make_engines
from app.db.uow import UnitOfWork
from app.services import picking


def main(db: str) -> None:
    writer, reader = make_engines(db, "FULL")
    uow = UnitOfWork(writer, reader)
    while True:
        batch = picking.create_batch(uow, zone="A", max_orders=50)
        if batch is None:
            break
        task = batch["next"]
        while task:
            out = picking.confirm_pick(uow, task["task_id"])
            sys.stdout.write(f"{task['task_id']}\n")
            sys.stdout.flush()
            task = out["next"]
    sys.stdout.write("done\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
