"""The floor's rules as plain data: who may do what, where a login starts, what a light button
means, how long a badge stays locked, which steps a pick task may take."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.domain import errors, lifecycles
from app.domain.buttons import Press, press_meaning
from app.domain.lockout import LockoutPolicy, seconds_left
from app.domain.permissions import may, may_enter, modes_for, start_mode


def test_pickers_pick_and_put_but_never_pack_receive_adjust_or_supervise():
    assert modes_for("picker") == ("pick", "putwall")
    for permission in ("mode:pack", "mode:receive", "mode:supervise", "adjust", "count", "resolve-exception"):
        assert not may("picker", permission)


def test_packers_pack_receive_and_reprint_and_supervisors_do_everything():
    assert modes_for("packer") == ("putwall", "pack", "dock", "receive") and may("packer", "reprint")
    assert may("packer", "close-manifest") and not may("picker", "mode:dock") and not may("picker", "close-manifest")
    assert not may("packer", "adjust") and not may("packer", "blind-receipt")
    for permission in ("adjust", "count", "resolve-exception", "unlock-badge", "mode:pick", "mode:supervise",
                       "mode:dock", "close-manifest", "blind-receipt"):
        assert may("supervisor", permission) and may("admin", permission)


def test_an_unknown_role_may_do_nothing():
    assert not may("intern", "mode:pick") and modes_for("intern") == () and start_mode("intern", "kiosk") is None


def test_a_login_starts_in_the_stations_mode_when_the_role_may_work_there():
    assert start_mode("packer", "pack") == "pack"
    assert start_mode("packer", "handheld") == "putwall"  # may not pick: the first mode it may enter
    assert start_mode("picker", "receiving") == "pick"
    assert start_mode("supervisor", "pack") == "supervise"
    assert may_enter("picker", "putwall") and not may_enter("picker", "nowhere")


@pytest.mark.parametrize("button, shown, remaining, meaning", [
    ("plus", 2, 3, Press("show", 3)), ("plus", 3, 3, Press("show", 3)),
    ("minus", 1, 3, Press("show", 0)), ("minus", 0, 3, Press("show", 0)),
    ("confirm", 3, 3, Press("confirm", 3)),
    ("confirm", 2, 3, Press("short", 2)),  # the light was the picker's count
    ("short", 3, 3, Press("short", 0)), ("short", 1, 3, Press("short", 1)),
])
def test_light_buttons(button, shown, remaining, meaning):
    assert press_meaning(button, shown, remaining) == meaning


def test_five_failures_lock_a_badge_for_a_time_that_doubles_up_to_an_hour():
    p = LockoutPolicy()
    assert [p.lock_for(n) for n in range(1, 8)] == [0, 0, 0, 0, 30, 60, 120]
    assert p.lock_for(50) == 3600
    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert seconds_left(p.locked_until(5, now), now) == 30 and seconds_left(None, now) == 0


def test_pick_tasks_end_once_and_inbound_shipments_never_reopen():
    assert lifecycles.check("pick task", "open", "short") == "short"
    with pytest.raises(errors.IllegalTransition):
        lifecycles.check("pick task", "done", "short")
    with pytest.raises(errors.IllegalTransition):
        lifecycles.check("inbound shipment", "completed", "receiving")
