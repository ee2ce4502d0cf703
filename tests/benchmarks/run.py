"""Runs the benchmark suite outside pytest: `python tests/benchmarks/run.py [--quick] ...`
(same options as `wes bench`). Not collected by the test run: no test_ files here."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.cli import bench  # noqa: E402

if __name__ == "__main__":
    bench(prog_name="run.py")
