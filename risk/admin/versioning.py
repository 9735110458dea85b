"""Admin plumbing shared by the versioned risk configuration (rule sets, scorecards, strategies):
a publish action and button guarded by the model's ``publish_*`` permission, and read-only admins
for the immutable versions."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.http import require_POST

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.display import format_datetime


def pretty_json(value) -> str:
    return format_html("<pre style=\"white-space: pre-wrap; margin: 0\">{}</pre>",
                       json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False))


class VersionedAdmin(admin.ModelAdmin):
    """Working copies: edit freely, publish explicitly (the service validates the whole definition)."""

    publish = None  # staticmethod(service); called as publish(**{publish_kwarg: obj}, actor=user)
    publish_kwarg = ""
    change_form_template = "risk/admin/versioned_change_form.html"
    actions = ["publish_selected"]
    list_select_related = ("current_version",)
    search_fields = ("code", "name", "description")
    # The rows ``definition()`` reads, so "unpublished changes" in the list costs no query per row.
    definition_prefetch: tuple[str, ...] = ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.definition_prefetch)

    def get_readonly_fields(self, request, obj=None):
        fields = ("current_version_link", "unpublished_changes")
        # The code names the configuration in every decision that used it; it does not change.
        return (*fields, "code") if obj else fields

    def publish_permission(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}.publish_{opts.model_name}"

    def has_publish_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(self.publish_permission())

    @admin.display(description=_("current version"))
    def current_version_link(self, obj):
        version = obj.current_version
        if version is None:
            return gettext("never published")
        opts = version._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a> · {}', url, version.version,
                           format_datetime(version.published_at))

    @admin.display(description=_("unpublished changes"), boolean=True)
    def unpublished_changes(self, obj):
        return obj.has_unpublished_changes if obj.pk else None

    @admin.display(description=_("version"), ordering="current_version__version")
    def version_number(self, obj):
        return obj.current_version.version if obj.current_version_id else "—"

    def _publish_one(self, request, obj) -> bool:
        try:
            version = type(self).publish(**{self.publish_kwarg: obj}, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, _("%(code)s not published: %(errors)s")
                              % {"code": obj.code, "errors": "; ".join(exc.messages)}, messages.ERROR)
            return False
        self.message_user(request, _("%(code)s: version %(version)s is current.")
                          % {"code": obj.code, "version": version.version})
        return True

    @admin.action(description=_("Publish selected (new immutable version)"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        for obj in queryset:
            self._publish_one(request, obj)

    def get_urls(self):
        opts = self.model._meta
        return [
            path("<int:pk>/publish/", self.admin_site.admin_view(require_POST(self.publish_view)),
                 name=f"{opts.app_label}_{opts.model_name}_publish"),
            *super().get_urls(),
        ]

    def publish_view(self, request, pk):
        if not self.has_publish_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(self.model, pk=pk)
        self._publish_one(request, obj)
        opts = self.model._meta
        return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        opts = self.model._meta
        context.update(
            can_publish=bool(obj and obj.pk and self.has_publish_permission(request)),
            publish_url=reverse(f"admin:{opts.app_label}_{opts.model_name}_publish", args=[obj.pk]) if obj else "",
            extra_tools=self.extra_tools(request, obj) if obj else [],
        )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def extra_tools(self, request, obj) -> list[tuple[str, str]]:
        """(label, url) links shown beside History on the change page."""
        return []


class PublishedVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Published versions are immutable: view only."""

    list_display = ("__str__", "version", "published_at", "published_by")
    readonly_fields = ("version", "published_at", "published_by", "definition_pretty")
    exclude = ("definition",)

    @admin.display(description=_("definition"))
    def definition_pretty(self, obj):
        return pretty_json(obj.definition)
