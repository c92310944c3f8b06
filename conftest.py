import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate limits (login lock-out) and progress counters live in the cache."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def queued_huey():
    """The real job queue instead of the test run's immediate mode (what a worker process
    reads), emptied before and after."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    HUEY.flush()
    yield HUEY
    HUEY.flush()
    HUEY.immediate = True
