"""Django admin registrations of the servicing app."""

from django.contrib import admin  # noqa: F401
