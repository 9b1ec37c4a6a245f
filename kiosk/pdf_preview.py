"""The first page of a PDF as a small picture, for the citizen to check before printing.

Ghostscript renders it through pipes (PDF in on stdin, PNG out on stdout): a certificate is
personal data and never touches the disk here. Blocking: call from a worker.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass


class PreviewError(RuntimeError):
    pass


@dataclass(frozen=True)
class PagePicture:
    rgb: bytes           # rows bottom-up, ready for a texture
    size: tuple[int, int]


def first_page(pdf: bytes, dpi: int = 70, timeout: float = 30.0) -> PagePicture:
    from PIL import Image

    gs = shutil.which("gs")
    if gs is None:
        raise PreviewError("ghostscript (gs) is not installed")
    cmd = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m", f"-r{dpi}",
           "-dFirstPage=1", "-dLastPage=1", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
           "-sOutputFile=-", "-"]
    try:
        done = subprocess.run(cmd, input=pdf, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PreviewError("rendering the preview took too long") from None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        raise PreviewError("the document could not be rendered")
    image = Image.open(io.BytesIO(done.stdout)).convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return PagePicture(image.tobytes(), image.size)
