"""Who may do what on the floor: one table, role -> permissions. A mode is a permission
(`mode:pick`), and so is every action that is more than working in a mode (`adjust`,
`resolve-exception`, ...). Every kiosk action and every mode switch is checked against it."""
from __future__ import annotations

from .operators import Role

MODES = ("pick", "putwall", "pack", "dock", "receive", "supervise")
MODE_TITLES = {"pick": "Pick", "putwall": "Put wall", "pack": "Pack", "dock": "Dock", "receive": "Receive",
               "supervise": "Supervisor"}

# Actions beyond working in a mode. Each is named in PERMISSIONS below.
SUPERVISOR_ACTIONS = frozenset({
    "adjust", "count", "resolve-exception", "complete-cancellation", "ack-exception", "unlock-badge",
    "blind-receipt",
})

_FLOOR_MODES = frozenset({"mode:pick", "mode:putwall", "mode:pack", "mode:dock", "mode:receive", "close-manifest"})

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.PICKER: frozenset({"mode:pick", "mode:putwall"}),
    # packers hand packages to the carriers at the dock and close a carrier's manifest
    Role.PACKER: frozenset({"mode:pack", "mode:putwall", "mode:dock", "mode:receive", "reprint", "close-manifest"}),
    # A supervisor can stand in for anyone on the floor.
    Role.SUPERVISOR: _FLOOR_MODES | {"mode:supervise", "reprint"} | SUPERVISOR_ACTIONS,
    Role.ADMIN: _FLOOR_MODES | {"mode:supervise", "reprint", "admin"} | SUPERVISOR_ACTIONS,
}

# The mode a station of each kind starts in for someone who may work there.
MODE_BY_STATION_KIND = {"handheld": "pick", "kiosk": "pick", "putwall": "putwall", "pack": "pack",
                        "dock": "dock", "receiving": "receive"}


def may(role: str, permission: str) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:  # a role the table does not know may do nothing
        return False


def may_enter(role: str, mode: str) -> bool:
    return mode in MODES and may(role, f"mode:{mode}")


def modes_for(role: str) -> tuple[str, ...]:
    return tuple(m for m in MODES if may_enter(role, m))


def start_mode(role: str, station_kind: str) -> str | None:
    """Supervisors start on their overview; everyone else in the station's own mode when they may
    work there, else in the first mode they may enter (None: this role has no floor mode)."""
    if may_enter(role, "supervise"):
        return "supervise"
    wanted = MODE_BY_STATION_KIND.get(station_kind, "pick")
    if may_enter(role, wanted):
        return wanted
    allowed = modes_for(role)
    return allowed[0] if allowed else None
