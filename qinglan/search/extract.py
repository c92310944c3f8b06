"""Text from attached files, for the full-text index: PDF (pypdf), DOCX (python-docx), XLSX
(openpyxl), PPTX (python-pptx), plain text (charset detected), HTML (tags, scripts and styles
stripped with the standard ``html.parser``) and e-mail (``.eml``: the text/plain body, else
the HTML one, with the subject and addresses).

Files come from anybody, so every reader is bounded: the text is cut at ``MAX_TEXT``
characters, PDFs at ``MAX_PDF_PAGES`` pages and ``pdf_seconds()`` of reading (checked before
each page and at every operator of a page's content; what was read by then is kept, and a PDF
that gave nothing by then fails), office files (ZIP containers) are refused when
their members would unpack to more than ``MAX_UNPACKED`` bytes (zip bombs), and any error of
a reader is turned into ``ExtractionError`` for the caller to log and skip.

``extract(name, data)`` returns an ``Extracted(text, status)``; the status says why a file
gave no text (``unsupported``, ``encrypted``)."""

import codecs
import email
import io
import logging
import time
import zipfile
from dataclasses import dataclass
from email import policy
from html.parser import HTMLParser

from django.conf import settings

logger = logging.getLogger("qinglan.search")

MAX_TEXT = 1_000_000  # characters of text kept per file
MAX_PDF_PAGES = 2000
MAX_UNPACKED = 100 * 1024 * 1024  # bytes an office file may unpack to (its XML is parsed in memory)
MAX_ZIP_MEMBERS = 10_000

OK = "ok"
EMPTY = "empty"
UNSUPPORTED = "unsupported"
ENCRYPTED = "encrypted"
FAILED = "failed"


class ExtractionError(Exception):
    pass


@dataclass
class Extracted:
    text: str
    status: str
    note: str = ""  # why only part of the file was read


def pdf_seconds():
    """How long one PDF may be read (setting QINGLAN_SEARCH_PDF_SECONDS, 30 s by default)."""
    return max(0.0, float(getattr(settings, "QINGLAN_SEARCH_PDF_SECONDS", 30)))


class _Collector:
    """Collects pieces of text up to MAX_TEXT characters; `full` tells the readers to stop;
    `note` says why a reader stopped early."""

    def __init__(self, limit=MAX_TEXT):
        self.parts, self.size, self.limit = [], 0, limit
        self.note = ""

    @property
    def full(self):
        return self.size >= self.limit

    def add(self, text):
        if not text or self.full:
            return
        text = text[: self.limit - self.size]
        self.parts.append(text)
        self.size += len(text) + 1

    def text(self):
        return "\n".join(self.parts)[: self.limit]


# ---- plain text ---------------------------------------------------------------------------


def _han_score(text):
    """How much `text` reads like real Chinese: the share of its CJK characters that jieba's
    dictionary knows as words of their own (mis-decoded bytes give rare characters)."""
    from .text import _jieba, _to_simplified, is_cjk

    characters = [char for char in text[:4000] if is_cjk(char)]
    if not characters:
        return 0.0
    frequencies = _jieba().dt.FREQ
    simplified = _to_simplified().convert("".join(characters))
    known = sum(1 for char in simplified if frequencies.get(char, 0) >= 1000)
    return known / len(characters)


def decode_text(data):
    """Bytes of a text file as text: a BOM (UTF-8, UTF-16, UTF-32) decides; else UTF-8 if the
    bytes are valid UTF-8; else GB18030 or Big5, whichever reads more like Chinese."""
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    # Incremental decoders, not final: the bytes may be cut in the middle of a character.
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        pass
    candidates = []
    for encoding in ("gb18030", "big5"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(data, final=False)
        except UnicodeDecodeError:
            continue
        candidates.append((_han_score(text), encoding, text))
    if candidates:
        return max(candidates)[2]
    return codecs.getincrementaldecoder("gb18030")(errors="replace").decode(data, final=False)


# ---- HTML ---------------------------------------------------------------------------------

_SKIPPED_TAGS = {"script", "style", "template", "noscript", "svg", "math", "iframe", "object"}
_BLOCK_TAGS = {
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
    "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "title",
}


class _TextParser(HTMLParser):
    def __init__(self, collector):
        super().__init__(convert_charrefs=True)
        self.collector = collector
        self.skipping = 0
        self.line = []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag):
        if tag in _SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data):
        if not self.skipping:
            self.line.append(data)

    def _flush(self):
        line = " ".join("".join(self.line).split())
        self.line = []
        if line:
            self.collector.add(line)

    def close(self):
        super().close()
        self._flush()


