"""The floor: what each station shows and lights next. No Flask here, so the kiosk, the CLI
simulator and the benchmark drive the same director in-process."""
from .director import Outcome, StationDirector, StationState

__all__ = ["Outcome", "StationDirector", "StationState"]
