"""A customer's file, typed by its content: accepted only when it parses as what it claims to be,
carries no active content, and leaves under a safe name with the extension of its real type.

    step                                                    refusal (`FileRefusal.code`)
    first bytes: a PDF, a JPEG or a PNG                     UNSUPPORTED_TYPE
    the name's extension, when it has one, says the same    UNSUPPORTED_TYPE (`.svg`, `.html`…)
                                                            TYPE_MISMATCH (a PNG named `.pdf`)
    markup or script anywhere in the bytes (`<html`,        ACTIVE_CONTENT (polyglots: PDF+HTML,
    `<script`, `<?php`, `<svg`…)                            JPEG+PHP)
    the whole file parses: pypdf opens the PDF and reads    UNREADABLE (truncated, corrupt,
    its pages, Pillow decodes the image                     password-protected)
    a PDF's objects: no JavaScript (`/JS`, `/JavaScript`),  ACTIVE_CONTENT
    no launch or remote actions, no embedded files, no
    rich media or XFA forms (walked through every object)

Parsing is CPU: a caller runs `inspect` off the event loop (`asyncio.to_thread`). The
antivirus is the adapters' (`adapters/antivirus.py`), after these checks.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject


@dataclass(frozen=True, slots=True)
class FileType:
    mime: str
    extension: str
    label: str


PDF = FileType("application/pdf", ".pdf", "un PDF")
JPEG = FileType("image/jpeg", ".jpg", "une image JPEG")
PNG = FileType("image/png", ".png", "une image PNG")
SIGNATURES = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
EXTENSIONS = {".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".png": PNG}

# Markup a browser or a server would run, found anywhere in the bytes (case-insensitive); each a
# tag and the byte after its name, long enough not to turn up in compressed data by chance.
ACTIVE_MARKUP = re.compile(
    rb"<(?:html|head|body|script|svg|iframe|object|embed|meta|!doctype|\?php)[\s>/]"
    rb"|javascript:",
    re.IGNORECASE,
)
# Names of a PDF that run or carry something: JavaScript, actions leaving the document, files.
PDF_ACTIVE_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/RichMedia",
        "/XFA",
    }
)
MAX_PDF_OBJECTS = 200_000  # walked at most; more is refused rather than half-checked
MAX_PIXELS = 60_000_000  # a 60-megapixel photo; more is refused before it is decoded
MAX_STEM = 100


@dataclass(frozen=True, slots=True)
class FileRefusal:
    code: str
    message: str


def first_bytes_type(content: bytes) -> FileType | None:
    return next((kind for magic, kind in SIGNATURES if content.startswith(magic)), None)


def claimed_extension(name: str | None) -> str | None:
    """The extension the file's name claims (`.pdf`), lower case; None without one."""
    base = re.split(r"[\\/]", name or "")[-1].strip()
    stem, dot, extension = base.rpartition(".")
    return f".{extension.lower()}" if dot and stem and extension else None


def inspect(content: bytes, name: str | None) -> FileType | FileRefusal:
    """The file's real type, or why it is refused."""
    kind = first_bytes_type(content)
    if kind is None:
        return FileRefusal("UNSUPPORTED_TYPE", "Formats acceptés : PDF, JPEG ou PNG.")
    extension = claimed_extension(name)
    if extension is not None and extension not in EXTENSIONS:
        return FileRefusal(
            "UNSUPPORTED_TYPE",
            f"Les fichiers {extension[:12]} ne sont pas acceptés : PDF, JPEG ou PNG.",
        )
    if extension is not None and EXTENSIONS[extension] != kind:
        return FileRefusal(
            "TYPE_MISMATCH",
            f"Le fichier est {kind.label}, son nom annonce {EXTENSIONS[extension].label}.",
        )
    if ACTIVE_MARKUP.search(content):
        return FileRefusal("ACTIVE_CONTENT", "Le fichier contient du code (HTML, script) : refusé.")
    problem = pdf_problem(content) if kind is PDF else image_problem(content, kind)
    return problem or kind


def pdf_problem(content: bytes) -> FileRefusal | None:
    unreadable = FileRefusal("UNREADABLE", "Le PDF est illisible ou incomplet.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(content), strict=False)
            if reader.is_encrypted:
                return FileRefusal(
                    "UNREADABLE", "Le PDF est protégé par un mot de passe : envoyez-le sans."
                )
            if len(reader.pages) == 0:
                return unreadable
            for page in reader.pages:
                page.get_contents()  # every page's content stream is read
            if active_pdf_names(reader.trailer):
                return FileRefusal(
                    "ACTIVE_CONTENT",
                    "Le PDF contient du JavaScript, des actions ou des fichiers joints : refusé.",
                )
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError):
        return unreadable
    return None


def active_pdf_names(root: PdfObject) -> bool:
    """True when an object reachable from `root` names active content (iterative, each object
    once; past MAX_PDF_OBJECTS counts as active: refused rather than half-checked)."""
    seen: set[tuple[int, int]] = set()
    pending: list[PdfObject] = [root]
    walked = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            resolved = item.get_object()
            if resolved is None:
                continue
            item = resolved
        walked += 1
        if walked > MAX_PDF_OBJECTS:
            return True
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                if key in PDF_ACTIVE_NAMES:
                    return True
                if key in ("/S", "/Subtype", "/Type") and value in PDF_ACTIVE_NAMES:
                    return True
                if key != "/Parent":  # back up the page tree: reached already
                    pending.append(value)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
        elif isinstance(item, NameObject) and item in ("/JavaScript", "/Launch"):
            return True
    return False


def image_problem(content: bytes, kind: FileType) -> FileRefusal | None:
    unreadable = FileRefusal("UNREADABLE", f"Le fichier n'est pas {kind.label} lisible.")
    expected = "JPEG" if kind is JPEG else "PNG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[expected]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return FileRefusal("TOO_LARGE", "L'image dépasse 60 millions de pixels.")
                image.verify()  # the structure: chunks and their checksums, markers
            with Image.open(io.BytesIO(content), formats=[expected]) as image:
                if kind is JPEG:
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()  # the whole image decoded (a JPEG at an eighth of its size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return unreadable
    except Image.DecompressionBombWarning:
        return FileRefusal("TOO_LARGE", "L'image dépasse 60 millions de pixels.")
    return None


def safe_name(raw: str | None, kind: FileType) -> str:
    """The name the CRM keeps and serves the file back under: the base name's letters, digits
    and `-_ ()`, its other dots made `_` (no second extension), then the real type's extension."""
    base = re.split(r"[\\/]", raw or "")[-1]
    stem = base.rpartition(".")[0] if claimed_extension(base) else base
    stem = unicodedata.normalize("NFC", stem)
    stem = "".join(c if c.isalnum() or c in "-_ ()" else "_" for c in stem)
    stem = re.sub(r"_{2,}", "_", stem).strip(" _")[:MAX_STEM].strip(" _")
    return (stem or "piece-jointe") + kind.extension
