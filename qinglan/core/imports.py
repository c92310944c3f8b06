"""CSV/XLSX import for every resource: upload → column mapping → check → confirm.

The check is a real import inside a transaction that is rolled back, so it finds every
error the real run would (including duplicates inside the file) and writes nothing. Each
row goes through the resource's model form and the generic services, exactly as if it were
typed in. Files over ``BACKGROUND_ROWS`` rows are checked and imported by a background
job with a progress bar; the import itself is all-or-nothing."""

import csv
import io
import zipfile
from operator import is_

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault
from django.forms.utils import ErrorDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .forms import QueryLike, ResourceForm, StyledFormMixin, form_data_from_instance, style_field
from .models import ImportJob
from .registry import registry
from .views import ResourceView
from .widgets import restricted_choices

BACKGROUND_ROWS = 1000
CHUNK_ROWS = 2000  # new records written and checked together
PREVIEW_ROWS = 20
MAX_ERRORS = 500
ENCODING_CHOICES = (
    ("", gettext_lazy("Detect automatically")),
    ("utf-8-sig", "UTF-8"),
    ("cp950", gettext_lazy("Big5 (Traditional Chinese Excel)")),
    ("gb18030", gettext_lazy("GB18030 / GBK (Simplified Chinese Excel)")),
)
TRUE_WORDS = {"1", "true", "yes", "y", "t", "是", "對", "对", "x", "✓", "v"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "否", "不", "", "-"}


class ImportFileError(Exception):
    """The file cannot be read at all (message for the user)."""


# ---- reading files ----------------------------------------------------------------------


