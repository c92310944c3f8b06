import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    """Messages are checked in English here (the pages follow each member's language)."""
    with translation.override("en"):
        yield
