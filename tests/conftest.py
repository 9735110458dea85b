import pytest
from rest_framework.test import APIClient


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
