"""Django admin registrations of the collection app."""

from django.contrib import admin  # noqa: F401
