"""Kivy bindings that pile up or outlive their widgets, and their removal: kv rules left bound to
widgets that are gone, and the scroll bar's colour binding that ScrollView adds on every scroll."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Any, Iterator

from kivy.weakproxy import WeakProxy


def _holds_dead_widget(arg: Any, depth: int = 0) -> bool:
    if isinstance(arg, WeakProxy):
        try:
            arg.__ref__()
        except ReferenceError:
            return True
        return False
    if depth < 2 and isinstance(arg, (list, tuple)):
        return any(_holds_dead_widget(item, depth + 1) for item in arg)
    return False


def drop_dead_rules(source: Any) -> int:
    """Unbind from ``source``'s properties the kv rules whose widget is gone; how many went.

    Kivy unbinds a widget's rules when the weak reference behind its proxy calls back on the
    widget's death, but Python calls no callback when that reference dies in the same garbage
    cycle as the widget. The rule then stays bound, and the next change of the property (the
    theme or the language going back at a visit's end) raises ReferenceError inside Kivy's
    dispatch: an exception no handler catches, which stops the app."""
    dropped = 0
    for name in source.properties():
        for _callback, largs, _kwargs, _is_ref, uid in source.get_property_observers(name, args=True):
            if any(_holds_dead_widget(arg) for arg in largs):
                source.unbind_uid(name, uid)
                dropped += 1
    return dropped


def keep_one_bar_binding() -> bool:
    """Make ScrollView bind its bar colour once, however often it scrolls; True when patched now.

    Kivy's ``ScrollView.update_from_scroll`` (run on every scroll and every layout of the content)
    binds ``bar_color`` to ``_change_bar_color`` again each time, and the half-second trigger that
    fades the bar unbinds it once. Every list, guide text and keyboard that scrolls or lays out
    twice within half a second keeps one more callback for as long as its screen lives: the soak
    counted about five a visit, tens of thousands over weeks, each unbinding scanning them all.
    Unbinding first leaves at most one; the bar shows and fades as before."""
    from kivy.uix.scrollview import ScrollView

    original = ScrollView.update_from_scroll
    if getattr(original, "_keeps_one_bar_binding", False):
        return False

    def update_from_scroll(self, *largs):
        self.funbind("bar_color", self._change_bar_color)
        return original(self, *largs)

    update_from_scroll._keeps_one_bar_binding = True
    update_from_scroll.__wrapped__ = original
    ScrollView.update_from_scroll = update_from_scroll
    return True


@contextmanager
def rules_steady(source: Any) -> Iterator[int]:
    """Around a change of ``source`` that reaches every kv rule (the theme, the language): drop
    the rules of widgets already gone, and let no garbage collection run until the change is
    dispatched. Yields how many rules were dropped.

    Dropping first is not enough: the collector may run at any allocation inside the dispatch,
    free a widget that was already unreachable, and leave its rule bound to a dead proxy (the
    same garbage cycle again) a few callbacks before that rule is called. With collection
    paused, such a widget is still whole while the rules run; its rules go at the next change."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield drop_dead_rules(source)
    finally:
        if enabled:
            gc.enable()
