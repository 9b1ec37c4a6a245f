"""A screen's own timer or animation runs while it is shown and stops when it is left, however the
switches come: two switches in one tick (Kivy then skips the first one's on_enter/on_leave) must
not leave a running animation or timer behind, one more per visit."""
from __future__ import annotations

import pytest

pytest.importorskip("kivy")

from kivy.animation import Animation  # noqa: E402
from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.event import EventDispatcher  # noqa: E402
from kivy.properties import StringProperty  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager  # noqa: E402

from screens.attract import AttractScreen  # noqa: E402
from screens.identify import IdentifyScreen  # noqa: E402


def tick(n: int = 2) -> None:
    for _ in range(n):
        Clock.tick()


def animations_of(widget) -> int:
    return sum(1 for a in Animation._instances if widget.uid in getattr(a, "_widgets", {}))


def manager_with(screen: Screen) -> ScreenManager:
    manager = ScreenManager(transition=NoTransition())
    for s in (Screen(name="home"), screen, Screen(name="a"), Screen(name="b")):
        manager.add_widget(s)
    tick()
    return manager


def visits(manager: ScreenManager, name: str, count: int = 8) -> None:
    """Enter ``name``, then leave it by two switches in one tick (the first is cut short), then home."""
    for _ in range(count):
        manager.current = name
        tick()
        manager.current = "a"
        manager.current = "b"
        tick()
        manager.current = "home"
        tick()


def test_the_card_animation_stops_when_the_switch_away_is_cut_short():
    screen = IdentifyScreen(name="identify")
    manager = manager_with(screen)
    manager.current = "identify"
    tick()
    assert animations_of(screen) >= 1          # the card comes down while the screen is shown
    manager.current = "home"
    tick()
    assert animations_of(screen) == 0
    visits(manager, "identify")
    assert animations_of(screen) == 0           # was one more per visit: 272 after 4,200 soak visits
    manager.current = "identify"
    tick()
    assert animations_of(screen) >= 1
    manager.current = "home"
    tick()


class Notices(EventDispatcher):
    """What the attract screen asks of the app: its language and the notices."""
    lang = StringProperty("zh")
    notices = ["一", "二"]


def test_the_notice_rotation_stops_when_the_switch_away_is_cut_short(monkeypatch):
    app = Notices()
    monkeypatch.setattr(App, "get_running_app", staticmethod(lambda: app))
    screen = AttractScreen(name="attract")
    manager = ScreenManager(transition=NoTransition())
    for s in (screen, Screen(name="home"), Screen(name="a"), Screen(name="b")):
        manager.add_widget(s)
    tick()
    assert screen._rotation is not None        # the first screen shown: notices rotate
    events = []
    real = Clock.schedule_interval

    def counted(callback, timeout):
        event = real(callback, timeout)
        if "AttractScreen" in getattr(callback, "__qualname__", ""):
            events.append(event)
        return event
    monkeypatch.setattr(Clock, "schedule_interval", counted)
    for _ in range(8):
        manager.current = "home"
        manager.current = "a"                   # the switch to home cut short: attract gets no on_leave
        tick()
        manager.current = "attract"
        tick()
    running = [e for e in events if e.is_triggered]
    assert len(events) == 8 and len(running) == 1   # one timer, the shown screen's (was one more per visit)
    manager.current = "home"
    tick()
    assert screen._rotation is None and not any(e.is_triggered for e in events)
