"""Small real documents written by the tests themselves: PDF (by hand, with a ToUnicode map so
Chinese text can be extracted), DOCX, XLSX, PPTX, e-mail."""

import io
from email.message import EmailMessage

from qinglan.search.samples import docx, pdf, xlsx  # noqa: F401  (the tests' files too)


def encrypted_pdf(*lines, user_password=""):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(*lines))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pptx(title, body, notes=""):
    import pptx as python_pptx

    presentation = python_pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = title
    slide.placeholders[1].text = body
    if notes:
        slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def eml(subject, plain=None, html=None):
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "王小明 <wang@example.com>"
    message["To"] = "sales@example.com"
    if plain is not None:
        message.set_content(plain)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message.as_bytes()


def zip_bomb(megabytes=110):
    """A .docx-named ZIP whose one member unpacks to `megabytes` MB of zeros."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(block)
    return out.getvalue()
