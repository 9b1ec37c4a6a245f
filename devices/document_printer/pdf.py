"""The little the driver needs to know about a PDF before handing it over.

A certificate that is not a PDF is refused before anything is sent, so a broken download never
turns into a page of garbage. Page counting is a best guess for the simulator's paper tray (page
objects inside compressed object streams are not seen); CUPS counts the real pages.
"""
from __future__ import annotations

import re

_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def looks_like_pdf(data: bytes) -> bool:
    """A PDF starts with ``%PDF-1.x``/``%PDF-2.x`` and ends with ``%%EOF`` (trailing whitespace allowed)."""
    return (len(data) >= 16 and re.match(rb"%PDF-[12]\.\d", data[:8]) is not None
            and b"%%EOF" in data[-1024:])


def count_pages(data: bytes) -> int:
    return max(1, len(_PAGE.findall(data)))
