"""``field:value`` in a search: which fields a type offers and what a typed value means.

A type offers the fields its resource declares in ``filters`` and its own (not related)
``search`` fields, named by the field's name or its label in the member's language or in
English (``status:active``, ``狀態:潛在客戶``, ``owner:王``). The value is read by the kind of
field:

- a field with choices: the choices whose value or label is the value (folded: width, case,
  简/繁), else whose label contains it;
- a reference (``owner``, ``customer``): the referenced records whose own search fields
  contain the value (or whose id it is);
- yes/no, numbers, dates (``2026-11-27``, ``2026-11``, ``2026``): what they say;
- text: contains the value.

Text values are compared as typed, width-folded, and in Traditional and Simplified characters
(``name:青蓝`` finds 青藍科技), in text fields and in the referenced records' fields alike.
A text field that is also a search field is first narrowed by the full-text index (the service
adds the value's words: Chinese characters anywhere, Latin words and numbers from the start
of a word, ``email:lost@`` but not ``email:ost@``), and the field itself is then read only for
the rows the index matched (``is_indexed_text``).

Fields of other kinds are not offered."""

import datetime
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from qinglan.core.registry import registry

from .text import fold

TRUE_WORDS = {"yes", "true", "1", "y", "on", "是", "有", "對"}
FALSE_WORDS = {"no", "false", "0", "n", "off", "否", "無", "不"}
_SUPPORTED = (
    models.CharField, models.TextField, models.BooleanField, models.IntegerField, models.DecimalField,
    models.FloatField, models.DateField, models.ForeignKey, models.OneToOneField,
)


def offered(resource):
    """{field name: model field} a type may be filtered by."""
    names = list(resource.filters or ()) + [name for name in (resource.search or {}) if "__" not in name]
    found = {}
    for name in names:
        try:
            field = resource.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.concrete and not field.many_to_many and isinstance(field, _SUPPORTED):
            found[name] = field
    return found


def resolve(resource, name):
    """The field of `resource` that `name` names, or None."""
    wanted = fold(name)
    for field_name, field in offered(resource).items():
        labels = {field_name, str(field.verbose_name)}
        with translation.override("en"):
            labels.add(str(field.verbose_name))
        if wanted in {fold(label) for label in labels}:
            return field
    return None


def condition(field, value):
    """A Q on the field's model for `value` (a Q matching nothing when the value cannot mean
    anything for this field)."""
    nothing = Q(pk__in=[])
    folded = fold(value).strip()
    name = field.name
    if field.choices:
        choices = [(key, fold(str(label))) for key, label in field.flatchoices]
        keys = [key for key, label in choices if folded in (fold(str(key)), label)]
        keys = keys or [key for key, label in choices if folded and folded in label]
        return Q(**{f"{name}__in": keys}) if keys else nothing
    if field.is_relation:
        related = field.related_model
        return Q(**{f"{name}__in": related._default_manager.filter(_related_match(related, value)).values("pk")})
    if isinstance(field, models.BooleanField):
        if folded in TRUE_WORDS | {fold(_("yes"))}:
            return Q(**{name: True})
        if folded in FALSE_WORDS | {fold(_("no"))}:
            return Q(**{name: False})
        return nothing
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        try:
            number = Decimal(folded.replace(",", ""))
        except InvalidOperation:
            return nothing
        if not number.is_finite() or abs(number) > Decimal(10) ** 15:
            return nothing
        return Q(**{name: number})
    if isinstance(field, models.DateField):  # DateTimeField too
        return _date_condition(field, folded) or nothing
    return contains(name, value)


def script_variants(value):
    """`value` as typed, width-folded (NFKC), in Traditional and in Simplified characters."""
    from qinglan.customers.normalize import _to_traditional

    from .text import _to_simplified

    typed = value.strip()
    normal = unicodedata.normalize("NFKC", typed)
    found = dict.fromkeys([typed, normal, _to_traditional().convert(normal), _to_simplified().convert(normal)])
    return [variant for variant in found if variant]


def contains(name, value):
    """A Q: the field `name` contains `value` in any of its script_variants (case ignored)."""
    match = Q(pk__in=[])
    for variant in script_variants(value):
        match |= Q(**{f"{name}__icontains": variant})
    return match


def is_text(field):
    return isinstance(field, (models.CharField, models.TextField)) and not field.choices


def is_indexed_text(resource, field):
    """Whether the field is a text field the index holds for `resource` (one of its own search
    fields): a value found in it is found by the full-text index too."""
    return is_text(field) and field.name in (resource.search or {})


def _related_match(related, value):
    resource = registry.get(related)
    names = [name for name in (resource.search if resource is not None and resource.search else {}) if "__" not in name]
    if not names:
        names = [field.name for field in related._meta.get_fields() if field.name == "name"]
    match = Q(pk__in=[])
    for name in names:
        match |= contains(name, value)
    if value.strip().isdigit() and len(value.strip()) < 16:
        match |= Q(pk=int(value.strip()))
    return match


def _date_condition(field, text):
    lookup = f"{field.name}__date" if isinstance(field, models.DateTimeField) else field.name
    parts = text.replace("/", "-").split("-")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        return None
    try:
        if len(numbers) == 3:
            return Q(**{lookup: datetime.date(*numbers)})
        if len(numbers) == 2 and 1 <= numbers[1] <= 12 and 1 <= numbers[0] <= 9999:
            return Q(**{f"{lookup}__year": numbers[0], f"{lookup}__month": numbers[1]})
        if len(numbers) == 1 and 1 <= numbers[0] <= 9999:
            return Q(**{f"{lookup}__year": numbers[0]})
    except ValueError:
        return None
    return None
