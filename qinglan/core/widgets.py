"""Reference fields that stay usable at millions of rows.

A reference (foreign key, many-to-many) to a registered resource is rendered as a select
holding only the chosen records; the browser (static/qinglan/autocomplete.js) turns it into
a search-as-you-type box fed by the resource's ``autocomplete`` URL, which returns only
records the member may view. The choices a form or filter accepts are restricted the same
way, so what can be picked, what validates and what is listed always agree."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .registry import registry


class AutocompleteMixin:
    def __init__(self, url, attrs=None):
        super().__init__(attrs)
        self.url = url

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs.update(
            {
                "data-autocomplete": self.url,
                "data-ac-empty": str(_("No matches")),
                "data-ac-placeholder": str(_("Type to search…")),
                "data-ac-remove": str(_("Remove")),
                "data-ac-more": str(_("Keep typing to narrow the list…")),
            }
        )
        return attrs

    def optgroups(self, name, value, attrs=None):
        """Only the chosen records become options (plus the empty one of a single select)."""
        chosen = [str(item) for item in value if item not in (None, "")]
        options = []
        if not self.allow_multiple_selected:
            empty_label = getattr(getattr(self.choices, "field", None), "empty_label", None) or ""
            options.append(self.create_option(name, "", empty_label, not chosen, 0, attrs=attrs))
        iterator = self.choices
        queryset = getattr(iterator, "queryset", None)
        if chosen and queryset is not None:
            field = iterator.field
            key = field.to_field_name or "pk"
            try:
                records = list(queryset.filter(**{f"{key}__in": chosen}))
            except (ValueError, TypeError):
                records = []
            for index, record in enumerate(records, start=len(options)):
                option_value = iterator.choice(record)[0]
                options.append(self.create_option(name, option_value, field.label_from_instance(record), True, index, attrs=attrs))
        return [(None, options, 0)]


class AutocompleteSelect(AutocompleteMixin, forms.Select):
    pass


class AutocompleteSelectMultiple(AutocompleteMixin, forms.SelectMultiple):
    pass


def restricted_choices(queryset, user):
    """The records of `queryset` a member may pick: those they may view (and themselves, for
    references to members). Lookups whose model sets ``choices_for_everyone`` (positions,
    currencies, option lists, tags…) may be picked by every signed-in member."""
    if user is None or not hasattr(queryset, "restrict"):
        return queryset
    if getattr(queryset.model, "choices_for_everyone", False):
        return queryset if user.is_authenticated else queryset.none()
    restricted = queryset.restrict(user, "view")
    if queryset.model is get_user_model() and user.is_authenticated:
        restricted = restricted | queryset.filter(pk=user.pk)  # one may always name oneself
    return restricted


class ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """The options of a short lookup list (option-list items, tags, levels) read with one
    plain query: Django reads them with QuerySet.iterator(), which on PostgreSQL opens a
    server-side cursor — DECLARE, FETCH and CLOSE, three round trips for ten options."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for record in self.queryset.all():
            yield self.choice(record)


def prepare_reference_fields(fields, user):
    """Restrict every reference field's choices to what `user` may view, and give references
    to registered resources the search-as-you-type widget (the others, short lookup lists,
    list their options)."""
    for field in fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is None:
            continue
        resource = registry.get(queryset.model)
        by_pk = field.to_field_name in (None, queryset.model._meta.pk.name)
        if resource is not None and by_pk and not isinstance(field.widget, AutocompleteMixin):
            widget_class = AutocompleteSelectMultiple if isinstance(field, forms.ModelMultipleChoiceField) else AutocompleteSelect
            old = field.widget
            field.widget = widget_class(resource.url("autocomplete"), attrs=dict(old.attrs))
            field.widget.is_required = old.is_required
        if isinstance(field, forms.ModelChoiceField) and not isinstance(field.widget, AutocompleteMixin):
            field.iterator = ListedChoiceIterator
        field.queryset = restricted_choices(queryset, user)  # also hands the new widget its choices