def read_rows(handle, name, encoding=""):
    """(headers, row iterator, encoding) of a CSV or XLSX file."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    data = handle.read()
    if extension == "xlsx":
        return _read_xlsx(data) + ("",)
    if extension not in ("csv", "txt"):
        raise ImportFileError(_("Upload a CSV or Excel (.xlsx) file."))
    for candidate in [encoding] if encoding else detection_order():
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise ImportFileError(_("The file's text encoding was not recognised; save it as UTF-8 CSV."))
    if "\x00" in text:
        raise ImportFileError(_("This does not look like a CSV text file."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc
    return [h.strip() for h in headers], _csv_rows(reader), candidate


def detection_order():
    """UTF-8 first; then the legacy encoding of the member's language, because GBK text can
    also decode (wrongly) as Big5 and the other way round."""
    from django.utils import translation

    if (translation.get_language() or "").lower() in ("zh-hans", "zh-cn", "zh-sg"):
        return ("utf-8-sig", "gb18030", "cp950")
    return ("utf-8-sig", "cp950", "gb18030")


def _csv_rows(reader):
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield row
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file is malformed at line %(line)s: %(error)s") % {"line": reader.line_num, "error": exc}) from exc


def _read_xlsx(data):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("The Excel file cannot be read; save it again as .xlsx.")) from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        headers = next(rows)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    headers = ["" if h is None else str(h).strip() for h in headers]

    def body():
        for row in rows:
            values = ["" if value is None else value for value in row]
            if any(str(value).strip() for value in values):
                yield values

    return headers, body()


# ---- mapping ----------------------------------------------------------------------------


def importable_fields(resource):
    """[(key, label)] the columns can map to: 'id' (update), model fields, custom fields."""
    from qinglan.extras.customfields import field_defs_for

    from .models import CustomFieldsMixin

    result = [("id", _("ID (update an existing record)"))]
    for name in resource.get_import_fields():
        field = resource.model_field(name)
        result.append((name, str(field.verbose_name) if field is not None else name))
    if issubclass(resource.model, CustomFieldsMixin):
        result += [(f"cf_{d.name}", d.label) for d in field_defs_for(resource.model)]
    return result


def _normalise(text):
    return "".join(str(text).lower().split()).strip("*")


def guess_mapping(resource, headers):
    """Match headers to fields by name, label (in any language) or the ``label [name]``
    headers our own exports write."""
    from django.utils import translation

    fields = importable_fields(resource)
    candidates = {}
    for key, label in fields:
        names = {_normalise(key), _normalise(label)}
        field = resource.model_field(key)
        if field is not None:
            for language, _name in settings.LANGUAGES:
                with translation.override(language):
                    names.add(_normalise(str(field.verbose_name)))
        for name in names:
            candidates.setdefault(name, key)
    mapping, used = {}, set()
    for index, header in enumerate(headers):
        text = str(header)
        key = None
        if text.endswith("]") and "[" in text:
            key = text[text.rindex("[") + 1 : -1]
            key = key if key in dict(fields) else None
        key = key or candidates.get(_normalise(text))
        if key and key not in used:
            mapping[str(index)] = key
            used.add(key)
    return mapping


class MappingForm(StyledFormMixin, forms.Form):
    def __init__(self, *args, job, resource, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", gettext_lazy("— do not import —"))] + importable_fields(resource)
        self.headers = job.headers
        for index, header in enumerate(job.headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("column %(number)d") % {"number": index + 1}, choices=choices, required=False,
                initial=(job.mapping or {}).get(str(index), ""),
            )
        if resource.import_confirm:
            self.fields["confirm_warnings"] = forms.BooleanField(label=resource.import_confirm.label, required=False, initial=job.confirm_warnings)
        for field in self.fields.values():  # added after StyledFormMixin styled the (no) fields
            style_field(field)

    def columns(self):
        return [self[name] for name in self.fields if name.startswith("column_")]

    def clean(self):
        cleaned = super().clean()
        chosen = [value for name, value in cleaned.items() if name.startswith("column_") and value]
        duplicates = {value for value in chosen if chosen.count(value) > 1}
        if duplicates:
            raise forms.ValidationError(_("Each field can take only one column."))
        if not chosen:
            raise forms.ValidationError(_("Map at least one column to a field."))
        return cleaned

    def mapping(self):
        return {name.removeprefix("column_"): value for name, value in self.cleaned_data.items() if name.startswith("column_") and value}


# ---- converting a row into form data ----------------------------------------------------


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


class RowConverter:
    """Turns spreadsheet text into what the model form expects: related records by name,
    choices by value or label, yes/no words, lists for multiple values."""

    def __init__(self, resource, user):
        from qinglan.extras.customfields import field_defs_for

        self.resource = resource
        self.user = user
        self.definitions = {f"cf_{d.name}": d for d in field_defs_for(resource.model)} if hasattr(resource.model, "custom_field_data") else {}
        self._lookup_cache = {}
        self._converters = {}

    def lookup_field(self, field):
        related = field.related_model
        configured = self.resource.import_lookups.get(field.name)
        if configured:
            return configured
        names = {f.name for f in related._meta.fields}
        return next((name for name in ("code", "name", "username", "slug") if name in names), "pk")

    def related_pk(self, field, text):
        key = (field.name, text)
        if key in self._lookup_cache:
            return self._lookup_cache[key]
        related = field.related_model
        # The records the member may pick in the form (choices_for_everyone lookups included).
        queryset = restricted_choices(related._default_manager.all(), self.user)
        lookup = self.lookup_field(field)
        matches = list(queryset.filter(**{lookup: text}).values_list("pk", flat=True)[:2]) if lookup != "pk" else []
        if not matches and text.isdigit():
            matches = list(queryset.filter(pk=int(text)).values_list("pk", flat=True)[:1])
        if len(matches) != 1:
            raise ValidationError(
                _("No %(type)s “%(value)s” was found.") if not matches else _("“%(value)s” matches more than one %(type)s."),
                params={"type": related._meta.verbose_name, "value": text},
            )
        self._lookup_cache[key] = matches[0]
        return matches[0]

    def reference_pk(self, model, text):
        """A custom reference field's record named as the export shows it (its name, code,
        username…) or by id, among the records the member may pick."""
        key = (model, text)
        if key in self._lookup_cache:
            return self._lookup_cache[key]
        queryset = restricted_choices(model._default_manager.all(), self.user)
        names = {f.name for f in model._meta.fields}
        matches = []
        for lookup in ("code", "name", "username", "slug", "display_name"):
            if lookup in names:
                matches = list(queryset.filter(**{lookup: text}).values_list("pk", flat=True)[:2])
                if matches:
                    break
        if not matches and text.isdigit():
            matches = list(queryset.filter(pk=int(text)).values_list("pk", flat=True)[:1])
        if len(matches) != 1:
            raise ValidationError(
                _("No %(type)s “%(value)s” was found.") if not matches else _("“%(value)s” matches more than one %(type)s."),
                params={"type": model._meta.verbose_name, "value": text},
            )
        self._lookup_cache[key] = matches[0]
        return matches[0]

    def choice_value(self, choices, text):
        for value, label in choices:
            if text == str(value) or text.lower() == str(label).lower():
                return value
        return text  # the form reports it as an invalid choice

    def convert(self, key, value):
        try:
            convert = self._converters[key]
        except KeyError:
            convert = self._converters[key] = self._converter(key)
        return convert(_text(value))

    def _converter(self, key):
        """text → form value for column `key`, decided once per import; choices and yes/no
        words remembered by text (their labels are translated strings, compared per option)."""
        if key in self.definitions:
            definition = self.definitions[key]
            if definition.type == "multichoice":
                return lambda text: [
                    self.choice_value(definition.option_choices(), part.strip()) for part in text.replace("，", ",").split(",") if part.strip()
                ]
            if definition.type == "choice":
                return _by_text(lambda text: self.choice_value(definition.option_choices(), text) if text else "")
            if definition.type == "boolean":
                return _yes_no
            if definition.type == "reference" and definition.reference_type_id:
                model = definition.reference_type.model_class()
                return lambda text: self.reference_pk(model, text) if text else text
            return _same
        field = self.resource.model_field(key)
        if field is None:
            return _same
        if isinstance(field, models.ManyToManyField):
            return lambda text: [self.related_pk(field, part.strip()) for part in text.replace("，", ",").split(",") if part.strip()]
        if isinstance(field, models.ForeignKey):
            return lambda text: self.related_pk(field, text) if text else ""
        if isinstance(field, models.BooleanField):
            return _yes_no
        if field.choices:
            choices = field.flatchoices
            return _by_text(lambda text: self.choice_value(choices, text) if text else "")
        return _same


def _same(text):
    return text


def _yes_no(text):
    word = text.lower()
    if word not in TRUE_WORDS and word not in FALSE_WORDS:
        raise ValidationError(_("“%(value)s” is not yes or no."), params={"value": text})
    return word in TRUE_WORDS


def _by_text(convert):
    """`convert` remembered by its text (a choice column holds a handful of values)."""
    known = {}

    def remembered(text):
        try:
            return known[text]
        except KeyError:
            result = known[text] = convert(text)
            return result

    return remembered


# ---- running ------------------------------------------------------------------------------


def _progress_key(job_id):
    return f"qinglan:import:{job_id}:progress"


def progress(job):
    return cache.get(_progress_key(job.pk), 0)


def process(job, *, commit):
    """Check (commit=False) or import (commit=True) every row. Returns nothing; stores
    counts, errors and a preview on the job."""
    resource = registry.get_by_label(job.content_type.app_label, job.content_type.model)
    run = _Run(resource, job)
    with job.file.open("rb") as handle:
        headers, rows, _encoding = read_rows(handle, job.original_name, job.encoding)
    try:
        with transaction.atomic():
            for number, row in enumerate(rows, start=2):
                run.row(number, row)
                if run.total % 200 == 0:
                    cache.set(_progress_key(job.pk), run.total, 3600)
            run.flush()
            if run.errors or not commit:
                transaction.set_rollback(True)
    except ImportFileError as error:
        run.errors.append({"row": None, "field": "", "message": str(error)})
    errors = sorted(run.errors, key=lambda error: error["row"] or 0)[:MAX_ERRORS]
    job.total_rows = run.total
    job.errors = errors
    job.preview = run.preview
    job.created_count = run.created if commit and not errors else 0
    job.updated_count = run.updated if commit and not errors else 0
    if commit:
        job.status = ImportJob.Status.FAILED if errors else ImportJob.Status.DONE
        job.finished = timezone.now()
    else:
        job.status = ImportJob.Status.CHECKED
        job.created_count, job.updated_count = run.created, run.updated
    job.save()
    cache.delete(_progress_key(job.pk))


class _Run:
    """One pass over a file. New records are validated by one reused form, then written and
    checked against each other and the database a chunk of CHUNK_ROWS at a time
    (services.create_many, Resource.check_created); rows that update a record, and resources
    that cannot be written in bulk, go through a form and the services row by row."""

    def __init__(self, resource, job):
        self.resource, self.user = resource, job.user
        self.converter = RowConverter(resource, self.user)
        self.labels = dict(importable_fields(resource))
        self.mapping = {int(index): key for index, key in job.mapping.items()}
        confirm = resource.import_confirm
        self.confirmed = bool(job.confirm_warnings and confirm)
        self.extra = {confirm.field: True} if self.confirmed else {}
        keys = {*self.mapping.values(), *self.extra} - {"id"}
        self.validator = RowValidator(resource, self.user, keys) if resource.bulk_creatable else None
        self.errors, self.preview = [], []
        self.total = self.created = self.updated = 0
        self.pending = []  # (row number, NewRecord) waiting for the next chunk
        self.imported_rows = {}  # pk → row number of the records this run wrote (see _row_form)

    def error(self, number, key, message):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": number, "field": str(self.labels.get(key, key)), "message": str(message)})

    def row(self, number, row):
        self.total += 1
        resource, user = self.resource, self.user
        row_errors, data = [], dict(self.extra)
        for index, key in self.mapping.items():
            value = row[index] if index < len(row) else ""
            try:
                data[key] = self.converter.convert(key, value)
            except ValidationError as error:
                row_errors += [(key, message) for message in error.messages]
        instance = None
        record_id = _text(data.pop("id", "")) if "id" in data else ""
        if record_id:
            instance = resource.model._default_manager.restrict(user, "change").filter(pk=record_id if record_id.isdigit() else None).first()
            if instance is None:
                row_errors.append(("id", _("No record with ID %(id)s that you may change.") % {"id": record_id}))
        failed = {key for key, _message in row_errors}
        if self.validator is not None and instance is None:
            new, form_errors = self.validator.validate({k: v for k, v in data.items() if k not in failed})
            row_errors += [(key, message) for key, message in form_errors if key not in failed]
            if not row_errors:
                self.pending.append((number, new))
                if len(self.pending) >= CHUNK_ROWS:
                    self.flush()
        elif not row_errors:
            self.flush()  # earlier rows first: this row may refer to them
            preview = self.preview if len(self.preview) < PREVIEW_ROWS else None
            row_errors = _save_row(resource, user, data, instance, preview, self.labels, number, self.imported_rows)
            if not row_errors:
                if instance:
                    self.updated += 1
                else:
                    self.created += 1
        else:  # report the other fields' problems of this row too
            row_errors += _validate_row(resource, user, {k: v for k, v in data.items() if k not in failed}, instance, failed, self.imported_rows)
        for key, message in row_errors:
            self.error(number, key, message)

    def flush(self):
        """Write the pending new records, then check them against the database."""
        if not self.pending:
            return
        chunk, self.pending = self.pending, []
        numbers = [number for number, _new in chunk]
        records = [new.record for _number, new in chunk]
        while records:
            before = [dict(record.__dict__) for record in records]
            try:
                services.create_many(
                    resource=self.resource, records=records, user=self.user,
                    m2m=[new.m2m for _number, new in chunk], tags=[new.tags for _number, new in chunk],
                )
                break
            except services.RecordErrors as failure:
                # Report these rows, then write the others: rows further down are checked
                # against them as if the file had been right.
                for index, problems in failure.errors.items():
                    for key, message in problems:
                        self.error(numbers[index], key, message)
                keep = [index for index in range(len(records)) if index not in failure.errors]
                for index in keep:  # as before the attempt (rolled back: no pks, no numbers)
                    records[index].__dict__.clear()
                    records[index].__dict__.update(before[index])
                    records[index]._state.adding, records[index]._state.db = True, None
                chunk, numbers = [chunk[index] for index in keep], [numbers[index] for index in keep]
                records = [new.record for _number, new in chunk]
            except (ValidationError, PermissionDenied) as error:
                for message in getattr(error, "messages", [str(error)]):
                    self.error(numbers[0], "", message)
                return
        if not records:
            return
        for number, record in zip(numbers, records):
            self.imported_rows[record.pk] = number
            if len(self.preview) < PREVIEW_ROWS:
                self.preview.append(_preview_line(record, self.labels, self.mapping.values()))
        problems = self.resource.check_created(records, user=self.user, earlier=self.imported_rows, confirmed=self.confirmed)
        for index, row_problems in sorted(problems.items()):
            for key, message in row_problems:
                self.error(numbers[index], key, message)
        self.created += len(records) - len(problems)


class RowValidator:
    """Validates the rows of new records with the resource's own form, one form for the whole
    file: the same field objects, clean_<field> methods, form clean() and model field
    validation as a form typed in, run column by column without the per-row machinery of a
    bound form (BoundFields, widgets' data lookups of columns the file lacks, the model's
    full_clean over every field). Each column's cleaning is remembered by value (a status, a
    level, an empty cell is cleaned once per import), reference lookups only when they succeed
    (a later row may create the record an earlier one could not find). Checks that need the
    database per record (uniqueness, a subclass's duplicate search) are left to the chunk
    (ResourceForm.batch_checks). A form class that changes Django's cleaning steps themselves
    is validated by the plain form, rebound per row."""

    def __init__(self, resource, user, keys=None):
        """`keys`: the names a row's data may hold (the file's mapped columns); a field not
        among them has the same value in every row, cleaned once."""
        self.model = model = resource.model
        self.form = form = resource.form_class(data=QueryLike({}), instance=model(), user=user, purpose="import")
        form.batch_checks = True
        self.m2m_names = [f.name for f in model._meta.many_to_many if f.name in form.fields]
        self.compiled = _compilable(form)
        if not self.compiled:
            for field in form.fields.values():
                if isinstance(field, forms.ModelChoiceField):
                    _remember_lookups(field)
            return
        self.columns = [_Column(form, name, field, constant=keys is not None and name not in keys) for name, field in form.fields.items()]
        meta, opts = model._meta, form._meta
        in_form = [f for f in meta.fields if f.name in form.fields and not (opts.fields and f.name not in opts.fields)
                   and not (opts.exclude and f.name in opts.exclude)]
        # Model validation (ModelForm._post_clean): fields the form leaves out, and references
        # the form field already looked up in the member's scope (batch_checks), never.
        # (what ResourceForm._get_validation_exclusions leaves out for every row; the fields
        # that failed on the form, and empty optional ones, are left out per row below).
        skipped = {f.name for f in meta.fields if f.name not in form.fields or f not in in_form}
        skipped |= {name for name, field in form.fields.items() if isinstance(field, forms.ModelChoiceField)}
        self.validated = [
            (f, _model_cleaner(f), _checked_by_form_field(f, form.fields[f.name]) and getattr(form, f"clean_{f.name}", None) is None)
            for f in in_form if f.name not in skipped and not f.generated
        ]
        # Columns whose model validation repeats their form field's: their cleaned value is
        # remembered per row, to skip the model's when clean() has not replaced it.
        checked = {f.name for f, _clean, by_form in self.validated if by_form}
        for column in self.columns:
            column.checked_by_form = column.name in checked
        # Empty values of fields the form does not require but the model does: not validated.
        self.optional = {f.name: form.fields[f.name] for f in in_form if not f.blank and not form.fields[f.name].required}
        # construct_instance(): editable model fields the form has; a field with a default
        # keeps it when its value is empty and missing from the data (the widget says whether a
        # field not in `keys` is missing; for the others, whether the row lacks the key).
        nothing = QueryLike({})
        self.assigned = [
            (f, form.fields[f.name], f.has_default() and (
                None if keys is None or f.name in keys else form.fields[f.name].widget.value_omitted_from_data(nothing, form.files, f.name)
            ))
            for f in meta.fields
            if f.editable and not isinstance(f, models.AutoField) and f.name in form.fields
            and (opts.fields is None or f.name in opts.fields) and not (opts.exclude and f.name in opts.exclude)
        ]
        self.model_clean = model.clean is not models.Model.clean
        self.preset = {}
        self.instances = _Instances(model, self._preset if form.fields else None)
        # Per row: a form field that is not a column gives its preset value itself (no method
        # call); while every preset value is still that very object after clean(), a row's
        # construct_instance() and model validation need only the file's columns.
        self.steps = [(column.name, None if column.name in self.preset else column) for column in self.columns]
        self.preset_names, self.preset_values = tuple(self.preset), tuple(self.preset.values())
        self.assigned_columns = [entry for entry in self.assigned if entry[0].name not in self.preset]
        self.validated_columns = [entry for entry in self.validated if entry[0].name not in self.preset]

    def _preset(self, template):
        """Set on the template of every new record the fields that are not columns of the file
        (their value, cleaned once, is the same in every row), as construct_instance() and the
        model's field validation would; returns their attnames. A row whose cleaned value is
        still that very object (no clean_<field>() or clean() replaced it) needs neither again."""
        columns = {column.name: column for column in self.columns}
        validated = {field: clean for field, clean, _by_form in self.validated}
        fixed = set()
        for field, form_field, keeps_default in self.assigned:
            column = columns[field.name]
            value = column.value
            if value is _MISSING or column.hook is not None or keeps_default is None:
                continue
            if not (keeps_default and value in form_field.empty_values):
                field.save_form_data(template, value)
            if field in validated and not (field.name in self.optional and value in self.optional[field.name].empty_values):
                raw = getattr(template, field.attname)
                if not ((field.blank and raw in field.empty_values) or isinstance(raw, DatabaseDefault)):
                    try:
                        setattr(template, field.attname, validated[field](raw, template))
                    except ValidationError:
                        continue  # reported for every row by the per-row path
            self.preset[field.name] = value
            fixed.add(field.attname)
        return fixed

    def validate(self, data):
        """(NewRecord, []) or (None, [(field, message)])."""
        form = self.form
        if not self.compiled:
            form.rebind(QueryLike(data), self.model())
            if not form.is_valid():
                return None, _form_errors(form)
            cleaned = form.cleaned_data
            return NewRecord(form.instance, {name: cleaned.get(name) for name in self.m2m_names}, cleaned.get("tags")), []
        data = QueryLike(data)
        instance = self.instances.new()
        form.data, form.instance, form.is_bound = data, instance, True
        form.__dict__.pop("changed_data", None)
        form._errors = ErrorDict(renderer=form.renderer)
        form.cleaned_data = cleaned = {}
        preset, by_form = self.preset, {}
        for name, column in self.steps:  # BaseForm._clean_fields
            if column is None:
                cleaned[name] = preset[name]
                continue
            try:
                cleaned[name] = value = column.clean(data)
                if column.hook is not None:
                    cleaned[name] = column.hook()
                elif column.checked_by_form:
                    by_form[name] = value
            except ValidationError as error:
                form.add_error(name, error)
        form._clean_form()
        self._post_clean(form, instance, by_form)
        if form._errors:
            return None, _form_errors(form)
        cleaned = form.cleaned_data
        return NewRecord(instance, {name: cleaned.get(name) for name in self.m2m_names}, cleaned.get("tags")), []

    def _post_clean(self, form, instance, by_form):
        """ModelForm._post_clean: construct_instance(), then the model's field validation and
        clean(); uniqueness and constraints as the form does them (not, under batch_checks).
        `by_form`: {name: value} of the columns whose model validation is their form field's,
        as the form field cleaned them in this row."""
        cleaned, data, preset = form.cleaned_data, form.data, self.preset
        failed = set(form._errors)
        if all(map(is_, map(cleaned.get, self.preset_names), self.preset_values)):
            assigned, validated = self.assigned_columns, self.validated_columns
        else:
            assigned, validated = self.assigned, self.validated
        try:
            for field, form_field, keeps_default in assigned:
                name = field.name
                if name not in cleaned:
                    continue
                value = cleaned[name]
                if preset.get(name, _MISSING) is value:
                    continue  # already on the new instance, validated
                if keeps_default is None:  # a column of the file (or no columns known)
                    keeps_default = field.has_default() and form_field.widget.value_omitted_from_data(data, form.files, name)
                if keeps_default and value in form_field.empty_values:
                    continue
                field.save_form_data(instance, value)
        except ValidationError as error:
            form._update_errors(error)
        errors = {}
        for field, clean, checked_by_form in validated:
            name = field.name
            if name in failed or preset.get(name, _MISSING) is cleaned.get(name, _MISSING):
                continue
            if checked_by_form and by_form.get(name, _MISSING) is cleaned.get(name):
                continue  # the form field's own checks passed on this very value
            if name in self.optional and cleaned.get(name) in self.optional[name].empty_values:
                continue
            raw = getattr(instance, field.attname)
            if (field.blank and raw in field.empty_values) or isinstance(raw, DatabaseDefault):
                continue
            try:
                setattr(instance, field.attname, clean(raw, instance))
            except ValidationError as error:
                errors[name] = error.error_list
        if self.model_clean:
            try:
                instance.clean()
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        if errors:
            form._update_errors(ValidationError(errors))
        if getattr(form, "_validate_unique", False):
            form.validate_unique()
        if getattr(form, "_validate_constraints", False):
            form.validate_constraints()


# What RowValidator does itself instead of calling them: a form class that overrides one of these
# is validated by its own full_clean().
_CLEANING_STEPS = ("full_clean", "_clean_fields", "_clean_form", "_post_clean", "_get_validation_exclusions", "_update_errors", "add_error")


def _compilable(form):
    if any(getattr(type(form), step) is not getattr(ResourceForm, step) for step in _CLEANING_STEPS):
        return False
    if form.prefix or form.files:
        return False
    if any(isinstance(field, forms.FileField) for field in form.fields.values()):
        return False
    model = form._meta.model
    if any(isinstance(f, models.FileField) for f in model._meta.fields):
        return False
    return model.clean_fields is models.Model.clean_fields and model.full_clean is models.Model.full_clean


MEMO_TRIAL_ROWS = 2000  # a column whose values repeat less than this often is no longer remembered


class _Memo:
    """Results of a pure cleaning step by input value; given up for a column of unique values
    (names, phone numbers), where it would only hold every row."""

    __slots__ = ("known", "calls", "on")

    def __init__(self):
        self.known, self.calls, self.on = {}, 0, True

    def get(self, value):
        if self.on:
            try:
                return self.known[value]
            except (KeyError, TypeError):
                return _MISSING
        return _MISSING

    def put(self, value, result):
        if not self.on:
            return
        self.calls += 1
        if self.calls >= MEMO_TRIAL_ROWS and len(self.known) * 2 > self.calls:
            self.on, self.known = False, {}
            return
        try:
            self.known[value] = result
        except TypeError:
            pass


_MISSING = object()


class _Column:
    """One form field of the import's form: its value from a row's data as its widget reads
    it, cleaned by the field's own clean() (remembered by value), then the form's
    clean_<name>() if it has one."""

    def __init__(self, form, name, field, constant=False):
        self.name, self.field, self.widget, self.files = name, field, field.widget, form.files
        self.hook = getattr(form, f"clean_{name}", None)
        self.memo = _Memo()
        self.disabled = field.disabled
        if self.disabled:  # Field._clean_bound_field: the initial value, never the data
            self.initial = form.get_initial_for_field(field, name)
        self.value = _MISSING
        if constant:  # not a column of the file: the same value in every row
            try:
                self.value = self._clean(QueryLike({}))
            except ValidationError:
                pass  # reported for every row, by the field itself

    def clean(self, data):
        if self.value is not _MISSING:
            return self.value
        return self._clean(data)

    def _clean(self, data):
        if self.disabled:
            value = self.initial
        else:
            value = self.widget.value_from_datadict(data, self.files, self.name)
        key = tuple(value) if isinstance(value, list) else value
        result = self.memo.get(key)
        if result is _MISSING:
            result = self.field.clean(value)
            self.memo.put(key, result)
        return result


def _checked_by_form_field(field, form_field):
    """Whether the model's validation of `field` (Field.clean) can only pass on a non-empty
    value that `form_field` has cleaned: a text field without choices whose conversion is the
    identity on text and whose validators (max_length…) are all the form field's too."""
    return (
        isinstance(form_field, forms.CharField)
        and type(field).to_python in (models.CharField.to_python, models.TextField.to_python)
        and type(field).validate is models.Field.validate
        and not field.choices
        and all(validator in form_field.validators for validator in field.validators)
    )


