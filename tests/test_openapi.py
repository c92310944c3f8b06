"""Every resource is in the OpenAPI schema; the Swagger UI is served from our own origin."""

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from qinglan.core.registry import registry
from qinglan.core.testing import make_member


def test_every_resource_is_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for resource in registry:
        base = f"/api/{resource.api_prefix}/"
        assert base in paths, base
        assert set(paths[base]) >= {"get", "post"}, base
        assert set(paths[base + "{id}/"]) >= {"get", "put", "patch", "delete"}, base
    assert "tokenAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn():
    client = Client()
    client.force_login(make_member("reader"))
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    external = [url for url in re.findall(r'(?:src|href)="([^"]+)"', html) if url.startswith(("http:", "https:", "//"))]
    assert external == []


@pytest.mark.django_db
def test_api_needs_authentication():
    response = Client().get("/api/org/users/")
    assert response.status_code in (401, 403)
