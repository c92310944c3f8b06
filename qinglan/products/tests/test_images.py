"""Product images: real images of an allowed type and size only, shown on the product page and
served to members who may view the product, uploaded and removed by those who may change it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qinglan.core import testing
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import Scope
from qinglan.products.models import Product, ProductImage

from .factories import make_category, make_product


def picture(kind="PNG", size=(64, 48), name=None):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, kind)
    extension = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}[kind]
    return SimpleUploadedFile(name or f"photo.{extension}", buffer.getvalue(), content_type=f"image/{extension}")


@pytest.fixture
def setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    owner = testing.make_member("owner")
    testing.grant(owner, Product, ["view", "change"], scope=Scope.OWN)
    product = make_product("IMG-1", "有圖的產品", make_category("相機"), owner=owner)
    client = Client()
    client.force_login(owner)
    return client, owner, product


def upload(client, product, file, caption=""):
    return client.post(f"/products/product/{product.pk}/images/add/", {"image": file, "caption": caption}, follow=True)


def test_upload_show_serve_and_remove(setup):
    client, _owner, product = setup
    response = upload(client, product, picture(), caption="正面")
    assert "已新增圖片。" in response.content.decode()
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height, image.caption) == (64, 48, "正面")
    assert ObjectChange.objects.filter(object_id=product.pk, action="update", postchange_data__images__0__caption="正面").exists()
    page = client.get(product.get_absolute_url()).content.decode()
    assert f"/products/image/{image.pk}/" in page and 'data-testid="image-upload"' in page
    served = client.get(f"/products/image/{image.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")
    second = upload(client, product, picture("JPEG"), caption="背面")
    assert second.status_code == 200
    back = ProductImage.objects.get(product=product, caption="背面")
    client.post(f"/products/image/{back.pk}/first/")
    assert list(product.images.values_list("caption", flat=True)) == ["背面", "正面"]
    client.post(f"/products/image/{image.pk}/delete/")
    assert list(product.images.values_list("caption", flat=True)) == ["背面"]


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (SimpleUploadedFile("photo.png", b"not an image at all", content_type="image/png"), "檔案不是圖片或已損壞。"),
        ("truncated", "檔案不是圖片或已損壞。"),
        (SimpleUploadedFile("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', content_type="image/svg+xml"), "檔案不是圖片或已損壞。"),
        ("bmp", "只接受 GIF, JPG, PNG, WEBP 圖片。"),
        ("renamed", "檔名副檔名為「.png」，但檔案是 JPEG 圖片。"),
        ("large", "圖片太大"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(setup, settings, file, message):
    client, _owner, product = setup
    if file == "truncated":
        whole = picture(size=(200, 200)).read()
        file = SimpleUploadedFile("cut.png", whole[: len(whole) // 2], content_type="image/png")
    elif file == "bmp":
        file = picture("BMP")
    elif file == "renamed":
        file = picture("JPEG", name="photo.png")
    elif file == "large":
        settings.QINGLAN_MAX_IMAGE_MB = 0
        file = picture()
    response = upload(client, product, file)
    assert message in response.content.decode()
    assert not ProductImage.objects.filter(product=product).exists()
    assert not list(settings.MEDIA_ROOT.rglob("*.*"))


def test_who_may_see_and_change_images(setup):
    client, owner, product = setup
    upload(client, product, picture())
    image = ProductImage.objects.get(product=product)
    viewer = testing.make_member("viewer")
    testing.grant(viewer, Product, ["view", "change"], scope=Scope.OWN)  # may change only their own products
    other = Client()
    other.force_login(viewer)
    assert other.get(f"/products/image/{image.pk}/").status_code == 404  # may not view this product
    testing.grant(viewer, Product, ["view"], scope=Scope.ALL, role_name="viewers")
    assert other.get(f"/products/image/{image.pk}/").status_code == 200
    assert 'data-testid="image-upload"' not in other.get(product.get_absolute_url()).content.decode()
    assert other.post(f"/products/image/{image.pk}/delete/").status_code == 404
    assert upload(other, product, picture()).status_code == 404
    assert ProductImage.objects.filter(product=product).count() == 1
    nobody = Client()
    nobody.force_login(testing.make_member("nobody"))
    assert nobody.get(f"/products/image/{image.pk}/").status_code == 404
    assert Client().get(f"/products/image/{image.pk}/").status_code in (302, 403)


def test_api_lists_the_images(setup):
    client, owner, product = setup
    upload(client, product, picture())
    from qinglan.core.models import APIToken

    _token, key = APIToken.issue(user=owner, name="t")
    data = client.get(f"/api/products/products/{product.pk}/", HTTP_AUTHORIZATION=f"Token {key}").json()
    assert len(data["images"]) == 1 and data["images"][0]["url"].endswith(f"/products/image/{data['images'][0]['id']}/")


def test_deleting_a_product_removes_its_image_files(setup, settings):
    client, owner, product = setup
    upload(client, product, picture())
    assert list(settings.MEDIA_ROOT.rglob("*.png"))
    testing.grant(owner, Product, ["delete"], scope=Scope.OWN)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert client.post(f"/products/product/{product.pk}/delete/").status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not list(settings.MEDIA_ROOT.rglob("*.png"))