def _model_cleaner(field):
    """Model field validation (Field.clean: to_python, validate, validators) remembered by
    value, except for references (their validation reads the database) and values that cannot
    be remembered."""
    if field.is_relation:
        return field.clean
    memo, clean = _Memo(), field.clean

    def remembered(value, instance):
        result = memo.get(value)
        if result is _MISSING:
            result = clean(value, instance)
            memo.put(value, result)
        return result

    return remembered


class _Instances:
    """New, unsaved model instances as Model() makes them — each field's default, callable
    defaults called for every instance, mutable ones copied — without running Model.__init__
    per row (a model without init signals). `preset(template)` may set fields that are the
    same for every instance; it returns their attnames."""

    def __init__(self, model, preset=None):
        from django.db.models import signals

        self.model = model
        self.plain = (
            signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model) or model.__init__ is not models.Model.__init__
        )
        if self.plain:
            return
        self.template = template = model()
        fixed = preset(template) if preset else set()
        self.called, self.copied = [], []
        for field in model._meta.concrete_fields:
            if field.attname not in template.__dict__:
                continue
            if isinstance(template.__dict__[field.attname], (dict, list, set)):
                self.copied.append(field.attname)
            elif field.has_default() and callable(field.default) and field.attname not in fixed:
                self.called.append((field.attname, field.get_default))
        per_instance = {name for name, _get in self.called} | set(self.copied) | {"_state"}
        self.fixed = {key: value for key, value in template.__dict__.items() if key not in per_instance}
        self.related = template._state.fields_cache

    def new(self):
        model = self.model
        if self.plain:
            return model()
        instance = model.__new__(model)
        values = instance.__dict__
        values["_state"] = state = ModelState()
        if self.related:
            state.fields_cache = dict(self.related)
        values.update(self.fixed)
        for name, get_default in self.called:
            values[name] = get_default()
        for name in self.copied:
            values[name] = self.template.__dict__[name].copy()
        return instance


