"""Files of the upload tests, built with the libraries that read them (pypdf, Pillow): valid ones
of each type, and the attacks of an outside run, each a file a customer's browser could send."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def pdf(
    change: Callable[[PdfWriter], None] | None = None, *, size: int | None = None, text: bytes = b""
) -> bytes:
    """A one-page PDF (`change` edits it before it is written); `size`: padded to that many bytes
    by a comment in its page's content stream; `text`: bytes the content stream carries."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    if change is not None:
        change(writer)

    stream = DecodedStreamObject()
    page[NameObject("/Contents")] = writer._add_object(stream)

    def written(padding: int) -> bytes:
        stream.set_data(b"% justificatif " + b"x" * padding + b"\n" + text)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    padding = 0
    content = written(padding)
    while size is not None and len(content) != size:  # the lengths written move with the padding
        padding += size - len(content)
        content = written(padding)
    return content


def image(kind: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=kind)
    return out.getvalue()


def open_action(action: dict[str, object]) -> Callable[[PdfWriter], None]:
    def change(writer: PdfWriter) -> None:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject(k): v for k, v in action.items()}  # type: ignore[misc]
        )

    return change


def javascript_on_open(writer: PdfWriter) -> None:
    open_action({"/S": NameObject("/JavaScript"), "/JS": TextStringObject("app.alert(1)")})(writer)


def launch_on_open(writer: PdfWriter) -> None:
    open_action({"/S": NameObject("/Launch"), "/F": TextStringObject("calc.exe")})(writer)


def embedded_file(writer: PdfWriter) -> None:
    writer.add_attachment("facture.exe", b"MZ\x90\x00")


def javascript_in_a_link(writer: PdfWriter) -> None:
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("this.exportDataObject()"),
        }
    )
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([]),
            NameObject("/A"): writer._add_object(action),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])


PDF = pdf()
PNG = image("PNG")
JPEG = image("JPEG")
# the refused files of the outside run, each with the name it was sent under
ATTACKS: dict[str, tuple[str, bytes, str]] = {
    "PDF+HTML named evil.html": (
        "evil.html",
        pdf(text=b"<html><script>alert(document.cookie)</script></html>"),
        "UNSUPPORTED_TYPE",
    ),
    "PDF+HTML named facture.pdf": (
        "facture.pdf",
        pdf(text=b"<html><script>alert(document.cookie)</script></html>"),
        "ACTIVE_CONTENT",
    ),
    "JPEG+PHP named shell.php": (
        "shell.php",
        JPEG + b"<?php system($_GET['c']); ?>",
        "UNSUPPORTED_TYPE",
    ),
    "JPEG+PHP named photo.jpg": (
        "photo.jpg",
        JPEG + b"<?php system($_GET['c']); ?>",
        "ACTIVE_CONTENT",
    ),
    "PNG named x.svg": ("x.svg", PNG, "UNSUPPORTED_TYPE"),
    "SVG named x.png": (
        "x.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
        "UNSUPPORTED_TYPE",
    ),
    "PNG named scan.pdf": ("scan.pdf", PNG, "TYPE_MISMATCH"),
    "PDF with JavaScript on open": ("a.pdf", pdf(javascript_on_open), "ACTIVE_CONTENT"),
    "PDF with a launch action": ("a.pdf", pdf(launch_on_open), "ACTIVE_CONTENT"),
    "PDF with an embedded file": ("a.pdf", pdf(embedded_file), "ACTIVE_CONTENT"),
    "PDF with JavaScript in a link": ("a.pdf", pdf(javascript_in_a_link), "ACTIVE_CONTENT"),
    "EICAR test file": ("eicar.pdf", EICAR, "UNSUPPORTED_TYPE"),
    "EICAR inside a PDF": ("a.pdf", pdf(text=EICAR), "INFECTED"),
    "3 bytes FF D8 FF": ("photo.jpg", b"\xff\xd8\xff", "UNREADABLE"),
    "truncated PNG": ("scan.png", PNG[: len(PNG) // 2], "UNREADABLE"),
    "PDF header and nothing else": ("a.pdf", b"%PDF-1.7\n" + b"x" * 200, "UNREADABLE"),
    "HTML named facture.pdf": ("facture.pdf", b"<html><body>hi</body></html>", "UNSUPPORTED_TYPE"),
}
