from django.contrib import admin

from .models import StateTransition


@admin.register(StateTransition)
class StateTransitionAdmin(admin.ModelAdmin):
    list_display = ("at", "content_type", "object_id", "field", "from_state", "to_state", "actor", "actor_label")
    list_filter = ("content_type", "field", "to_state")
    search_fields = ("object_id", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("content_type", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