class NewRecord:
    __slots__ = ("record", "m2m", "tags")

    def __init__(self, record, m2m, tags):
        self.record, self.m2m, self.tags = record, m2m, tags


def _remember_lookups(field):
    """Make a reference field look up each value once per import (successes only: a later row
    may create the record an earlier one could not find)."""
    clean, known = field.clean, {}

    def remembered(value):
        key = tuple(value) if isinstance(value, (list, tuple)) else value
        try:
            return known[key]
        except (KeyError, TypeError):
            pass
        result = clean(value)
        try:
            known[key] = result
        except TypeError:
            pass
        return result

    field.clean = remembered


def _preview_line(record, labels, keys):
    """What the check shows of a written record: its first 8 imported fields."""
    line = []
    for key in keys:
        if key == "id" or key not in labels:
            continue
        if key.startswith("cf_"):
            value = (getattr(record, "custom_field_data", None) or {}).get(key[3:], "")
        else:
            value = getattr(record, key, "")
            if hasattr(value, "all"):  # many-to-many
                value = ", ".join(str(item) for item in value.all())
        line.append(f"{labels[key]}: {_text(value)}")
    return line[:8]


def _row_form(resource, user, data, instance, imported_rows=None):
    form = resource.form_class(
        data=QueryLike(_complete(resource, data, instance)), instance=instance or resource.model(), user=user, purpose="import"
    )
    # {pk: row number} of the records written earlier in this run: a form checking for
    # duplicates can say "same as row 3 of this file" instead of naming a record that a check
    # rolls back.
    form.imported_rows = imported_rows
    return form


