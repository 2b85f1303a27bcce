"""Count the pages of a PDF without a PDF library: the page objects, also those that WeasyPrint
packs into compressed object streams."""

from __future__ import annotations

import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_PAGE = re.compile(rb"/Type\s*/Page(?!s)")


def page_count(pdf: bytes) -> int:
    """How many ``/Type /Page`` objects *pdf* holds."""
    assert pdf.startswith(b"%PDF"), "not a PDF"
    chunks = [pdf]
    for raw in _STREAM.findall(pdf):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            continue
    return sum(len(_PAGE.findall(c)) for c in chunks)
