"""A kv rule still bound to a widget that is gone must not stop the app when the property changes."""
from __future__ import annotations

import gc

import pytest

pytest.importorskip("kivy")

from kivy.event import EventDispatcher  # noqa: E402
from kivy.properties import NumericProperty, StringProperty  # noqa: E402
from kivy.weakproxy import WeakProxy  # noqa: E402

from screens.rules import drop_dead_rules  # noqa: E402


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
