from django.utils.translation import gettext_lazy as _

from qinglan.core.registry import register
from qinglan.core.resources import Resource

from . import forms
from .models import FieldDef, Tag, Webhook


@register(Tag)
class TagResource(Resource):
    columns = ("name", "slug", "color", "description")
    search = {"name": 100, "slug": 100}
    fieldsets = ((_("Tag"), ("name", "slug", "color", "description")),)
    menu_group = "settings"
    menu_order = 50
    icon = "bi-tags"


@register(FieldDef)
class FieldDefResource(Resource):
    columns = ("label", "name", "content_type", "type", "required", "show_in_list", "order")
    filters = ("content_type", "type")
    search = {"label": 100, "name": 100}
    form = forms.FieldDefForm
    fieldsets = (
        (_("Custom field"), ("content_type", "name", "label", "type", "required", "help_text", "order")),
        (_("Options"), ("choices", "dictionary", "reference_type", "default", "show_in_list", "filterable")),
    )
    ordering = ("content_type", "order", "name")
    menu_group = "settings"
    menu_order = 60
    icon = "bi-input-cursor-text"


@register(Webhook)
class WebhookResource(Resource):
    columns = ("name", "url", "active", "owner")
    filters = ("active",)
    search = {"name": 100, "url": 200}
    form = forms.WebhookForm
    fieldsets = ((_("Webhook"), ("name", "url", "events", "content_types", "secret", "owner", "active")),)
    owner_field = "owner"
    menu_group = "settings"
    menu_order = 70
    icon = "bi-broadcast"
