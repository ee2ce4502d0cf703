"""The floor's actions as an explicit table: an action name maps to a handler, its typed
parameters, the mode the station must be in and the permission it needs (app.domain.permissions).
Nothing is looked up by name on an object: an unknown action is a specific message."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .params import Param


@dataclass(frozen=True)
class Action:
    name: str
    handler: Callable  # handler(station, **params) -> Outcome
    params: tuple[Param, ...] = ()
    mode: str | None = None  # the station must be in this mode (None: any mode)
    permission: str | None = None  # beyond the mode's own permission
    login: bool = True  # False: may be done before logging in (login itself)


def table(*groups: tuple[Action, ...]) -> dict[str, Action]:
    out: dict[str, Action] = {}
    for group in groups:
        for action in group:
            if action.name in out:
                raise ValueError(f"action {action.name} is defined twice")
            out[action.name] = action
    return out
