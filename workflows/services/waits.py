"""Resuming the credit flow where it waits for the outside world: the documents asked for arrived
(``application_resume_after_documents``), remote signing passed (``application_signing_passed``,
called by ``workflows.services.signing``), the applicant accepted the contract
(``application_accept_contract``). Each one transaction under the process lock, then the
application's row (``workflows.locks.application_flow_lock``); ``workflows.services.applications``
offers them with the other writes of an application."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from creditfactory.core.permissions import require_permission

from ..flows import CreditApplicationFlow
from ..locks import application_flow_lock
from ..models import ApplicationStatus, CreditApplication
from ..nodes import Wait
from ..selectors.applications import application_open_task
from .flow_steps import emit, save_process_data, set_actor

S = ApplicationStatus
DOCUMENT_PERMISSION = "workflows.add_applicationdocument"

__all__ = ["application_accept_contract", "application_resume_after_documents", "application_signing_passed"]


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _run_wait(application: CreditApplication, name: str, *, actor, actor_label: str, before=None):
    """Resume the open waiting task ``name`` of the application's process (the caller holds the
    locks, see ``application_flow_lock``); ``None`` if there is none."""
    task = application_open_task(application, node_type=Wait, name=name)
    if task is None:
        return None
    if before is not None:
        before()
    process = task.process
    set_actor(process, actor=actor, actor_label=actor_label)
    save_process_data(process)
    task.flow_task.run(task)
    return task


def application_resume_after_documents(*, application: CreditApplication, actor=None, actor_label: str = "",
                                       note: str = "") -> CreditApplication:
    """The documents asked for arrived: back to the review or approval that asked. A staff actor
    needs the permission to add documents (read-only roles may not resume)."""
    require_permission(actor, DOCUMENT_PERMISSION, message=_("Your role may not record documents received."))
    with application_flow_lock(CreditApplicationFlow, application.pk) as application:
        not_waiting = _error("status", _("Application %(number)s is not waiting for documents.")
                             % {"number": application.number})
        if application.status != S.RETURNED:
            raise not_waiting
        if _run_wait(application, "await_documents", actor=actor, actor_label=actor_label) is None:
            raise not_waiting
    application.refresh_from_db()
    return application


def application_signing_passed(*, application: CreditApplication, actor=None, actor_label: str = "",
                               appointment=None) -> CreditApplication | None:
    """Remote signing passed: the flow moves on to contract acceptance. Called by
    ``workflows.services.signing.signing_complete``; a no-op (``None``) when the application's
    flow is not waiting for signing."""
    with application_flow_lock(CreditApplicationFlow, application.pk) as application:
        if application.status != S.SIGNING:
            return None
        if _run_wait(application, "signing", actor=actor, actor_label=actor_label) is None:
            return None
    application.refresh_from_db()
    return application


def application_accept_contract(*, application: CreditApplication, actor=None,
                                actor_label: str = "") -> CreditApplication:
    """The applicant accepted the contract: the credit line is granted and the flow ends."""
    with application_flow_lock(CreditApplicationFlow, application.pk) as application:
        nothing_waits = _error("status", _("Application %(number)s has no contract waiting for acceptance.")
                               % {"number": application.number})
        if application.status != S.CONTRACT:
            raise nothing_waits

        def accepted():
            application.contract_accepted_at = timezone.now()
            application.save(update_fields=["contract_accepted_at", "updated_at"])
            emit(application, event="contract.accepted")

        if _run_wait(application, "contract", actor=actor, actor_label=actor_label, before=accepted) is None:
            raise nothing_waits
    application.refresh_from_db()
    return application
