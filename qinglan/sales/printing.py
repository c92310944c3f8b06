"""Printed sales documents (quotes, account statements): one layout, written as PDF (reportlab, with the
CJK fonts every PDF reader has — 明體 for Traditional, 宋體 for Simplified Chinese — so nothing
is embedded) or DOCX (python-docx, editable in Word or LibreOffice). Texts are in the member's
language; names, lines and terms as typed."""

import io

from django.utils import translation
from django.utils.translation import gettext as _

from qinglan.core.detail import decimal_text


def template_for(kind, chosen=None):
    """The print template to use: the chosen one, else the default of the kind (or none)."""
    from .models import PrintTemplate

    if chosen is not None:
        return chosen
    return PrintTemplate.objects.filter(kind=kind, is_default=True).first()


def apply_template(document, template, values):
    """The template's title, texts, footer and logo choice on a document (values put in its placeholders)."""
    if template is None:
        return document
    if template.title:
        document["title"] = template.fill(template.title, values)
    document["intro"] = template.fill(template.intro, values)
    document["closing"] = template.fill(template.closing, values)
    document["footer"] = template.fill(template.footer, values)
    document["logo"] = document.get("logo") if template.show_logo else None
    return document


def company_logo(company):
    """The company logo's bytes, or None (no logo, or the file is gone)."""
    if not company or not company.logo:
        return None
    try:
        with company.logo.open("rb") as file:
            return file.read()
    except (OSError, ValueError):
        return None


def quote_document(quote):
    """The quote as a plain structure both writers read."""
    from qinglan.org.models import CompanyProfile

    from .choices import PrintKind

    company = CompanyProfile.objects.first()
    places = quote.money_places
    currency = quote.currency.code if quote.currency_id else ""
    lines = list(quote.lines.select_related("product", "unit", "tax_rate").order_by("id"))
    values = {
        "company": company.name if company else "", "customer": str(quote.customer), "contact": str(quote.contact or ""), "code": quote.code,
        "date": quote.quote_date.isoformat(), "valid_until": quote.valid_until.isoformat() if quote.valid_until else "",
        "total": decimal_text(quote.total, places), "currency": currency, "owner": str(quote.owner or ""),
    }
    return apply_template(_quote_document(quote, company, places, currency, lines), template_for(PrintKind.QUOTE, quote.print_template), values)


def _quote_document(quote, company, places, currency, lines):
    return {
        "logo": company_logo(company),
        "title": _("Quote"),
        "company": [text for text in (company.name, company.address, company.phone, company.email, company.tax_id) if text] if company else [],
        "facts": [
            (_("Quote number"), f"{quote.code}" + (f" (v{quote.version})" if quote.version > 1 else "")),
            (_("customer"), str(quote.customer)),
            (_("contact"), str(quote.contact or "")),
            (_("quote date"), quote.quote_date.isoformat()),
            (_("valid until"), quote.valid_until.isoformat() if quote.valid_until else ""),
            (_("payment term"), str(quote.payment_term or "")),
            (_("currency"), currency),
        ],
        "head": [_("item"), _("quantity"), _("unit price"), _("discount (%)"), _("tax rate"), _("total")],
        "rows": [
            [
                line.description or str(line.product or ""),
                decimal_text(line.quantity, 4) + (f" {line.unit}" if line.unit_id else ""),
                decimal_text(line.unit_price or 0, places),
                decimal_text(line.discount, 4) if line.discount else "",
                str(line.tax_rate or ""),
                decimal_text(line.line_total, places),
            ]
            for line in lines
        ],
        "totals": [
            (_("net amount"), f"{currency} {decimal_text(quote.subtotal, places)}"),
            (_("tax"), f"{currency} {decimal_text(quote.tax_total, places)}"),
            (_("total"), f"{currency} {decimal_text(quote.total, places)}"),
        ],
        "terms": quote.terms,
    }


