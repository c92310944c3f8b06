"""Checks of a product's barcode and images."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .normalize import barcode_text

# The GS1 lengths whose last digit is a check digit: EAN-8, UPC-A, EAN-13, GTIN-14.
GTIN_NAMES = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}


def gtin_check_digit(digits):
    """The GS1 check digit of `digits` (the code without its last digit)."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def validate_barcode(value):
    """A barcode of digits only with the length of an EAN-8, UPC-A, EAN-13 or GTIN-14 must
    carry the right check digit; other codes (Code 128, internal codes) are taken as they are."""
    text = barcode_text(value)
    if not text:
        return
    if not all(32 < ord(char) < 127 for char in text):
        raise ValidationError(_("A barcode may only contain letters, digits and the usual symbols."), code="barcode_characters")
    if text.isdigit() and len(text) in GTIN_NAMES and gtin_check_digit(text[:-1]) != text[-1]:
        raise ValidationError(
            _("This is not a valid %(kind)s barcode: its check digit should be %(digit)s."),
            code="barcode_check_digit",
            params={"kind": GTIN_NAMES[len(text)], "digit": gtin_check_digit(text[:-1])},
        )


# Pillow's format names of the images we keep, with the file extensions they may have.
IMAGE_FORMATS = {"JPEG": ("jpg", "jpeg"), "PNG": ("png",), "WEBP": ("webp",), "GIF": ("gif",)}
MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded


def max_image_bytes():
    return getattr(settings, "QINGLAN_MAX_IMAGE_MB", 5) * 1024 * 1024


def inspect_image(upload):
    """(format, width, height) of an uploaded image after checking that it is a whole, real
    image of an allowed type and size; ValidationError otherwise."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > max_image_bytes():
        raise ValidationError(
            _("The image is too large (%(size)s MB); at most %(limit)s MB is allowed."),
            code="image_size",
            params={"size": f"{upload.size / 1024 / 1024:.1f}", "limit": getattr(settings, "QINGLAN_MAX_IMAGE_MB", 5)},
        )
    extension = (upload.name or "").rsplit(".", 1)[-1].lower() if "." in (upload.name or "") else ""
    allowed = ", ".join(sorted({ext.upper() for exts in IMAGE_FORMATS.values() for ext in exts[:1]}))
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind = image.format
            width, height = image.size
            if kind not in IMAGE_FORMATS:
                raise ValidationError(_("Only %(types)s images are allowed."), code="image_type", params={"types": allowed})
            if width * height > MAX_IMAGE_PIXELS:
                raise ValidationError(_("The image has too many pixels (%(width)s × %(height)s)."), code="image_pixels", params={"width": width, "height": height})
            image.verify()  # a truncated or damaged file fails here
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()  # and a file whose pixel data is broken here
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("The file is not an image or it is damaged."), code="image_invalid") from None
    finally:
        upload.seek(0)
    if extension not in IMAGE_FORMATS[kind]:
        raise ValidationError(
            _("The file name ends in “.%(extension)s” but the file is a %(kind)s image."),
            code="image_extension",
            params={"extension": extension, "kind": kind},
        )
    return kind, width, height
