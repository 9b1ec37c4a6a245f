"""Kivy touch UI: one NAME.py and one NAME.kv per screen, plus shared widgets.

Screens bind to app properties and call app methods; they never talk to a device or the network.
kv files are loaded by ``load_kv()`` from the app's ``build()``, never at import.
"""
from __future__ import annotations

from pathlib import Path

KV_FILES = ("widgets", "attract", "home", "guide", "guide_detail", "identify", "progress", "rating", "submit", "capture", "certificates", "help_request")


def load_kv() -> None:
    from kivy.lang import Builder

    # importing the modules registers their widget classes with Kivy's Factory before the rules
    from screens import attract, guide, guide_detail, home, identify, progress, rating, submit, capture, certificates, help_request, widgets  # noqa: F401

    here = Path(__file__).parent
    for name in KV_FILES:
        path = str(here / f"{name}.kv")
        Builder.unload_file(path)
        Builder.load_file(path)
