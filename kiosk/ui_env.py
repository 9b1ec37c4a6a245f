"""Kivy settings that must be in place before Kivy is first imported.

Kivy reads ``KCFG_<SECTION>_<KEY>`` environment variables over its config file, so we set the
window and input settings here without importing Kivy (and without touching ~/.kivy).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
)


def find_cjk_font() -> str | None:
    """A font with Chinese glyphs: the known Debian paths first, then fontconfig."""
    for path in CJK_FONT_CANDIDATES:
        if os.path.exists(path):
            return path
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True,
                                 text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out and os.path.exists(out):
            return out
    return None


def prepare(width: int, height: int, fullscreen: bool = False, kivy_home: Path | None = None,
            log_level: str = "warning") -> None:
    env = os.environ
    env["KCFG_KIVY_LOG_LEVEL"] = log_level
    env["KIVY_NO_ARGS"] = "1"            # our CLI owns argv
    env["KIVY_LOG_MODE"] = "PYTHON"      # Kivy logs through our logging set-up, not its own handlers
    env["KIVY_NO_CONFIG"] = "1"          # settings come from KCFG_* below, never from a config.ini
    env.setdefault("KIVY_NO_CONSOLELOG", "1")
    env.setdefault("KIVY_NO_FILELOG", "1")
    env["KIVY_HOME"] = str(kivy_home or Path(tempfile.gettempdir()) / f"kiosk-kivy-{os.getuid()}")
    env["KCFG_GRAPHICS_WIDTH"] = str(width)
    env["KCFG_GRAPHICS_HEIGHT"] = str(height)
    env["KCFG_GRAPHICS_FULLSCREEN"] = "auto" if fullscreen else "0"
    env["KCFG_GRAPHICS_RESIZABLE"] = "0"
    env["KCFG_GRAPHICS_BORDERLESS"] = "1" if fullscreen else "0"
    env["KCFG_GRAPHICS_MULTISAMPLES"] = "0"
    env["KCFG_KIVY_EXIT_ON_ESCAPE"] = "0"
    env["KCFG_KIVY_KEYBOARD_MODE"] = "system"  # our own on-screen keyboard; never Kivy's docked one
    env["KCFG_INPUT_MOUSE"] = "mouse,disable_multitouch"
