from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _


@deconstructible
class MaxFileSize:
    """Refuse uploaded files larger than `megabytes`."""

    def __init__(self, megabytes):
        self.megabytes = megabytes

    def __call__(self, file):
        if file and getattr(file, "size", 0) > self.megabytes * 1024 * 1024:
            raise ValidationError(_("The file is larger than %(limit)s MB."), params={"limit": self.megabytes})

    def __eq__(self, other):
        return isinstance(other, MaxFileSize) and other.megabytes == self.megabytes
