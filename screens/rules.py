"""Kv rules left bound to widgets that are gone, and their removal."""
from __future__ import annotations

from typing import Any

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
