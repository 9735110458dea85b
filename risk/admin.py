"""Django admin registrations of the risk app."""

from django.contrib import admin  # noqa: F401
