"""One certificate (证明) as a printable A4 PDF, with a CJK font, a verification code and a QR code.

The font is a TrueType CJK font from the system (WenQuanYi Micro Hei, which ``make setup`` installs
as fonts-wqy-microhei), embedded as a subset so that any printer or viewer shows the same glyphs and
the text can be extracted. Without one, reportlab's built-in CID font STSong-Light is used: not
embedded, so the viewer (CUPS, a PDF reader) must supply a Song typeface.

The QR code is an image (not vector rectangles) so that a test, or an auditor, can pull it out of
the PDF and decode it. Documents are rendered with reportlab's ``invariant`` mode: the same
certificate always gives the same bytes, so the kiosk's print ledger can record a stable hash.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Sequence
from xml.sax.saxutils import escape

import qrcode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# (path, index of the face inside a .ttc collection); the first that loads wins.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
FALLBACK_FONT = "STSong-Light"

_font_lock = threading.Lock()
_fonts: dict[tuple[tuple[str, int], ...], str] = {}


def cjk_font(candidates: Sequence[tuple[str, int]] = FONT_CANDIDATES) -> str:
    """Register (once per process) and return the name of the CJK font to draw with."""
    key = tuple(candidates)
    with _font_lock:
        if key in _fonts:
            return _fonts[key]
        chosen = None
        for path, index in key:
            if not Path(path).is_file():
                continue
            name = f"CJK-{Path(path).stem}-{index}"
            try:
                pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
            except (TTFError, OSError):
                continue
            chosen = name
            break
        if chosen is None:
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
            chosen = FALLBACK_FONT
        _allow_chinese_punctuation_to_hang()
        _fonts[key] = chosen
        return chosen


def _allow_chinese_punctuation_to_hang() -> None:
    """Keep full-width ，。；：？！）》 from starting a line (避头点).

    reportlab's CJK wrapping knows the Japanese list of characters that may not start a line,
    which lacks most Chinese full-width punctuation, so a line could begin with "，". Both of its
    wrapping routines read the list from a module global; extending it there is process-wide and
    harmless (it only lets such a character hang in the right margin, as Chinese typesetting does).
    """
    from reportlab.lib import textsplit
    from reportlab.platypus import paragraph

    for module in (textsplit, paragraph):
        missing = "".join(ch for ch in "，；：？！）》」』〕】…" if ch not in module.ALL_CANNOT_START)
        if missing:
            module.ALL_CANNOT_START += missing


@dataclass(frozen=True)
class CertificatePage:
    number: str
    title: str
    holder_name: str
    holder_id_number: str
    paragraphs: tuple[str, ...]
    table_rows: tuple[tuple[str, ...], ...] | None
    department: str
    issued_on: date
    valid_until: date | None
    verification_code: str
    verify_url: str


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def qr_image(text: str, size: float) -> Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    picture = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    buffer.seek(0)
    return Image(buffer, width=size, height=size)


def render_certificate(page: CertificatePage, *,
                       font_candidates: Sequence[tuple[str, int]] = FONT_CANDIDATES) -> bytes:
    """The certificate as PDF bytes (one A4 page for any realistic content)."""
    font = cjk_font(font_candidates)

    def style(name: str, size: float, leading: float, **extra) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **extra)

    header = style("header", 9, 12, alignment=TA_RIGHT, textColor=colors.grey)
    title = style("title", 22, 30, alignment=TA_CENTER, spaceBefore=6, spaceAfter=16)
    holder = style("holder", 12.5, 22)
    body = style("body", 12.5, 22, firstLineIndent=25, spaceAfter=4, alignment=TA_LEFT)
    cell = style("cell", 10.5, 14, alignment=TA_CENTER)
    sign = style("sign", 12.5, 22, alignment=TA_RIGHT)
    small = style("small", 9, 13, textColor=colors.HexColor("#333333"))

    story: list = [
        Paragraph(f"电子证明　证明编号：{escape(page.number)}", header),
        Paragraph(escape(page.title), title),
        Paragraph(f"姓名：{escape(page.holder_name)}", holder),
        Paragraph(f"证件号码：{escape(page.holder_id_number)}", holder),
        Spacer(1, 6),
    ]
    story += [Paragraph(escape(text), body) for text in page.paragraphs]
    if page.table_rows:
        rows = [[Paragraph(escape(value), cell) for value in row] for row in page.table_rows]
        table = Table(rows, hAlign="CENTER", repeatRows=1)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]))
        story += [Spacer(1, 6), table, Spacer(1, 8)]
    story.append(Paragraph("特此证明。", body))
    if page.valid_until is not None:
        story.append(Paragraph(f"本证明有效期至{chinese_date(page.valid_until)}。", body))
    story += [
        Spacer(1, 18),
        Paragraph(escape(page.department), sign),
        Paragraph(chinese_date(page.issued_on), sign),
        Spacer(1, 24),
    ]
    note = Paragraph(
        f"核验码：{escape(page.verification_code)}<br/>"
        f"扫描左侧二维码，或访问 {escape(page.verify_url)} ，可核验本证明的真伪。<br/>"
        f"本证明由{escape(page.department)}出具，经政务服务自助终端打印，"
        "内容以核验结果为准。", small)
    footer = Table([[qr_image(page.verify_url, 30 * mm), note]], colWidths=[34 * mm, None])
    footer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                ("LINEABOVE", (0, 0), (-1, 0), 0.5, colors.grey)]))
    story.append(footer)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=20 * mm,
        bottomMargin=20 * mm, title=page.title, author=page.department,
        creator="kiosk reference platform", invariant=1)
    document.build(story)
    return buffer.getvalue()
