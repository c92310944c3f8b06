"""CSV and XLSX export of a list, streamed: rows are read in chunks and written (for XLSX
also compressed) as they come, so an export of a million rows never sits in memory or on
disk. The export honours the list's filters and the member's 'export' permission (restrict)."""

import csv
import datetime
import re
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape

from django.contrib import messages
from django.db import models
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from .pagination import bounded_count
from .views import ResourceView

CHUNK = 2000

class Echo:
    def write(self, value):
        return value

def export_columns(resource):
    """[(name, values)] for the resource's export fields plus its custom fields, where
    values(records) gives the column's values for one chunk of records (so references are
    read once per chunk, never once per row)."""
    from qinglan.extras.customfields import display_many, field_defs_for

    from .models import CustomFieldsMixin

    columns = []
    for name in resource.get_export_fields():
        field = resource.model_field(name)
        if field is None:
            continue
        getter = _getter(field)
        columns.append((name, lambda records, getter=getter: [getter(record) for record in records]))
    if issubclass(resource.model, CustomFieldsMixin):
        for definition in field_defs_for(resource.model):
            columns.append(
                (
                    f"cf_{definition.name}",
                    lambda records, d=definition: display_many(d, [(record.custom_field_data or {}).get(d.name) for record in records]),
                )
            )
    return columns


def export_queryset(resource, queryset):
    """The export's rows with their references joined or prefetched in bulk."""
    related, many = [], []
    for name in resource.get_export_fields():
        field = resource.model_field(name)
        if isinstance(field, models.ForeignKey):
            related.append(name)
        elif isinstance(field, models.ManyToManyField):
            many.append(name)
    if related:
        queryset = queryset.select_related(*related)
    return queryset.prefetch_related(*many) if many else queryset


def _getter(field):
    name = field.name
    if isinstance(field, models.ForeignKey):
        return lambda record: str(getattr(record, name)) if getattr(record, f"{field.attname}") is not None else ""
    if isinstance(field, models.ManyToManyField):
        return lambda record: ", ".join(str(item) for item in getattr(record, name).all())
    if field.choices:
        return lambda record: getattr(record, f"get_{name}_display")()
    return lambda record: getattr(record, name)


def cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return str(value)
    text = str(value)
    # Cells starting with = + - @ would run as formulas in a spreadsheet (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        text = "'" + text
    return text

def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True

def iter_rows(queryset, columns):
    """The export's rows as lists of cell texts, CHUNK records at a time."""
    chunk = []
    for record in queryset.order_by("pk").iterator(chunk_size=CHUNK):
        chunk.append(record)
        if len(chunk) == CHUNK:
            yield from _rows(chunk, columns)
            chunk = []
    if chunk:
        yield from _rows(chunk, columns)


def _rows(records, columns):
    values = [column(records) for _name, column in columns]
    for index in range(len(records)):
        yield [cell(column_values[index]) for column_values in values]

class ExportView(ResourceView):
    action = "export"

    def get(self, request):
        resource = self.resource
        filterset = resource.filterset_class(request.GET or None, queryset=self.restricted(), request=request)
        queryset = filterset.qs if not filterset.is_bound or filterset.form.is_valid() else self.restricted()
        queryset = export_queryset(resource, queryset)
        fmt = request.GET.get("format", "csv")
        columns = export_columns(resource)
        headers = [self._header(resource, name) for name, _values in columns]
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        filename = f"{resource.model_name}-{stamp}"
        if fmt == "xlsx":
            if bounded_count(queryset, XLSX_MAX_ROWS)[0] >= XLSX_MAX_ROWS:
                messages.error(request, _("An Excel sheet holds at most %(rows)s rows and this list has more: narrow it with filters, or export CSV.") % {"rows": f"{XLSX_MAX_ROWS - 1:,}"})
                query = request.GET.copy()
                query.pop("format", None)
                return redirect(f"{resource.list_url}?{query.urlencode()}" if query else resource.list_url)
            return self._xlsx(queryset, columns, headers, filename)
        return self._csv(queryset, columns, headers, filename)

    @staticmethod
    def _header(resource, name):
        field = resource.model_field(name)
        return name if field is None else f"{field.verbose_name} [{name}]" if name != "id" else "id"

    def _csv(self, queryset, columns, headers, filename):
        writer = csv.writer(Echo())

        def rows():
            yield "\ufeff"  # so spreadsheet programs read UTF-8 Chinese text correctly
            yield writer.writerow(headers)
            for row in iter_rows(queryset, columns):
                yield writer.writerow(row)

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response

    def _xlsx(self, queryset, columns, headers, filename):
        body = xlsx_stream(str(self.resource.verbose_name_plural), headers, iter_rows(queryset, columns))
        response = StreamingHttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response


# ---- XLSX written as it streams -------------------------------------------------------------
# An .xlsx file is a zip of XML parts. The rows' part is compressed and sent while the rows are
# read (a zip entry followed by a data descriptor needs no seeking back), so the first bytes
# leave before the last row is read and the server never holds the workbook, in memory or on
# disk. Cells are inline strings, the same texts as the CSV export's.

XLSX_FLUSH_BYTES = 64 * 1024
XLSX_MAX_ROWS = 1_048_576  # Excel's limit, the header row included
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_NAME_ILLEGAL = re.compile(r"[\[\]:*?/\\]")

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def _column_letters(index):
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _xlsx_row(number, values, letters, style=""):
    cells = "".join(
        f'<c r="{letters[index]}{number}" t="inlineStr"{style}><is><t xml:space="preserve">{escape(_XML_ILLEGAL.sub("", str(value)))}</t></is></c>'
        for index, value in enumerate(values)
        if value not in (None, "")
    )
    return f'<row r="{number}">{cells}</row>'.encode()


class _Pipe:
    """The write end of the stream: what the zip writes is kept until the generator sends it."""

    def __init__(self):
        self.chunks, self.size = [], 0

    def write(self, data):
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self):
        pass

    def take(self):
        data = b"".join(self.chunks)
        self.chunks, self.size = [], 0
        return data


def xlsx_stream(sheet_name, headers, rows):
    """The bytes of a one-sheet .xlsx of `headers` (bold) and `rows` (lists of texts), yielded
    as they are compressed."""
    name = _SHEET_NAME_ILLEGAL.sub(" ", sheet_name).strip()[:31] or "export"
    letters = [_column_letters(index) for index in range(max(len(headers), 1))]
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part, text in _XLSX_PARTS.items():
            archive.writestr(part, text)
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        yield pipe.take()
        # No Zip64 entry (Excel opens those badly); the rows are bounded by XLSX_MAX_ROWS.
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                b"<sheetData>"
            )
            sheet.write(_xlsx_row(1, headers, letters, ' s="1"'))
            for number, row in enumerate(rows, start=2):
                if len(row) > len(letters):
                    letters += [_column_letters(index) for index in range(len(letters), len(row))]
                sheet.write(_xlsx_row(number, row, letters))
                if pipe.size >= XLSX_FLUSH_BYTES:
                    yield pipe.take()
            sheet.write(b"</sheetData></worksheet>")
    yield pipe.take()
