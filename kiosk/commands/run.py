"""``kiosk run``: the touch UI. With no configuration, the demo profile."""
from __future__ import annotations

import argparse
import logging
import logging.handlers


def register(parsers) -> None:
    p = parsers.top.add_parser("run", help="start the touch UI (demo profile when nothing is configured)")
    p.add_argument("--size", metavar="WxH", help="window size, overriding screen.width/height")
    p.set_defaults(func=run)


def parse_size(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    from kiosk.errors import UsageError

    if not text:
        return default
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1080x1920, got {text!r}") from None
    if not (320 <= w <= 7680 and 320 <= h <= 7680):
        raise UsageError(f"--size {text} is outside 320..7680 pixels")
    return w, h


def setup_file_logging(cfg) -> None:
    from kiosk.logging_setup import install

    install(cfg.paths.log_dir)


def run(args: argparse.Namespace) -> int:
    from kiosk import ui_env
    from kiosk.memory import limit_arenas

    limit_arenas()  # before any thread starts: weeks of captures must not grow the heap (kiosk/memory.py)
    from kiosk.fleet.agent import startup_config
    from kiosk.fleet.app_wiring import FleetWiring

    cfg = startup_config(args.config_path)  # the site file and the fleet documents that last passed their gate
    width, height = parse_size(args.size, (cfg.screen.width, cfg.screen.height))
    setup_file_logging(cfg)
    logging.getLogger(__name__).info("starting kiosk %s (demo=%s) from %s", cfg.kiosk.id, cfg.demo, cfg.sources)
    ui_env.prepare(width, height, cfg.screen.fullscreen)
    import signal

    from kiosk.app import KioskApp

    app = KioskApp(cfg, fleet=FleetWiring(args.config_path))
    # systemd stops us with SIGTERM: stop the app normally so the session is wiped on the way out
    signal.signal(signal.SIGTERM, lambda signum, frame: app.stop())
    app.run()
    return 0
