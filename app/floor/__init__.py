"""The floor: stations, sessions, one flow per mode, the light board and the stream hub."""
from .floor import Floor, scan_code
from .outcome import BadInput, Outcome, Refused
from .sessions import FloorSession, SessionPolicy

__all__ = ["Floor", "FloorSession", "SessionPolicy", "Outcome", "Refused", "BadInput", "scan_code"]
