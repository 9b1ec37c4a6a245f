"""Capture screen texts beyond kiosk.i18n's."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    # a page whose edges were not clear: the whole photograph is kept (never silently cropped)
    "capture_whole_frame": ("纸边没看清，已存整张照片，可删除重拍",
                            "Edges unclear: the whole photo was kept. Not clear? Touch \"Delete last\" and retake"),
}