def _cjk_font():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    name = "STSong-Light" if translation.get_language() == "zh-hans" else "MSung-Light"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def to_pdf(document):
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    font = _cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=24, spaceAfter=6)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555"))

    def para(text, style=body):
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    buffer = io.BytesIO()
    page = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
                             title=document["title"], author=document["company"][0] if document["company"] else "")
    story = []
    if document.get("logo"):
        from reportlab.lib.utils import ImageReader
        from reportlab.platypus import Image

        reader = ImageReader(io.BytesIO(document["logo"]))
        width, height = reader.getSize()
        story.append(Image(io.BytesIO(document["logo"]), width=30 * mm * width / max(width, height), height=30 * mm * height / max(width, height), hAlign="LEFT"))
    story.append(para(document["title"], title))
    if document["company"]:
        story.append(para(" · ".join(document["company"]), small))
    story.append(Spacer(1, 4 * mm))
    facts = [[para(label), para(value)] for label, value in document["facts"] if value]
    story.append(Table(facts, colWidths=[32 * mm, None], hAlign="LEFT", style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])))
    story.append(Spacer(1, 5 * mm))
    if document.get("intro"):
        story += [para(document["intro"]), Spacer(1, 4 * mm)]
    rows = [[para(text) for text in document["head"]]] + [[para(text) for text in row] for row in document["rows"]]
    widths = [width * mm if width else None for width in document.get("widths", (None, 22, 24, 18, 26, 26))]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9eef5")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#b8c2cc")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ]))
    story.append(table)
    story.append(Spacer(1, 3 * mm))
    story.append(Table([[para(label), para(value)] for label, value in document["totals"]], colWidths=[30 * mm, 40 * mm], hAlign="RIGHT"))
    if document.get("closing"):
        story += [Spacer(1, 5 * mm), para(document["closing"])]
    if document["terms"]:
        if document.get("terms_label", True):
            story += [Spacer(1, 6 * mm), para(_("terms and conditions"), small)]
        story += [Spacer(1, 2 * mm), para(document["terms"])]
    footer = document.get("footer")

    def draw_footer(canvas, doc):
        if footer:
            canvas.saveState()
            canvas.setFont(font, 8)
            canvas.setFillColor(colors.HexColor("#555555"))
            canvas.drawCentredString(A4[0] / 2, 8 * mm, footer[:200])
            canvas.restoreState()

    page.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()


def to_docx(document):
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(10)
    east_asian = "PMingLiU" if translation.get_language() != "zh-hans" else "SimSun"
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)
    if document.get("logo"):
        from docx.image.exceptions import UnrecognizedImageError
        from docx.shared import Cm

        try:
            doc.add_picture(io.BytesIO(document["logo"]), width=Cm(3))
        except UnrecognizedImageError:  # python-docx reads fewer image formats than Pillow (e.g. WebP): printed without it
            pass
    doc.add_heading(document["title"], level=1)
    if document["company"]:
        doc.add_paragraph(" · ".join(document["company"]))
    if document.get("footer"):
        doc.sections[0].footer.paragraphs[0].text = document["footer"]
    facts = doc.add_table(rows=0, cols=2)
    for label, value in document["facts"]:
        if value:
            cells = facts.add_row().cells
            cells[0].text, cells[1].text = label, value
    doc.add_paragraph()
    if document.get("intro"):
        doc.add_paragraph(document["intro"])
    table = doc.add_table(rows=1, cols=len(document["head"]))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, document["head"], strict=True):
        cell.text = text
    for row in document["rows"]:
        cells = table.add_row().cells
        for index, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            if index:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph()
    for label, value in document["totals"]:
        paragraph = doc.add_paragraph(f"{label}: {value}")
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if document.get("closing"):
        doc.add_paragraph(document["closing"])
    if document["terms"]:
        if document.get("terms_label", True):
            doc.add_heading(_("terms and conditions"), level=2)
        doc.add_paragraph(document["terms"])
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
