"""The module menu: groups in a fixed order; resources declare ``menu_group``. An item shows
when the member may view the resource, the resource's shown_in_menu(user) agrees and none of
their roles hides it."""

from dataclasses import dataclass
from typing import Callable

from django.db.models import Q
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


# The administrators' groups stay at the end of the menu, after every module's own group.
ADMIN_GROUPS = ("org", "settings")


def register_menu_group(key, label, icon):
    """A module's own menu group (e.g. approvals), after the module groups registered before
    it and before the administrators' groups."""
    if all(group_key != key for group_key, _label, _icon in MENU_GROUPS):
        place = next((i for i, (group_key, _label, _icon) in enumerate(MENU_GROUPS) if group_key in ADMIN_GROUPS), len(MENU_GROUPS))
        MENU_GROUPS.insert(place, (key, label, icon))


@dataclass(frozen=True)
class MenuPage:
    """A page of a module that is no resource's list (e.g. the address book): shown when the
    member may view `model`, or to every signed-in member when `model` is None; `badge(user)`
    gives a count shown next to it (e.g. open tasks) when above zero."""

    group: str
    key: str
    label: str
    url_name: str
    icon: str
    order: int
    model: type | None = None
    badge: Callable | None = None


MENU_PAGES = []


def register_menu_page(*, group, key, label, url_name, icon, order, model=None, badge=None):
    if all(page.key != key for page in MENU_PAGES):
        MENU_PAGES.append(MenuPage(group, key, label, url_name, icon, order, model, badge))


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
    """resource_title() of a content type's resource; a model whose resources are proxies of
    it (one grant covers them all) is named under their menu group; any other model by its name."""
    model = content_type.model_class()
    resource = registry.get(model) if model is not None else None
    if resource is not None:
        return resource_title(resource)
    proxies = [item for item in registry if model is not None and item.model._meta.concrete_model is model]
    if proxies:
        group = menu_group_label(proxies[0].menu_group) or model._meta.app_config.verbose_name
        return f"{capfirst(group)} · {capfirst(model._meta.verbose_name_plural)}"
    return capfirst(content_type.name)


def resource_sort_key(resource):
    """Resources in menu order: by group, then by their place in the group."""
    keys = [key for key, _label, _icon in MENU_GROUPS]
    group = keys.index(resource.menu_group) if resource.menu_group in keys else len(keys)
    return (group, resource.menu_order, str(resource.verbose_name_plural))


def hidden_menu_keys(user):
    if user.is_superuser:
        return set()
    from qinglan.org.models import Role

    # The member's roles, held directly or through their groups: one query.
    rows = Role.objects.filter(Q(members=user) | Q(groups__members=user)).values_list("pk", "hidden_menus")
    hidden = {pk: set(keys or ()) for pk, keys in rows}
    return set.intersection(*hidden.values()) if hidden else set()


def build_menu(user):
    if not user.is_authenticated:
        return []
    hidden = hidden_menu_keys(user)
    entries = {}  # menu group -> its entries, the registry and the pages read once
    for resource in registry:
        if resource.menu_group is None or menu_key(resource) in hidden or not has_permission(user, resource.model, "view"):
            continue
        if resource.shown_in_menu(user):
            entries.setdefault(resource.menu_group, []).append(
                (resource.menu_order, menu_key(resource), resource.get_menu_label(), resource.url("list"), resource.icon, 0)
            )
    for page in MENU_PAGES:
        if page.key not in hidden and (page.model is None or has_permission(user, page.model, "view")):
            entries.setdefault(page.group, []).append(
                (page.order, page.key, page.label, reverse(page.url_name), page.icon, page.badge(user) if page.badge else 0)
            )
    groups = []
    for key, label, icon in MENU_GROUPS:
        items = [
            {"key": item_key, "label": item_label, "url": url, "icon": item_icon, "badge": badge}
            for _order, item_key, item_label, url, item_icon, badge in sorted(entries.get(key, ()), key=lambda entry: (entry[0], str(entry[2])))
        ]
        if items:
            groups.append({"key": key, "label": label, "icon": icon, "items": items})
    return groups


def all_menu_items():
    """[(key, label)] of every menu entry in menu order, named as elsewhere outside the menu
    ("Customers · Address book"), for the role form's visibility choice."""
    pages = [
        (page.key, f"{capfirst(menu_group_label(page.group) or '')} · {capfirst(page.label)}")
        for page in sorted(MENU_PAGES, key=lambda page: (page.group, page.order))
    ]
    return [(menu_key(resource), resource_title(resource)) for resource in sorted(registry, key=resource_sort_key) if resource.menu_group] + pages