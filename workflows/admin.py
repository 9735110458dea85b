"""Django admin registrations of the workflows app."""

from django.contrib import admin  # noqa: F401
