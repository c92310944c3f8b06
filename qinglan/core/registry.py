"""The resource registry: which models are resources, and the Resource that describes each."""


class Registry:
    def __init__(self):
        self._by_model = {}
        self._parents = None  # line model -> [(parent model, fk name)], built on first use

    def register(self, model, resource_class):
        if model in self._by_model:
            raise RuntimeError(f"{model._meta.label} is registered twice")
        resource = resource_class(model)
        self._by_model[model] = resource
        self._parents = None
        return resource

    def unregister(self, model):
        self._by_model.pop(model, None)
        self._parents = None

    def get(self, model):
        """The Resource of a model class or instance, or None."""
        if not isinstance(model, type):
            model = type(model)
        return self._by_model.get(model)

    def parents_of(self, model):
        """[(parent model, foreign key name)] of a line model that registered resources edit as
        their children (`Resource.children`) and that is no resource itself (several parents:
        e.g. proxies of one document model sharing a line model); else []."""
        if not isinstance(model, type):
            model = type(model)
        if self._parents is None:
            parents = {}
            for parent, resource in self._by_model.items():
                for child in (getattr(resource, "children", None) or {}).values():
                    if child.model not in self._by_model:
                        parents.setdefault(child.model, []).append((parent, child.fk_name or _fk_to(child.model, parent)))
            self._parents = parents
        return self._parents.get(model, [])

    def get_by_label(self, app_label, model_name):
        for model, resource in self._by_model.items():
            if model._meta.app_label == app_label and model._meta.model_name == model_name:
                return resource
        return None

    def __iter__(self):
        return iter(list(self._by_model.values()))

    def __len__(self):
        return len(self._by_model)


def _fk_to(model, parent):
    for field in model._meta.get_fields():
        if field.many_to_one and field.concrete and issubclass(parent, field.related_model):
            return field.name
    raise RuntimeError(f"{model._meta.label} has no foreign key to {parent._meta.label}")


registry = Registry()


def register(model):
    """Class decorator: ``@register(Invoice) class InvoiceResource(Resource): …``."""

    def decorator(resource_class):
        registry.register(model, resource_class)
        return resource_class

    return decorator
