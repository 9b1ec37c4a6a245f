"""UI strings come from kiosk.i18n plus one module per area in kiosk.texts; a key defined twice fails loudly."""
from __future__ import annotations

import sys
import types

import pytest

from kiosk import i18n


def test_area_strings_are_merged_and_a_key_defined_twice_is_refused(monkeypatch):
    module = types.ModuleType("kiosk.texts.zz_twice")
    module.STRINGS = {"home": ("首页", "Home")}
    monkeypatch.setitem(sys.modules, "kiosk.texts.zz_twice", module)

    class Info:
        name = "zz_twice"

    import pkgutil
    monkeypatch.setattr(pkgutil, "iter_modules", lambda path: [Info()])
    with pytest.raises(ValueError, match="'home' is defined twice"):
        i18n._merge_area_texts()


def test_every_string_has_chinese_and_english():
    for key, pair in i18n.STRINGS.items():
        assert len(pair) == 2 and all(isinstance(text, str) and text for text in pair), key
