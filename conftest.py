import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate limits (login lock-out) and progress counters live in the cache."""
    from django.core.cache import cache

    cache.clear()
    yield
