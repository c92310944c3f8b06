"""Pages of the catalogue beyond the generated ones: the find page (category tree and
attribute facets with counts), the attribute inputs a form reloads when its category
changes, and product images (upload, serve to members who may view the product, delete)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from qinglan.core.pagination import bounded_count, keyset_page
from qinglan.core.registry import registry
from qinglan.core.views import ResourceView, safe_next, sort_keys_for
from qinglan.core.widgets import restricted_choices

from . import facets, services
from .forms import AttributeInputs
from .models import Category, Product, ProductImage

EXTENSION_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
MAX_CHILD_CATEGORIES = 60


class ProductView(ResourceView):
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.resource = registry.get(Product)


class FindProductsView(ProductView):
    """Browse the category tree and narrow a category's products by attribute values; each
    sub-category and each value shows how many products it holds (counted up to a limit)."""

    template_name = "products/find.html"

    def get(self, request):
        products = self.restricted("view")
        category = None
        category_id = request.GET.get("category", "")
        if category_id.isdigit():
            category = Category.objects.filter(pk=category_id).first()
        text = (request.GET.get("q") or "").strip()[:100]
        selection = facets.parse_selection([*request.GET.getlist("attr"), *_ranges(request.GET)])
        base = products
        if category is not None:
            base = base.filter(services.subtree_q([category], fresh=True))
        if text:
            base = base.filter(self.resource.quick_search_q(text))
        attributes = [a for a in services.attributes_for(category) if a.filterable] if category else []
        found = facets.filter_products(base, selection, attributes if category else None)
        children = list((category.children() if category else Category.objects.get_root_nodes())[: MAX_CHILD_CATEGORIES + 1])
        child_rows = []
        for child in children[:MAX_CHILD_CATEGORIES]:
            count, exact = facets.bounded(found.filter(services.subtree_q([child], fresh=True)))
            child_rows.append({"category": child, "count": count, "exact": exact})
        keys = sort_keys_for(self.resource, None)
        page = keyset_page(
            found.select_related("category", "brand", "price_currency"),
            keys, size=50, after=request.GET.get("after"), before=request.GET.get("before"),
        )
        count, exact = bounded_count(found, limit=facets.FACET_COUNT_LIMIT)
        thumbnails = _first_images([product.pk for product in page.rows])
        for product in page.rows:
            product.thumbnail = thumbnails.get(product.pk)
        query = request.GET.copy()
        for name in ("after", "before"):
            query.pop(name, None)
        list_query = query.copy()
        list_query.pop("category", None)
        if category is not None:
            list_query["category"] = str(category.pk)
        context = {
            "resource": self.resource,
            "category": category,
            "ancestors": category.ancestors() if category else [],
            "children": child_rows,
            "more_children": len(children) > MAX_CHILD_CATEGORIES,
            "facets": facets.facets(base, attributes, selection),
            "selection": [(code, value) for code, wanted in selection.items() for value in wanted],
            "page": page,
            "count": count,
            "count_exact": exact,
            "q": text,
            "query": query.urlencode(),
            "list_url": f"{self.resource.list_url}?{list_query.urlencode()}",
            "limit": facets.FACET_COUNT_LIMIT,
        }
        return render(request, self.template_name, context)


def _ranges(query):
    """``code=min..max`` selections from the find page's from/to inputs (min.<code>, max.<code>)."""
    ranges = {}
    for key, value in query.items():
        end, dot, code = key.partition(".")
        if dot and end in ("min", "max") and code and value.strip():
            ranges.setdefault(code, {})[end] = value.strip()[:40]
    return [f"{code}={ends.get('min', '')}..{ends.get('max', '')}" for code, ends in ranges.items()]


def _first_images(product_ids):
    first = {}
    for image in ProductImage.objects.filter(product_id__in=product_ids).order_by("product_id", "order", "id"):
        first.setdefault(image.product_id, image)
    return first


class AttributeInputsView(View):
    """The attribute inputs of a product form (for the chosen category) or a variant form (for
    the chosen product's category), fetched again by htmx when that choice changes."""

    def get(self, request):
        if not request.user.is_authenticated:
            raise PermissionDenied
        widget = AttributeInputs()
        kind = request.GET.get("kind")
        if kind == "variant":
            product_id = request.GET.get("product", "")
            product = (
                restricted_choices(Product.objects.all(), request.user).select_related("category").filter(pk=product_id).first()
                if product_id.isdigit() else None
            )
            widget.attribute_list = services.attributes_for(product.category, for_variants=True) if product else []
            widget.source, widget.kind, widget.chosen = "product", "variant", product is not None
        else:
            category_id = request.GET.get("category", "")
            category = Category.objects.filter(pk=category_id).first() if category_id.isdigit() else None
            widget.attribute_list = services.attributes_for(category, for_variants=False)
            widget.source, widget.kind, widget.chosen = "category", "product", category is not None
        return HttpResponse(widget.render("attributes", {}))


class ImageView(View):
    """A product picture, to members who may view the product; always as the image type Pillow
    found when it was uploaded, never sniffed, never as a page."""

    def get(self, request, pk):
        if not request.user.is_authenticated:
            raise PermissionDenied
        image = get_object_or_404(ProductImage, pk=pk)
        if not Product.objects.restrict(request.user, "view").filter(pk=image.product_id).exists():
            raise Http404
        extension = image.image.name.rsplit(".", 1)[-1].lower()
        try:
            handle = image.image.open("rb")
        except FileNotFoundError as exc:
            raise Http404(_("The file is missing from storage.")) from exc
        response = FileResponse(handle, content_type=EXTENSION_TYPES.get(extension, "application/octet-stream"))
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class ImageAddView(ProductView):
    action = "change"

    def post(self, request, pk):
        product = self.get_object("change")
        upload = request.FILES.get("image")
        try:
            if upload is None:
                raise ValidationError(_("Choose an image to upload."))
            if upload.size > settings.QINGLAN_MAX_UPLOAD_MB * 1024 * 1024:
                raise ValidationError(_("The file is too large."))
            services.add_image(product=product, upload=upload, caption=request.POST.get("caption", ""), user=request.user)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, _("The image was added."))
        return redirect(product.get_absolute_url())


class _ImageChangeView(ProductView):
    action = "change"

    def image(self, pk):
        image = get_object_or_404(ProductImage.objects.select_related("product"), pk=pk)
        if not Product.objects.restrict(self.request.user, "change").filter(pk=image.product_id).exists():
            raise Http404
        return image


class ImageDeleteView(_ImageChangeView):
    def post(self, request, pk):
        image = self.image(pk)
        try:
            services.remove_image(image=image, user=request.user)
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The image was removed."))
        return redirect(safe_next(request, image.product.get_absolute_url()))


class ImageFirstView(_ImageChangeView):
    def post(self, request, pk):
        image = self.image(pk)
        services.make_first_image(image=image, user=request.user)
        return redirect(safe_next(request, image.product.get_absolute_url()))