def _form_errors(form, skip=()):
    return [
        ("" if key == "__all__" else key, message)
        for key, messages_ in form.errors.items()
        if key not in skip
        for message in messages_
    ]


def _validate_row(resource, user, data, instance, skip, imported_rows=None):
    form = _row_form(resource, user, data, instance, imported_rows)
    form.is_valid()
    return _form_errors(form, skip)


def _save_row(resource, user, data, instance, preview, labels, number=None, imported_rows=None):
    form = _row_form(resource, user, data, instance, imported_rows)
    if not form.is_valid():
        return _form_errors(form)
    try:
        with transaction.atomic():
            service = services.update_record if instance else services.create_record
            record = service(form=form, user=user)
    except (ValidationError, PermissionDenied) as error:
        return [("", message) for message in getattr(error, "messages", [str(error)])]
    if imported_rows is not None and number is not None:
        imported_rows[record.pk] = number
    if preview is not None:
        preview.append(_preview_line(record, labels, data))
    return []


def _complete(resource, data, instance):
    """Fields not in the file keep their current value (updates) or default (new records)."""
    if instance is None:
        return data
    return {**form_data_from_instance(resource, instance), **data}


def start(job, *, commit):
    job.status = ImportJob.Status.RUNNING if commit else ImportJob.Status.CHECKING
    job.save(update_fields=["status"])
    if job.total_rows > BACKGROUND_ROWS:
        from .tasks import run_import_job

        run_import_job(job.pk, commit)
    else:
        process(job, commit=commit)


