"""Small building blocks shared by every app's Django admin."""


class ReadOnlyAdminMixin:
    """Logs, versions and records written by services: visible to whoever may view them, added,
    changed or deleted by nobody through admin. Works on model admins and inlines alike. Put it
    before ``admin.ModelAdmin`` in the bases."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
