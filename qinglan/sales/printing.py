"""Printed sales documents (quotes, account statements): one layout, written as PDF (reportlab, with the
CJK fonts every PDF reader has — 明體 for Traditional, 宋體 for Simplified Chinese — so nothing
is embedded) or DOCX (python-docx, editable in Word or LibreOffice). Texts are in the member's
language; names, lines and terms as typed."""

import io

from django.utils import translation
from django.utils.translation import gettext as _

from qinglan.core.detail import decimal_text


def quote_document(quote):
    """The quote as a plain structure both writers read."""
    from qinglan.org.models import CompanyProfile

    company = CompanyProfile.objects.first()
    places = quote.money_places
    currency = quote.currency.code if quote.currency_id else ""
    lines = list(quote.lines.select_related("product", "unit", "tax_rate").order_by("id"))
    return {
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
    story = [para(document["title"], title)]
    if document["company"]:
        story.append(para(" · ".join(document["company"]), small))
    story.append(Spacer(1, 4 * mm))
    facts = [[para(label), para(value)] for label, value in document["facts"] if value]
    story.append(Table(facts, colWidths=[32 * mm, None], hAlign="LEFT", style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])))
    story.append(Spacer(1, 5 * mm))
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
    if document["terms"]:
        if document.get("terms_label", True):
            story += [Spacer(1, 6 * mm), para(_("terms and conditions"), small)]
        story += [Spacer(1, 2 * mm), para(document["terms"])]
    page.build(story)
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
    doc.add_heading(document["title"], level=1)
    if document["company"]:
        doc.add_paragraph(" · ".join(document["company"]))
    facts = doc.add_table(rows=0, cols=2)
    for label, value in document["facts"]:
        if value:
            cells = facts.add_row().cells
            cells[0].text, cells[1].text = label, value
    doc.add_paragraph()
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
    if document["terms"]:
        if document.get("terms_label", True):
            doc.add_heading(_("terms and conditions"), level=2)
        doc.add_paragraph(document["terms"])
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
