import pytest
from rest_framework.test import APIClient


def pytest_collection_modifyitems(items):
    """Transactional tests flush every table when they finish, which would also wipe what data
    migrations seeded (roles, content types). Restore it after each of them."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            item.add_marker(pytest.mark.django_db(**{**marker.kwargs, "serialized_rollback": True}), append=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Django reloads the serialized data when a serialized-rollback test *starts*; its flush at
    the end leaves every table empty (no post_migrate). A plain test that runs next in the same
    worker (xdist --dist loadfile runs a file's transactional tests with the file, then goes on
    with other files) would find no roles, permissions or content types: put them back now — the
    migrated data, then what post_migrate creates (all there is with --nomigrations, where
    nothing is serialized)."""
    yield
    if nextitem is None:
        return  # the last test: the test database is gone already
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))
    if not transactional:
        return
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        for connection in connections.all(initialized_only=True):
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents:
                connection.creation.deserialize_db_from_string(contents)
            emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)


@pytest.fixture(autouse=True)
def _fresh_content_type_cache():
    # Content-type ids cached by a test that rolled back (or was flushed) must not leak into the next.
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """A request in another language (a zh-hans cookie) leaves that language active in the
    worker's thread (LocaleMiddleware does not reset it): every test starts from the settings'
    language, so a test's messages do not depend on which test ran before it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def admin_user(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", "pass-1234-word")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client
