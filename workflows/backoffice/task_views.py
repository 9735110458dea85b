"""The page a human task of the credit flow opens in viewflow's frontend: the application's
workbench (``workflows.backoffice.applications``), where the task's decisions are taken."""

from __future__ import annotations

from django.http import HttpResponseRedirect

from ..selectors.applications import application_url

__all__ = ["task_redirect"]


def task_redirect(request, **kwargs):
    """Redirect the task's page (``request.activation``, set by viewflow) to its application."""
    return HttpResponseRedirect(application_url(request.activation.process.data["application_id"]))
