"""Admin: our own fraud and risk lists, and their CSV imports.

Entries show only masked values; adding one takes the plaintext once (validated, then stored
as a blind index). "Import CSV" uploads a file, creates a ``ListImportJob`` and opens its
progress page, which polls the job's status JSON until the import is done and then lists the
rejected rows with their reasons. The CSV format is in docs/risk.md.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from django.utils.translation import gettext_noop

from creditfactory.core.pii import blind_index
from creditfactory.core.texts import stored_text
from risk.models import ImportStatus, ListImportJob, ListKind, RiskListEntry
from risk.services import lists as services
from risk.services.list_upload import list_import_create

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
REJECTED_ROWS_SHOWN = 500


class RiskListEntryAddForm(forms.ModelForm):
    value = forms.CharField(label=_("value"), max_length=128,
                            help_text=_("ID number, mobile or device ID; stored only as a blind index."))

    class Meta:
        model = RiskListEntry
        fields = ["list_type", "kind", "value", "reason", "expires_at"]

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value:
            try:
                normalised = services.normalise_list_value(kind, value)
            except ValidationError as exc:
                self.add_error("value", exc.messages)
            else:
                exists = RiskListEntry.objects.filter(
                    list_type=cleaned.get("list_type"), kind=kind, value_index=blind_index(kind, normalised),
                    active=True,
                ).exists()
                if exists:
                    self.add_error("value", gettext("This value is already on the list."))
        return cleaned


class ListImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 20 MB; split it."))
        return upload


@admin.register(RiskListEntry)
class RiskListEntryAdmin(admin.ModelAdmin):
    list_display = ("list_type", "kind", "value_masked", "reason", "source", "active", "expires_at", "added_by",
                    "created_at")
    list_filter = ("list_type", "kind", "active", "source")
    list_select_related = ("added_by",)
    search_fields = ("reason",)
    search_help_text = _("An exact ID number, mobile or device ID, or words of the reason.")
    actions = ["remove_selected"]
    change_list_template = "admin/risk/risklistentry/change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = RiskListEntryAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["list_type", "kind", "value", "reason", "expires_at"]
        return ["list_type", "kind", "value_masked", "reason", "expires_at", "active", "source", "added_by",
                "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["list_type", "kind", "value_masked", "active", "source", "added_by", "created_at"]

    def has_delete_permission(self, request, obj=None):
        # Entries are removed (deactivated) so the list keeps its history.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["reason", "expires_at", "updated_at"])
            return
        entry = services.risk_list_entry_add(
            actor=request.user, list_type=form.cleaned_data["list_type"], kind=form.cleaned_data["kind"],
            value=form.cleaned_data["value"], reason=form.cleaned_data.get("reason") or "",
            expires_at=form.cleaned_data.get("expires_at"),
        )
        # The admin logs and redirects with the instance it passed in.
        obj.__dict__.update(entry.__dict__)

    def get_search_results(self, request, queryset, search_term):
        term = (search_term or "").strip()
        indexes = []
        for kind in ListKind.values:
            try:
                indexes.append(blind_index(kind, services.normalise_list_value(kind, term)))
            except ValidationError:
                continue
        if term and indexes:
            by_value = queryset.filter(value_index__in=indexes)
            if by_value.exists():
                return by_value, False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description=_("Remove selected entries from their list"))
    def remove_selected(self, request, queryset):
        removed = 0
        for entry in queryset.filter(active=True):
            services.risk_list_entry_remove(actor=request.user, entry=entry,
                                            reason=stored_text(gettext_noop("Removed in admin")))
            removed += 1
        self.message_user(request, ngettext("%(count)d entry removed.", "%(count)d entries removed.", removed)
                          % {"count": removed}, messages.SUCCESS)

    # --- CSV import ------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import-csv/", view(self.import_view), name="risk_risklistentry_import"),
            path("import/<int:job_id>/", view(self.import_progress_view), name="risk_risklistentry_import_progress"),
            path("import/<int:job_id>/status/", view(self.import_status_view),
                 name="risk_risklistentry_import_status"),
            *super().get_urls(),
        ]

    def _check_import_permission(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied

    def import_view(self, request):
        self._check_import_permission(request)
        form = ListImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = list_import_create(actor=request.user, filename=upload.name, content=upload.read())
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error("file" if field not in form.fields else field, errors)
            else:
                return HttpResponseRedirect(reverse("admin:risk_risklistentry_import_progress", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import list entries from CSV"),
            "opts": self.model._meta,
            "form": form,
            "columns": services.CSV_COLUMNS,
        }
        return TemplateResponse(request, "admin/risk/risklistentry/import_form.html", context)

    def import_progress_view(self, request, job_id):
        self._check_import_permission(request)
        job = get_object_or_404(ListImportJob, pk=job_id)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("List import %(name)s") % {"name": job},
            "opts": self.model._meta,
            "job": job,
            "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED),
            "rejected_rows": job.rejected_rows[:REJECTED_ROWS_SHOWN],
            "status_url": reverse("admin:risk_risklistentry_import_status", args=[job.pk]),
        }
        return TemplateResponse(request, "admin/risk/risklistentry/import_progress.html", context)

    def import_status_view(self, request, job_id):
        self._check_import_permission(request)
        job = get_object_or_404(ListImportJob, pk=job_id)
        return JsonResponse({
            "id": job.pk, "status": job.status, "status_label": job.get_status_display(), "total": job.total,
            "processed": job.processed, "accepted": job.accepted, "rejected": job.rejected, "percent": job.percent,
            "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED), "error": job.error,
        })


@admin.register(ListImportJob)
class ListImportJobAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "total", "processed", "accepted", "rejected", "created_by", "created_at",
                    "progress_link")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    fields = ("filename", "status", "total", "processed", "accepted", "rejected", "rejected_rows", "error",
              "created_by", "created_at", "finished_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress_link(self, obj):
        url = reverse("admin:risk_risklistentry_import_progress", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Progress and rejected rows"))
