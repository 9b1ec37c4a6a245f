"""Forms the kiosk prints on the A4 printer (在自助终端填写后打印签字): blank, or filled from the ID card.

A filled form carries the citizen's name, ID number and address: it is made in memory, handed to
the printer and dropped; it is never written to the kiosk's disk by us nor logged (the print
system spools it only while printing, as it does a certificate). Only the form's title is logged.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from kiosk.catalogue import KioskForm

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
_font_lock = threading.Lock()
_font: str | None = None


def _cjk_font() -> str:
    """A CJK font for reportlab, registered once: a system TrueType font embedded as a subset, or
    reportlab's built-in STSong-Light (not embedded) when none is installed."""
    global _font
    from pathlib import Path

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    with _font_lock:
        if _font is None:
            for path, index in FONT_CANDIDATES:
                if Path(path).is_file():
                    try:
                        pdfmetrics.registerFont(TTFont("KioskFormCJK", path, subfontIndex=index))
                        _font = "KioskFormCJK"
                        break
                    except TTFError:
                        continue
            if _font is None:
                pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
                _font = "STSong-Light"
        return _font


@dataclass(frozen=True)
class CardValues:
    """What the ID card fills in. Sex and birth date come from the 18-digit ID number."""

    name: str = ""
    id_number: str = ""
    address: str = ""

    def value(self, field: str) -> str:
        number = self.id_number
        if field == "name":
            return self.name
        if field == "id_number":
            return number
        if field == "address":
            return self.address
        if len(number) == 18 and number[:17].isdigit():
            if field == "sex":
                return "男" if int(number[16]) % 2 else "女"
            if field == "birth":
                try:
                    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
                except ValueError:
                    return ""
                return f"{born.year}年{born.month}月{born.day}日"
        return ""  # ethnicity and anything the card's number does not say: written by hand


def card_values(holder: Any) -> CardValues:
    """The values of the visit's card holder (a kiosk.identity.CardHolder)."""
    return CardValues(name=holder.display_name or "", id_number=holder.subject_id_number() or "",
                      address=holder.address or "")


def render_form(form: KioskForm, values: CardValues | None = None, *, printed_on: date | None = None,
                centre: str = "") -> bytes:
    """The form as a one-page A4 PDF: a labelled box per field (filled from ``values`` where the
    form says the card fills it), the declaration, and lines for the signature and the date."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    font = _cjk_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=1)
    small = ParagraphStyle("small", fontName=font, fontSize=10, leading=14, textColor=colors.grey, alignment=1)
    label = ParagraphStyle("label", fontName=font, fontSize=11.5, leading=16)
    value = ParagraphStyle("value", fontName=font, fontSize=12.5, leading=17)
    text = ParagraphStyle("text", fontName=font, fontSize=12, leading=19)

    rows = []
    heights = []
    for entry in form.fields:
        filled = values.value(entry.card) if (values is not None and entry.card) else ""
        rows.append([Paragraph(escape(entry.label), label), Paragraph(escape(filled), value)])
        heights.append(max(11 * mm, entry.lines * 9 * mm))
    table = Table(rows, colWidths=(58 * mm, 112 * mm), rowHeights=heights)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.94, 0.94, 0.94)),
    ]))
    story = [Paragraph(escape(form.title), title_style)]
    if centre:
        story.append(Paragraph(escape(f"{centre} 自助终端打印"), small))
    story += [Spacer(1, 6 * mm), table, Spacer(1, 8 * mm), Paragraph(escape(form.declaration), text),
              Spacer(1, 14 * mm),
              Paragraph("申请人（签字）：________________　　　日期：______年____月____日", text),
              Spacer(1, 10 * mm),
              Paragraph("代办人（签字，如有）：________________　　联系电话：________________", text)]
    if printed_on is not None:
        story += [Spacer(1, 8 * mm), Paragraph(escape(f"打印日期：{printed_on.isoformat()}　请核对打印内容，签字后随其他材料一并提交。"), small)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=form.title, author="", subject="",
                      creator="kiosk").build(story)
    return out.getvalue()


def printable_materials(materials: Sequence[Any], forms: dict[str, KioskForm]) -> list[int]:
    """Indexes of the materials whose form the kiosk can print."""
    return [i for i, m in enumerate(materials) if m.name in forms]
