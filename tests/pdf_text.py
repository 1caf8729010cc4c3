"""Reading back the PDF report in tests, without a PDF library.

The report sets its text in the PDF core font Helvetica, so every word is a literal string of a content stream
(``(text) Tj``); the streams are zlib-compressed (``/FlateDecode``). A reader needs the header, the trailer and a
cross-reference table whose every entry points at the object it names.
"""

from __future__ import annotations

import re
import zlib

A4_LANDSCAPE_PT = (841.89, 595.28)


def content_streams(pdf: bytes) -> list[bytes]:
    """The inflated streams of a PDF (fonts, images and page contents)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return out


def page_texts(pdf: bytes) -> list[list[str]]:
    """Per content stream that draws text, its strings in drawing order (PDF escapes undone)."""
    pages = []
    for stream in content_streams(pdf):
        strings = re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", stream)
        if strings:
            pages.append([re.sub(rb"\\(.)", rb"\1", s).decode("latin-1") for s in strings])
    return pages


def check_structure(pdf: bytes) -> int:
    """Assert what a reader needs to open the file (header, trailer, cross-reference table, A4 landscape pages);
    return the number of pages."""
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    assert pdf[start:start + 4] == b"xref"
    first, count = map(int, re.match(rb"xref\s+(\d+)\s+(\d+)", pdf[start:]).groups())
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", pdf[start:start + 40 + 20 * count])[:count]
    assert len(entries) == count
    for number, (offset, _, kind) in enumerate(entries, start=first):
        if kind == b"n":
            assert re.match(rb"%d 0 obj" % number, pdf[int(offset):]), number
    for w, h in re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf):
        assert abs(float(w) - A4_LANDSCAPE_PT[0]) < 0.5 and abs(float(h) - A4_LANDSCAPE_PT[1]) < 0.5
    return len(re.findall(rb"/Type /Page\b", pdf))
