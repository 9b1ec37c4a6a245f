"""A material's pages, already JPEG-encoded, into one PDF without decoding or re-encoding them.

Pillow's PDF writer decodes every JPEG and encodes it again (slower, and a second generation of
compression artefacts on every page). PDF embeds baseline and progressive JPEG as-is (DCTDecode),
so a dozen lines of PDF objects around the untouched bytes are all a multi-page file needs.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Iterable

DEFAULT_DPI = 250  # roughly what an 8 MP document camera resolves over an A4/A3 field


class NotAJpeg(ValueError):
    pass


def jpeg_info(data: bytes) -> tuple[int, int, int]:
    """(width, height, components) from a JPEG's start-of-frame marker."""
    if data[:2] != b"\xff\xd8":
        raise NotAJpeg("not a JPEG (no SOI marker)")
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise NotAJpeg("corrupt JPEG (marker expected)")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if i + 9 >= n:
                break
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            return width, height, data[i + 9]
        if marker == 0xDA:  # start of scan before any frame header
            break
        i += 2 + length
    raise NotAJpeg("corrupt JPEG (no frame header)")


def write_pdf(pages: Iterable[bytes], out: str | os.PathLike | BinaryIO, dpi: float = DEFAULT_DPI) -> int:
    """Write JPEG ``pages`` as one PDF, each page sized to its image at ``dpi``; returns the page
    count. A path is written to a temporary name and renamed, so a failure leaves no partial file."""
    if isinstance(out, (str, os.PathLike)):
        path = Path(out)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                count = write_pdf(pages, fh, dpi)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return count

    pages = list(pages)
    if not pages:
        raise ValueError("no pages to write")
    infos = [jpeg_info(p) for p in pages]
    buf = io.BytesIO()
    offsets: list[int] = []

    def obj(body: bytes, stream: bytes | None = None) -> None:
        offsets.append(buf.tell())
        buf.write(f"{len(offsets)} 0 obj\n".encode())
        buf.write(body)
        if stream is not None:
            buf.write(b"\nstream\n")
            buf.write(stream)
            buf.write(b"\nendstream")
        buf.write(b"\nendobj\n")

    buf.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    # object numbers: 1 catalog, 2 page tree, then per page: page, contents, image
    kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(len(pages)))
    obj(b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for i, (data, (w, h, comps)) in enumerate(zip(pages, infos)):
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        page_no = 3 + 3 * i
        space, procset = {1: ("/DeviceGray", "/ImageB"), 3: ("/DeviceRGB", "/ImageC"),
                          4: ("/DeviceCMYK", "/ImageC")}.get(comps, (None, None))
        if space is None:
            raise NotAJpeg(f"page {i + 1}: unsupported JPEG with {comps} components")
        obj(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2f} {ph:.2f}] "
            f"/Resources << /XObject << /Im0 {page_no + 2} 0 R >> /ProcSet [/PDF {procset}] >> "
            f"/Contents {page_no + 1} 0 R >>".encode())
        content = f"q {pw:.2f} 0 0 {ph:.2f} 0 0 cm /Im0 Do Q".encode()
        obj(f"<< /Length {len(content)} >>".encode(), content)
        decode = " /Decode [1 0 1 0 1 0 1 0]" if comps == 4 else ""
        obj(f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {space} "
            f"/BitsPerComponent 8 /Filter /DCTDecode{decode} /Length {len(data)} >>".encode(), data)
    xref = buf.tell()
    buf.write(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        buf.write(f"{off:010d} 00000 n \n".encode())
    buf.write(f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    out.write(buf.getvalue())
    return len(pages)
