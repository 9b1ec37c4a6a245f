"""A kv rule still bound to a widget that is gone must not stop the app when the property changes;
a ScrollView that scrolls or lays out many times keeps one binding of its bar colour, not one more
each time."""
from __future__ import annotations

import gc

import pytest

pytest.importorskip("kivy")

from kivy.event import EventDispatcher  # noqa: E402
from kivy.properties import NumericProperty, StringProperty  # noqa: E402
from kivy.weakproxy import WeakProxy  # noqa: E402

from screens.rules import drop_dead_rules, keep_one_bar_binding, rules_steady  # noqa: E402


class Source(EventDispatcher):
    value = NumericProperty(0)
    lang = StringProperty("zh")


class Gone:
    note = ""


def rule(args, instance, value):   # the shape of Kivy's kv rule callback: (element, key, ...)
    setattr(args[0], args[1], str(value))


def bound(dead_too: bool) -> tuple[Source, Gone]:
    """A source with a rule of a live widget on two properties, and one of a widget gone."""
    source, alive, dead = Source(), Gone(), Gone()
    if dead_too:
        source.fbind("value", rule, [WeakProxy(dead), "note"])
    source.fbind("value", rule, [WeakProxy(alive), "note"])
    source.fbind("lang", rule, [WeakProxy(alive), "note"])
    del dead
    gc.collect()
    return source, alive


def test_a_rule_of_a_dead_widget_is_unbound_and_the_live_ones_stay():
    source, _ = bound(dead_too=True)
    with pytest.raises(ReferenceError):    # what stopped the app at a visit's end
        source.value = 1
    source, alive = bound(dead_too=True)
    assert drop_dead_rules(source) == 1
    source.value = 2                       # no error now, and the live rules still follow
    assert alive.note == "2"
    source.lang = "en"
    assert alive.note == "en"
    assert drop_dead_rules(source) == 0


def test_nothing_is_unbound_when_every_widget_lives():
    source, alive = bound(dead_too=False)
    assert drop_dead_rules(source) == 0
    source.value = 3
    assert alive.note == "3"


def bar_bindings(view) -> int:
    return sum(1 for cb in view.get_property_observers("bar_color") if getattr(cb, "__name__", "") == "_change_bar_color")


def test_a_scroll_view_keeps_one_bar_colour_binding_however_often_it_scrolls():
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.widget import Widget

    keep_one_bar_binding()
    assert not keep_one_bar_binding()          # once is enough: a second call changes nothing
    patched = ScrollView.update_from_scroll
    view = ScrollView(size=(200, 200))
    view.add_widget(Widget(size_hint_y=None, height=900))
    for step in range(12):                     # a list scrolled and laid out, faster than the bar fades
        view.scroll_y = 1 - step / 12
        patched(view)
    assert bar_bindings(view) == 1
    # the control: Kivy's own method binds once more at every update
    control = ScrollView(size=(200, 200))
    control.add_widget(Widget(size_hint_y=None, height=900))
    for _ in range(12):
        patched.__wrapped__(control)
    assert bar_bindings(control) >= 12


def test_a_widget_collected_in_the_middle_of_a_change_cannot_stop_it():
    """The collector runs at some allocation inside the dispatch and frees a widget that was
    already unreachable, a few callbacks before that widget's rule: without ``rules_steady`` the
    rule meets a dead proxy; with it, no collection runs until the change is dispatched."""
    threshold = gc.get_threshold()
    try:
        for steady in (False, True):
            gc.collect()
            source = Source()
            source.fbind("value", lambda *_: [[] for _ in range(3000)])   # allocations: the collector runs
            gone = Gone()
            gone.cycle = gone                # unreachable once dropped, but freed only by the collector
            source.fbind("value", rule, [WeakProxy(gone), "note"])
            del gone
            gc.set_threshold(100)
            if steady:
                with rules_steady(source) as dropped:
                    source.value = 5         # the rule still meets its widget, whole
                assert dropped == 0
                gc.collect()
                assert drop_dead_rules(source) == 1   # and goes at the next change
            else:
                with pytest.raises(ReferenceError):
                    source.value = 5
            gc.set_threshold(*threshold)
    finally:
        gc.set_threshold(*threshold)
    assert gc.isenabled()