def html_text(html, collector=None):
    collector = collector or _Collector()
    parser = _TextParser(collector)
    # Fed in pieces so that a huge page stops being parsed once the text is full.
    for start in range(0, len(html), 65536):
        parser.feed(html[start : start + 65536])
        if collector.full:
            break
    parser.close()
    return collector.text()


# ---- readers ------------------------------------------------------------------------------


def _txt(data, collector):
    collector.add(decode_text(data[: MAX_TEXT * 4]))


def _html(data, collector):
    html_text(decode_text(data[: MAX_TEXT * 8]), collector)


def _eml(data, collector):
    message = email.message_from_bytes(data, policy=policy.default)
    for header in ("subject", "from", "to", "cc"):
        value = message.get(header)
        if value:
            collector.add(str(value))
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return
    try:
        content = body.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset
        content = decode_text(body.get_payload(decode=True) or b"")
    if isinstance(content, bytes):
        content = decode_text(content)
    if body.get_content_type() == "text/html":
        html_text(content, collector)
    else:
        collector.add(content)


def _pdf(data, collector):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        if not getattr(settings, "QINGLAN_SEARCH_INDEX_ENCRYPTED", False):
            raise _Encrypted
        from pypdf import PasswordType

        if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise _Encrypted
    seconds = pdf_seconds()
    deadline = time.monotonic() + seconds

    def in_time(*_operands):
        if time.monotonic() >= deadline:
            raise _TimeUp

    try:
        for number, page in enumerate(reader.pages):
            if number >= MAX_PDF_PAGES or collector.full:
                break
            in_time()
            collector.add(page.extract_text(visitor_operand_before=in_time) or "")
    except _TimeUp:
        if not collector.parts:
            raise ExtractionError(f"reading the PDF took longer than {seconds:g} s") from None
        collector.note = f"only the first {number} pages were read in {seconds:g} s"


def _check_zip(data):
    """Refuse ZIP containers that would unpack to too much (zip bombs)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"not a valid office file: {exc}") from exc
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS or sum(member.file_size for member in members) > MAX_UNPACKED:
        raise ExtractionError("the file would unpack to too much data")


def _docx(data, collector):
    import docx

    _check_zip(data)
    document = docx.Document(io.BytesIO(data))
    for paragraph in document.paragraphs:
        collector.add(paragraph.text)
        if collector.full:
            return
    for table in document.tables:
        for row in table.rows:
            collector.add(" ".join(cell.text for cell in row.cells))
            if collector.full:
                return


def _xlsx(data, collector):
    import openpyxl

    _check_zip(data)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            collector.add(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                collector.add(" ".join(str(value) for value in row if value is not None))
                if collector.full:
                    return
    finally:
        workbook.close()


def _pptx(data, collector):
    import pptx

    _check_zip(data)
    presentation = pptx.Presentation(io.BytesIO(data))
    for slide in presentation.slides:
        for shape in slide.shapes:
            _pptx_shape(shape, collector)
        if slide.has_notes_slide:
            collector.add(slide.notes_slide.notes_text_frame.text if slide.notes_slide.notes_text_frame else "")
        if collector.full:
            return


def _pptx_shape(shape, collector, depth=0):
    if depth > 20:
        return
    if shape.has_text_frame:
        collector.add(shape.text_frame.text)
    if getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            collector.add(" ".join(cell.text for cell in row.cells))
    for child in getattr(shape, "shapes", ()):  # a group
        _pptx_shape(child, collector, depth + 1)


class _Encrypted(Exception):
    pass


class _TimeUp(Exception):
    pass


READERS = {
    "pdf": _pdf,
    "docx": _docx,
    "xlsx": _xlsx,
    "xlsm": _xlsx,
    "pptx": _pptx,
    "txt": _txt,
    "text": _txt,
    "csv": _txt,
    "tsv": _txt,
    "md": _txt,
    "log": _txt,
    "html": _html,
    "htm": _html,
    "eml": _eml,
}


def extension(name):
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def supported(name):
    return extension(name) in READERS


def extract(name, data):
    """The text of a file named `name` with content `data` (bytes). Raises ExtractionError
    when the file is broken or hostile."""
    reader = READERS.get(extension(name))
    if reader is None:
        return Extracted("", UNSUPPORTED)
    collector = _Collector()
    try:
        reader(data, collector)
    except _Encrypted:
        return Extracted("", ENCRYPTED)
    except ExtractionError:
        raise
    except RecursionError as exc:
        raise ExtractionError("the file nests too deeply") from exc
    except MemoryError as exc:
        raise ExtractionError("the file needs too much memory") from exc
    except Exception as exc:  # noqa: BLE001 — any reader's error on a broken file
        raise ExtractionError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    text = collector.text().replace("\x00", "").strip()
    return Extracted(text, OK if text else EMPTY, collector.note)
