"""Camera-like frames with real QR codes (made by the qrcode package) for tests, the benchmark and
the decoder self-test: placement, perspective, blur, contrast, uneven light and sensor noise.

Seeded, so a failing frame can be regenerated; nothing here is used on a citizen's data.
"""
from __future__ import annotations

from typing import Iterator

HARD_KINDS = ("blur", "perspective", "low_contrast", "small", "noisy", "uneven_light")
SAMPLE_TEXTS = (
    "办件进度查询 ZW20250123-{n:06d}",
    "北京市朝阳区建国路{n}号 王小明 社保缴费证明",
    "https://zwfw.example.gov.cn/progress/ZW20250123-{n:06d}",
    "黑龙江省哈尔滨市道里区{n}号 居住证明 核验码 7F3K-{n:04d}",
)


def qr_modules(text: str, error_correction: str = "M", border: int = 4):
    """The QR symbol for ``text`` as a gray array, one pixel per module (0 dark, 255 light)."""
    import numpy as np
    import qrcode

    levels = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
              "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
    code = qrcode.QRCode(error_correction=levels[error_correction], border=border, box_size=1)
    code.add_data(text.encode("utf-8"))  # bytes: UTF-8 without ECI, as most generators write it
    code.make(fit=True)
    matrix = np.array(code.get_matrix(), dtype=bool)
    return np.where(matrix, 0, 255).astype(np.uint8)


def qr_image(text: str, module_px: int = 8, error_correction: str = "M"):
    """A clean, pure QR image (as a receipt or a phone screen shows it)."""
    import cv2

    modules = qr_modules(text, error_correction)
    return cv2.resize(modules, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def scene(text: str, width: int = 1280, height: int = 720, size: int = 300, *, blur: float = 0.0,
          noise: float = 0.0, contrast: float = 1.0, perspective: float = 0.0, uneven: bool = False,
          background: int = 150, seed: int = 0, centre: tuple[float, float] = (0.5, 0.5)):
    """A gray frame with the code ``size`` pixels wide, degraded as asked."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    symbol = qr_modules(text).astype(np.float32)
    n = symbol.shape[0]
    src = np.float32([[0, 0], [n, 0], [n, n], [0, n]])
    cx, cy, half = width * centre[0], height * centre[1], size / 2

    def jitter():
        return rng.uniform(-perspective, perspective) * size

    dst = np.float32([[cx - half + jitter(), cy - half + jitter()], [cx + half + jitter(), cy - half + jitter()],
                      [cx + half + jitter(), cy + half + jitter()], [cx - half + jitter(), cy + half + jitter()]])
    warp = cv2.getPerspectiveTransform(src, dst)
    placed = cv2.warpPerspective(symbol, warp, (width, height), flags=cv2.INTER_NEAREST, borderValue=-1.0)
    frame = np.full((height, width), float(background), np.float32)
    frame += rng.normal(0, 6, (height // 8 + 1, width // 8 + 1)).repeat(8, 0).repeat(8, 1)[:height, :width]
    mask = placed >= 0
    frame[mask] = placed[mask]
    frame = 128 + (frame - 128) * contrast
    if uneven:
        frame *= np.linspace(0.45, 1.25, width, dtype=np.float32)[None, :]
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise:
        frame += rng.normal(0, noise, frame.shape).astype(np.float32)
    return frame.clip(0, 255).astype(np.uint8)


def sample_text(n: int) -> str:
    return SAMPLE_TEXTS[n % len(SAMPLE_TEXTS)].format(n=n)


def clean_frame_1080(text: str, seed: int = 1):
    return scene(text, 1920, 1080, 420, noise=2.0, seed=seed)


def noisy_frame_720(text: str, seed: int = 2):
    return scene(text, 1280, 720, 300, blur=0.8, noise=30.0, seed=seed)


def hard_frame(kind: str, text: str, seed: int):
    """One 1280×720 frame of the hard set; each kind defeats a plain single pass some of the time."""
    settings = {
        "blur": dict(size=240, blur=3.0, noise=4.0),
        "perspective": dict(size=280, perspective=0.30, noise=5.0),
        "low_contrast": dict(size=260, contrast=0.06, noise=5.0),
        "small": dict(size=84, blur=0.8, noise=8.0),
        "noisy": dict(size=220, blur=1.6, noise=18.0, contrast=0.5),
        "uneven_light": dict(size=240, blur=2.0, noise=12.0, contrast=0.6, uneven=True),
    }[kind]
    return scene(text, 1280, 720, seed=seed, **settings)


def hard_set(per_kind: int = 6, seed: int = 7) -> Iterator[tuple[str, str, object]]:
    """(kind, text, frame) for every kind, Chinese UTF-8 content throughout."""
    n = 0
    for kind in HARD_KINDS:
        for i in range(per_kind):
            text = sample_text(seed * 1000 + n)
            yield kind, text, hard_frame(kind, text, seed * 1000 + n)
            n += 1
