"""The module menu: groups in a fixed order; resources declare ``menu_group``. An item shows
when the member may view the resource and none of their roles hides it."""

from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .permissions import has_permission
from .registry import registry

MENU_GROUPS = [
    ("customers", _("Customers"), "bi-buildings"),
    ("org", _("Organisation"), "bi-diagram-3"),
    ("settings", _("System settings"), "bi-gear"),
]


# Pages of a module that are no resource's list (e.g. the address book), as
# (group, key, label, url_name, icon, order, model): shown when the member may view `model`.
MENU_PAGES = []


def register_menu_page(*, group, key, label, url_name, icon, order, model):
    if all(page[1] != key for page in MENU_PAGES):
        MENU_PAGES.append((group, key, label, url_name, icon, order, model))


def menu_key(resource):
    return resource.label


def menu_group_label(key):
    """The translated label of a menu group, or None for an unknown key."""
    return next((label for group_key, label, _icon in MENU_GROUPS if group_key == key), None)


def resource_title(resource):
    """How a resource is named outside its own pages (e.g. in role permissions): the menu
    group it is found under, then its plural name, "Organisation · Departments"."""
    group = menu_group_label(resource.menu_group) or resource.model._meta.app_config.verbose_name
    return f"{capfirst(group)} · {capfirst(resource.verbose_name_plural)}"


def content_type_title(content_type):
    """resource_title() of a content type's resource; a model that is no resource gets its name."""
    model = content_type.model_class()
    resource = registry.get(model) if model is not None else None
    return resource_title(resource) if resource is not None else capfirst(content_type.name)


def resource_sort_key(resource):
    """Resources in menu order: by group, then by their place in the group."""
    keys = [key for key, _label, _icon in MENU_GROUPS]
    group = keys.index(resource.menu_group) if resource.menu_group in keys else len(keys)
    return (group, resource.menu_order, str(resource.verbose_name_plural))


def hidden_menu_keys(user):
    if user.is_superuser:
        return set()
    roles = list(user.roles.all()) + [role for group in user.member_groups.all() for role in group.roles.all()]
    if not roles:
        return set()
    hidden = [set(role.hidden_menus or ()) for role in roles]
    return set.intersection(*hidden)


def build_menu(user):
    if not user.is_authenticated:
        return []
    hidden = hidden_menu_keys(user)
    groups = []
    for key, label, icon in MENU_GROUPS:
        entries = [
            (resource.menu_order, menu_key(resource), resource.get_menu_label(), resource.url("list"), resource.icon)
            for resource in registry
            if resource.menu_group == key and menu_key(resource) not in hidden and has_permission(user, resource.model, "view")
        ] + [
            (order, page_key, page_label, reverse(url_name), page_icon)
            for group, page_key, page_label, url_name, page_icon, order, model in MENU_PAGES
            if group == key and page_key not in hidden and has_permission(user, model, "view")
        ]
        items = [
            {"key": item_key, "label": item_label, "url": url, "icon": item_icon}
            for _order, item_key, item_label, url, item_icon in sorted(entries, key=lambda entry: (entry[0], str(entry[2])))
        ]
        if items:
            groups.append({"key": key, "label": label, "icon": icon, "items": items})
    return groups


def all_menu_items():
    """[(key, label)] of every menu entry in menu order, named as elsewhere outside the menu
    ("Customers · Address book"), for the role form's visibility choice."""
    pages = [
        (page[1], f"{capfirst(menu_group_label(page[0]) or '')} · {capfirst(page[2])}")
        for page in sorted(MENU_PAGES, key=lambda page: (page[0], page[5]))
    ]
    return [(menu_key(resource), resource_title(resource)) for resource in sorted(registry, key=resource_sort_key) if resource.menu_group] + pages