import pytest


@pytest.fixture(autouse=True)
def _collection_defaults(request):
    """The migration's buckets, thresholds and policy, again if a transactional test flushed them."""
    if "db" in request.fixturenames:
        request.getfixturevalue("db")
    elif not request.node.get_closest_marker("django_db"):
        return
    from tests.collection.factories import ensure_defaults

    ensure_defaults()
