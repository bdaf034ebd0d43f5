"""What an upload is, by content (issue 11 "Uploads": pdf, jpg, png, docx, xlsx, doc, xls; never by name),
and the name it is kept under (metadata only)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from obligations import attachments

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _package(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        for part in parts:
            package.writestr(part, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"%PDF-1.7\n%%EOF\n", "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "jpg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "png"),
        (_package("word/document.xml"), "docx"),
        (_package("xl/workbook.xml"), "xlsx"),
        (OLE2 + b"\x00" * 2000 + "WordDocument".encode("utf-16-le"), "doc"),
        (OLE2 + b"\x00" * 2000 + "Workbook".encode("utf-16-le"), "xls"),
        (b"<!doctype html><html><script>alert(1)</script></html>", None),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', None),
        (_package("ppt/slides/slide1.xml"), None),  # a package, but no Word or Excel
        (b"PK\x03\x04 not really a zip", None),
        (OLE2 + b"\x00" * 600, None),  # a compound file of no known application (.msg, .ppt …)
        (b"", None),
    ],
)
def test_a_file_is_judged_by_its_content_alone(tmp_path: Path, content: bytes, kind: str | None) -> None:
    path = tmp_path / "会议记录.pdf"  # the name says PDF whatever the content is
    path.write_bytes(content)
    assert attachments.kind_of(path) == kind


@pytest.mark.parametrize(
    ("given", "kind", "kept"),
    [
        ("C:\\fakepath\\会议纪要.PDF", "pdf", "会议纪要.PDF"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("照片.jpeg", "jpg", "照片.jpeg"),
        ("纪要.pdf", "docx", "纪要.pdf.docx"),  # the real type's suffix
        ("a\u202egpj.exe", "png", "agpj.exe.png"),  # no format or control characters
        ("..", "pdf", "附件.pdf"),
        ("长" * 300 + ".pdf", "pdf", "长" * 76 + ".pdf"),
    ],
)
def test_an_uploads_name_is_kept_clean_short_and_true_to_its_type(given: str, kind: str, kept: str) -> None:
    assert attachments.safe_name(given, kind) == kept
