"""Log files: masked, rotated by size and by age, old ones deleted, the folder bounded."""
from __future__ import annotations

import logging
import os
import time

import pytest

from kiosk.logging_setup import KioskLogHandler, install


def make_logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    return logger


def test_size_rotation_keeps_the_folder_bounded(tmp_path):
    handler = KioskLogHandler(tmp_path / "kiosk.log", max_bytes=4096, backups=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log = make_logger(handler, "test.size")
    for n in range(2000):
        log.info("visit %d: %s", n, "x" * 60)
    handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["kiosk.log", "kiosk.log.1", "kiosk.log.2", "kiosk.log.3"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 4 * 4096
    assert "visit 1999" in (tmp_path / "kiosk.log").read_text()


def test_age_rotation_and_retention(tmp_path):
    now = [time.time()]
    handler = KioskLogHandler(tmp_path / "kiosk.log", max_bytes=1 << 20, backups=5,
                              rotate_after_s=86400, keep_days=2, clock=lambda: now[0])
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = make_logger(handler, "test.age")
    current = tmp_path / "kiosk.log"

    def write(message: str) -> None:
        log.info(message)
        os.utime(current, (now[0], now[0]))  # the file was last written at the (fake) time
    write("day 0")
    now[0] += 3600
    write("day 0, later")
    assert not (tmp_path / "kiosk.log.1").exists()
    for day in range(1, 5):
        now[0] += 86400
        write(f"day {day}")
    handler.close()
    assert (tmp_path / "kiosk.log").read_text() == "day 4\n"
    kept = sorted(p.name for p in tmp_path.glob("kiosk.log.*"))
    assert kept == ["kiosk.log.1", "kiosk.log.2"]  # older than two days: deleted


def test_old_backups_are_pruned_at_start_and_the_current_age_is_read_from_the_file(tmp_path):
    old = tmp_path / "kiosk.log.4"
    old.write_text("old\n")
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    (tmp_path / "kiosk.log.1").write_text("recent\n")
    (tmp_path / "kiosk.log").write_text("2020-01-01 10:00:00,000 INFO x: long ago\n")
    handler = KioskLogHandler(tmp_path / "kiosk.log")
    handler.setFormatter(logging.Formatter("%(message)s"))
    assert not old.exists() and (tmp_path / "kiosk.log.1").exists()
    make_logger(handler, "test.start").info("now")
    handler.close()
    assert (tmp_path / "kiosk.log").read_text() == "now\n"   # the day-old file was rotated first
    assert "long ago" in (tmp_path / "kiosk.log.1").read_text()


def test_install_masks_and_replaces_its_handler(tmp_path):
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        install(tmp_path / "a", max_bytes=2048, backups=2)
        path = install(tmp_path / "b", max_bytes=2048, backups=2)
        ours = [h for h in root.handlers if isinstance(h, KioskLogHandler)]
        assert len(ours) == 1 and ours[0].baseFilename == str(path)
        logging.getLogger("test.install").warning("card 450329198802140427 read")
        ours[0].flush()
        assert "450329********0427" in path.read_text()
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
            h.close()


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError):
        KioskLogHandler(tmp_path / "kiosk.log", max_bytes=10, backups=1)
