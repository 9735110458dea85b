"""Back-office pages of batch entry (批量录入): the officer's imports, the upload form, the
progress page (a progress bar polling a small JSON status view, then the summary with every
rejected row and why), the template and the rejected rows as CSV downloads.

Imports are branch-scoped like applications (another branch's import answers 404). An invalid
upload re-renders with HTTP 422 (Turbo swaps a re-rendered form only on a 4xx); a valid one
redirects with 303 to its progress page.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from ..forms.batch import BatchImportForm, apply_batch_errors
from ..selectors import batch as selectors
from ..services import batch as services
from ..services.batch_upload import batch_import_create

VIEW_PERMISSION = "workflows.view_batchimport"
ADD_PERMISSION = "workflows.add_batchimport"
APPLICATION_PERMISSION = "workflows.add_creditapplication"
REJECTED_ROWS_SHOWN = 500


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


def _url(request, name: str, *args) -> str:
    return reverse(f"{request.resolver_match.namespace}:{name}", args=args)


def _csv_download(content: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class BatchView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION


class BatchListView(BatchView):
    template_name = "workflows/batch/list.html"

    def get(self, request):
        can_import = request.user.has_perms((ADD_PERMISSION, APPLICATION_PERMISSION))
        return render(request, self.template_name, {
            "batches": selectors.batch_imports_for(request.user)[:100],
            "new_url": _url(request, "new") if can_import else "", "template_url": _url(request, "template"),
        })


class BatchNewView(BatchView):
    permission_required = (VIEW_PERMISSION, ADD_PERMISSION, APPLICATION_PERMISSION)
    template_name = "workflows/batch/new.html"

    def _render(self, request, form, status=200):
        return render(request, self.template_name, {
            "form": form, "template_url": _url(request, "template"), "list_url": _url(request, "index"),
            "required_columns": services.REQUIRED_COLUMNS, "optional_columns": services.OPTIONAL_COLUMNS,
            "max_rows": settings.WORKFLOW_BATCH_MAX_ROWS, "max_kb": settings.WORKFLOW_BATCH_MAX_BYTES // 1024,
        }, status=status)

    def get(self, request):
        return self._render(request, BatchImportForm(user=request.user))

    def post(self, request):
        form = BatchImportForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                batch = batch_import_create(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                apply_batch_errors(form, exc)
            else:
                return see_other(_url(request, "detail", batch.pk))
        return self._render(request, form, status=422)


class BatchDetailView(BatchView):
    template_name = "workflows/batch/detail.html"

    def get(self, request, pk):
        batch = selectors.batch_import_for(user=request.user, pk=pk)
        rejected = list(selectors.batch_rejected_rows(batch)[:REJECTED_ROWS_SHOWN]) if batch.finished else []
        return render(request, self.template_name, {
            "batch": batch, "rejected_rows": rejected, "status_url": _url(request, "status", batch.pk),
            "rejected_csv_url": _url(request, "rejected_csv", batch.pk), "list_url": _url(request, "index"),
            "application_list_url": reverse("origination:applications:index"),
        })


class BatchStatusView(BatchView):
    def get(self, request, pk):
        response = JsonResponse(selectors.batch_import_progress(selectors.batch_import_for(user=request.user, pk=pk)))
        response["Cache-Control"] = "no-store"
        return response


class BatchRejectedCsvView(BatchView):
    def get(self, request, pk):
        batch = selectors.batch_import_for(user=request.user, pk=pk)
        return _csv_download(services.batch_rejected_csv(batch), f"batch-{batch.pk}-rejected.csv")


class BatchTemplateView(BatchView):
    def get(self, request):
        return _csv_download(services.batch_template_csv(), "batch-import-template.csv")


class BatchImportViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Batch import (批量录入)")
    icon = "upload_file"
    app_name = "batch"
    index_path = path("", BatchListView.as_view(), name="index")
    new_path = path("new/", BatchNewView.as_view(), name="new")
    template_path = path("template.csv", BatchTemplateView.as_view(), name="template")
    detail_path = path("<int:pk>/", BatchDetailView.as_view(), name="detail")
    status_path = path("<int:pk>/status/", BatchStatusView.as_view(), name="status")
    rejected_csv_path = path("<int:pk>/rejected.csv", BatchRejectedCsvView.as_view(), name="rejected_csv")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