def count_rows(job):
    with job.file.open("rb") as handle:
        _headers, rows, _encoding = read_rows(handle, job.original_name, job.encoding)
        return sum(1 for _row in rows)


# ---- views --------------------------------------------------------------------------------


class UploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or Excel file"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}))
    encoding = forms.ChoiceField(label=gettext_lazy("Text encoding of a CSV file"), choices=ENCODING_CHOICES, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.QINGLAN_MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(limit)s MB."), params={"limit": settings.QINGLAN_MAX_UPLOAD_MB})
        try:
            chosen = self.data.get("encoding", "")
            headers, _rows, encoding = read_rows(upload, upload.name, chosen if chosen in dict(ENCODING_CHOICES) else "")
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from error
        if not any(headers):
            raise forms.ValidationError(_("The first row must hold the column names."))
        upload.seek(0)
        self.headers, self.encoding = headers, encoding
        return upload


class ImportView(ResourceView):
    action = "import"

    def dispatch(self, request, *args, **kwargs):
        if not self._may_write(request):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def _may_write(self, request):
        from .permissions import has_permission

        return has_permission(request.user, self.resource.model, "add") or has_permission(request.user, self.resource.model, "change")

    def job(self):
        return get_object_or_404(
            ImportJob, pk=self.kwargs["job"], user=self.request.user, content_type=ContentType.objects.get_for_model(self.resource.model, for_concrete_model=False)
        )

    def get(self, request, job=None):
        if job is None:
            return self.render_upload(UploadForm())
        job = self.job()
        form = MappingForm(job=job, resource=self.resource)
        return self.render_job(job, form)

    def post(self, request, job=None):
        if job is None:
            form = UploadForm(request.POST, request.FILES)
            if not form.is_valid():
                return self.render_upload(form, status=400)
            upload = form.cleaned_data["file"]
            new_job = ImportJob(
                user=request.user, content_type=ContentType.objects.get_for_model(self.resource.model, for_concrete_model=False),
                original_name=upload.name[:200], headers=form.headers, encoding=form.encoding,
            )
            new_job.file.save(upload.name, upload, save=False)
            new_job.mapping = guess_mapping(self.resource, form.headers)
            new_job.save()
            new_job.total_rows = count_rows(new_job)
            new_job.save(update_fields=["total_rows"])
            return redirect(self.resource.url("import_job", job=new_job.pk))
        job = self.job()
        if "_confirm" in request.POST:
            if job.status != ImportJob.Status.CHECKED or job.errors:
                messages.error(request, _("Check the file without errors before importing."))
                return redirect(self.resource.url("import_job", job=job.pk))
            start(job, commit=True)
            job.refresh_from_db()
            if job.status == ImportJob.Status.DONE:
                messages.success(
                    request,
                    _("Imported: %(created)d new, %(updated)d updated.") % {"created": job.created_count, "updated": job.updated_count},
                )
                return redirect(self.resource.list_url)
            return redirect(self.resource.url("import_job", job=job.pk))
        form = MappingForm(request.POST, job=job, resource=self.resource)
        if not form.is_valid():
            return self.render_job(job, form, status=400)
        job.mapping = form.mapping()
        job.confirm_warnings = bool(form.cleaned_data.get("confirm_warnings"))
        job.errors, job.preview = [], []
        job.save(update_fields=["mapping", "confirm_warnings", "errors", "preview"])
        start(job, commit=False)
        return redirect(self.resource.url("import_job", job=job.pk))

    def render_upload(self, form, status=200):
        recent = ImportJob.objects.filter(user=self.request.user, content_type=ContentType.objects.get_for_model(self.resource.model, for_concrete_model=False))[:10]
        fields = importable_fields(self.resource)
        return render(self.request, "core/import.html", self.base_context(upload_form=form, recent=recent, fields=fields), status=status)

    def render_job(self, job, form, status=200):
        context = self.base_context(job=job, form=form, progress=progress(job), busy=job.status in (ImportJob.Status.CHECKING, ImportJob.Status.RUNNING))
        return render(self.request, "core/import.html", context, status=status)
