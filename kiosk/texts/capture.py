"""Capture screen texts beyond kiosk.i18n's."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    # a page whose edges were not clear: the whole photograph is kept (never silently cropped)
    "capture_whole_frame": ("没有看清纸张的边，这一页按整张照片保存了。请看下面的小图：看不清就点「删除上一页」再拍一次",
                            "The paper's edges were not clear, so the whole photo was kept. Check the small picture below; "
                            "if it is not clear, touch \"Delete last\" and take it again"),
}
