"""CSV and XLSX export of a list, streamed: rows are read in chunks and written as they
come, so an export of a million rows never sits in memory. The export honours the list's
filters and the member's 'export' permission (restrict)."""

import csv
import datetime
import tempfile
from decimal import Decimal

from django.db import models
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

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
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=str(self.resource.verbose_name_plural)[:31] or "export")
        sheet.append(headers)
        for row in iter_rows(queryset, columns):
            sheet.append(row)
        handle = tempfile.TemporaryFile(suffix=".xlsx")
        workbook.save(handle)
        handle.seek(0)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{filename}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
