"""Capture what the running app shows on the X server, screen after screen; run as a subprocess by tests.

    python tests/live_capture.py OUT_DIR SCREEN[:elderly] ...

The app runs as ``kiosk screenshot`` configures it (demo data in a throw-away folder) but as a normal
X client: each screen is staged the way ``kiosk screenshot`` stages it, the app is left alone for the same
settling time, then the X server's root window is read with ImageMagick's ``import`` (what a person in
front of the kiosk would see), into OUT_DIR/SCREEN.png. Run it on an X server whose screen is exactly
the window's size, so that the root window is the app's window.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path


def main() -> int:
    out_dir, wanted = Path(sys.argv[1]), sys.argv[2:]
    from kiosk import ui_env
    from kiosk.config import PathsSection, load_config

    cfg = load_config(None)
    work = Path(tempfile.mkdtemp(prefix="kiosk-live-", dir=out_dir))
    cfg = replace(cfg, platform=replace(cfg.platform, base_url="", token=""),
                  paths=PathsSection(data_dir=work / "data", log_dir=work / "log", key_file=work / "outbox.key"))
    width, height = (int(v) for v in os.environ.get("UI_SIZE", "1080x1920").split("x"))
    ui_env.prepare(width, height, False, kivy_home=work / "kivy", log_level="error")

    from kiosk.app import SETTLED_FRAMES, KioskApp, after_frames, drive
    from kiosk.commands.screenshot import settle_seconds, stage

    outcome: dict = {"ok": False}

    def steps(app):
        yield 1.0
        for item in wanted:
            screen, _, mode = item.partition(":")
            if app.keeper.current is not None:
                app.end_session("next screen", card_alert=False)
            if mode == "elderly" and not app.elderly:
                app.toggle_elderly()
            yield 0.3
            while screen in ("guide", "guide-detail") and app.catalogue_index is None:
                yield 0.1
            stage(app, screen)
            yield settle_seconds(screen)
            drawn = []   # the same whole frames kiosk screenshot waits for, then the swap that shows the last
            after_frames(SETTLED_FRAMES, lambda: drawn.append(True))
            while not drawn:
                yield 0.05
            yield 0.2
            target = out_dir / f"{screen}{'-' + mode if mode else ''}.png"
            subprocess.run(["import", "-silent", "-window", "root", str(target)], check=True, timeout=30,
                           capture_output=True)

    KioskApp(cfg, on_started=lambda app: drive(app, steps(app), outcome)).run()
    if not outcome["ok"]:
        print(outcome.get("error", "capture did not finish"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
