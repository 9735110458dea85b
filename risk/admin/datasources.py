"""Admin: datasources."""

from django.contrib import admin  # noqa: F401
