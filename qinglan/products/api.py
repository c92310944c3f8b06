"""The product serializer: the generated one plus the product's images (read-only; they are
uploaded on the product page, see views.ImageAddView)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from qinglan.core.api.serializers import resource_serializer_factory


class ImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="Served to members who may view the product.")
    caption = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


def product_serializer(resource):
    base = resource_serializer_factory(resource)

    class ProductSerializer(base):
        images = serializers.SerializerMethodField(help_text="The product's pictures, first one first.")

        class Meta(base.Meta):
            fields = [*base.Meta.fields, "images"]
            read_only_fields = [*base.Meta.read_only_fields, "images"]

        @extend_schema_field(ImageSerializer(many=True))
        def get_images(self, obj):
            request = self.context.get("request")
            return [
                {
                    "id": image.pk,
                    "url": request.build_absolute_uri(reverse("products:image", args=[image.pk])) if request else reverse("products:image", args=[image.pk]),
                    "caption": image.caption,
                    "width": image.width,
                    "height": image.height,
                }
                for image in obj.images.all()
            ]

    ProductSerializer.__name__ = "ProductSerializer"
    return ProductSerializer
