"""Idle time: reading screens wait longer than menus; a touch starts the wait again."""
from __future__ import annotations

from kiosk.session import IdleState, SessionKeeper


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_reading_screen_waits_longer_than_a_menu_and_a_touch_restarts_it(tmp_path):
    clock = Clock()
    keeper = SessionKeeper(tmp_path, 60, 20, clock=clock)
    keeper.start()
    clock.now += 41
    assert keeper.idle_state() == IdleState.WARNING          # a menu: asked at 40 s
    keeper.touch()
    keeper.set_reading(True)                                 # a guide's detail, a certificate
    clock.now += 41
    assert keeper.idle_state() == IdleState.ACTIVE
    clock.now += 79
    assert keeper.idle_state() == IdleState.WARNING          # asked at 40 × 3 = 120 s
    assert keeper.timer.seconds_left() == 20                 # the countdown itself is as long as on a menu
    keeper.touch()                                           # touching anything starts again
    assert keeper.idle_state() == IdleState.ACTIVE
    keeper.set_timeouts(120, 40)                             # elderly mode doubles both
    clock.now += 239
    assert keeper.idle_state() == IdleState.ACTIVE
    clock.now += 2
    assert keeper.idle_state() == IdleState.WARNING
    keeper.set_reading(False)
    assert keeper.timeout == 120 and keeper.warning == 40
