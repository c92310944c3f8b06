"""The "Similar records" panel (``similar.py``) on the detail pages of business records
(``PrimaryModel``) that are indexed.

Panels are added with ``core.detail.add_panel`` per model, and the apps after this one in
INSTALLED_APPS register their resources in their own ``ready()``: so the panels are added
once the registry is complete, when the first request starts."""

import threading

from django.core.signals import request_started
from django.utils.translation import gettext_lazy as _

_lock = threading.Lock()
_added = set()


def add_similar_panels(**_kwargs):
    from qinglan.core.detail import add_panel
    from qinglan.core.models import PrimaryModel
    from qinglan.core.registry import registry
    from qinglan.core.resources import Panel

    from .index import searchable_resources

    indexed = searchable_resources()
    with _lock:
        for resource in registry:
            model = resource.model
            if model in _added or not issubclass(model, PrimaryModel) or model._meta.concrete_model not in indexed:
                continue
            add_panel(model, Panel(_("Similar records"), template="search/similar_panel.html", side=True))
            _added.add(model)
    request_started.disconnect(add_similar_panels, dispatch_uid="qinglan.search.similar_panels")


def connect():
    request_started.connect(add_similar_panels, dispatch_uid="qinglan.search.similar_panels")
