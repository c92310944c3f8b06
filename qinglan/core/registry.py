"""The resource registry: which models are resources, and the Resource that describes each."""


class Registry:
    def __init__(self):
        self._by_model = {}

    def register(self, model, resource_class):
        if model in self._by_model:
            raise RuntimeError(f"{model._meta.label} is registered twice")
        resource = resource_class(model)
        self._by_model[model] = resource
        return resource

    def unregister(self, model):
        self._by_model.pop(model, None)

    def get(self, model):
        """The Resource of a model class or instance, or None."""
        if not isinstance(model, type):
            model = type(model)
        return self._by_model.get(model)

    def get_by_label(self, app_label, model_name):
        for model, resource in self._by_model.items():
            if model._meta.app_label == app_label and model._meta.model_name == model_name:
                return resource
        return None

    def __iter__(self):
        return iter(list(self._by_model.values()))

    def __len__(self):
        return len(self._by_model)


registry = Registry()


def register(model):
    """Class decorator: ``@register(Invoice) class InvoiceResource(Resource): …``."""

    def decorator(resource_class):
        registry.register(model, resource_class)
        return resource_class

    return decorator
