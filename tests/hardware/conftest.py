"""Fixtures for hardware tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hw_helpers import ScanRecorder
from hypothesis.configuration import set_hypothesis_home_dir

from hardware.scanners.pipeline import ScanPipeline

# Hypothesis writes .hypothesis/ into the working directory; in the repo root
# that directory trips pytest's collection (norecursedirs replaces the
# defaults and warnings are errors). Keep its cache in the temp dir instead.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "node-wes-hypothesis")


@pytest.fixture
def recorder() -> ScanRecorder:
    return ScanRecorder()


@pytest.fixture
def pipeline(recorder: ScanRecorder) -> ScanPipeline:
    # No debounce by default: most tests send distinct or deliberately repeated codes.
    return ScanPipeline(recorder.on_scan, recorder.on_error, debounce_s=0.0)
