import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    # Rate-limit counters and used signatures live in the cache; every test starts clean.
    cache.clear()
    yield
    cache.clear()
