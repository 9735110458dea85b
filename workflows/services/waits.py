"""Resuming the credit flow where it waits for the outside world: the documents asked for arrived
(``application_resume_after_documents``), remote signing passed (``application_signing_passed``,
called by ``workflows.services.signing``), the applicant accepted the contract
(``application_accept_contract``, or for an application without a partner, a staff member records
that acceptance: ``application_record_contract_acceptance``). Each one transaction under the
process lock, then the application's row (``workflows.locks.application_flow_lock``);
``workflows.services.applications`` offers them with the other writes of an application."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from creditfactory.core.validators import text_problem
from creditfactory.organisations.scoping import can_see

from creditfactory.core.permissions import require_permission

from ..flows import CreditApplicationFlow
from ..locks import application_flow_lock
from ..models import ApplicationStatus, ContractSigning, CreditApplication
from ..nodes import Wait
from ..selectors.applications import application_open_task
from .flow_steps import emit, record_action, save_process_data, set_actor

S = ApplicationStatus
DOCUMENT_PERMISSION = "workflows.add_applicationdocument"

__all__ = ["CONTRACT_PERMISSION", "STAFF_SIGNING", "application_accept_contract",
           "application_record_contract_acceptance", "application_resume_after_documents",
           "application_signing_passed"]

CONTRACT_PERMISSION = "workflows.record_contract_acceptance"
# How staff may say the applicant signed; a partner's applicant accepts through the partner's API.
STAFF_SIGNING = (ContractSigning.BRANCH, ContractSigning.E_SIGNATURE, ContractSigning.REMOTE_SESSION)


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _run_wait(application: CreditApplication, name: str, *, actor, actor_label: str, before=None):
    """Resume the open waiting task ``name`` of the application's process (the caller holds the
    locks, see ``application_flow_lock``); ``None`` if there is none. ``before(process)`` runs
    first, with the process the task will be run with."""
    task = application_open_task(application, node_type=Wait, name=name)
    if task is None:
        return None
    process = task.process
    if before is not None:
        before(process)
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


def _accept_contract(application: CreditApplication, *, actor, actor_label: str, record=None) -> CreditApplication:
    """The contract was accepted: the contract node's wait ends, the credit line is granted and the
    flow ends. ``record(application, process)`` writes what the caller knows about the signing,
    in the same transaction, before the flow moves on."""
    with application_flow_lock(CreditApplicationFlow, application.pk) as application:
        nothing_waits = _error("status", _("Application %(number)s has no contract waiting for acceptance.")
                               % {"number": application.number})
        if application.status != S.CONTRACT:
            raise nothing_waits

        def accepted(process):
            application.contract_accepted_at = timezone.now()
            fields = ["contract_accepted_at", "updated_at"]
            if record is not None:
                fields += record(application, process)
            application.save(update_fields=fields)
            emit(application, event="contract.accepted")

        if _run_wait(application, "contract", actor=actor, actor_label=actor_label, before=accepted) is None:
            raise nothing_waits
    application.refresh_from_db()
    return application


def application_accept_contract(*, application: CreditApplication, actor=None,
                                actor_label: str = "") -> CreditApplication:
    """The applicant accepted the contract (through the partner's API): the credit line is granted
    and the flow ends."""
    def record(locked, process):
        locked.contract_signing = ContractSigning.PARTNER_API
        return ["contract_signing"]

    return _accept_contract(application, actor=actor, actor_label=actor_label, record=record)


def application_record_contract_acceptance(*, application: CreditApplication, actor, signing: str,
                                           reference: str, note: str = "") -> CreditApplication:
    """A staff member records that the applicant of an application without a partner signed the
    contract — at the branch, by e-signature or at the remote-signing session — under
    ``reference`` (the contract number, envelope or session reference). The flow then moves on
    exactly as on the partner API's acceptance: the credit line is granted and the flow ends.

    Needs ``workflows.record_contract_acceptance`` and the application's branch in the actor's
    scope; logged in the application's history (who, how, which reference) and in the process's
    actions."""
    if not getattr(actor, "pk", None) or not actor.has_perm(CONTRACT_PERMISSION):
        raise PermissionDenied(_("You may not record a contract acceptance."))
    if not can_see(actor, application):
        raise PermissionDenied(_("This application belongs to a branch you do not work for."))
    errors = {}
    if signing not in STAFF_SIGNING:
        errors["signing"] = [_("Choose how the applicant signed the contract.")]
    reference = (reference or "").strip()
    note = (note or "").strip()
    if not reference:
        errors["reference"] = [_("Enter the contract's reference.")]
    elif len(reference) > 64:
        errors["reference"] = [_("At most 64 characters.")]
    elif text_problem(reference):
        errors["reference"] = [text_problem(reference)]
    if len(note) > 500:
        errors["note"] = [_("At most 500 characters.")]
    elif note and text_problem(note):
        errors["note"] = [text_problem(note)]
    if application.partner_id:
        errors["status"] = [_("The applicant of a partner's application accepts the contract through the partner.")]
    if errors:
        raise ValidationError(errors)

    def record(locked, process):
        locked.contract_signing, locked.contract_reference, locked.contract_recorded_by = signing, reference, actor
        why = stored_text(gettext_noop("Contract signed (%(how)s), reference %(reference)s."),
                          how=ContractSigning(signing).label, reference=reference)
        if note:
            why = stored_text(gettext_noop("%(what)s Note: %(note)s"), what=why, note=note)
        record_transition(locked, field="contract", from_state="", to_state="accepted", actor=actor, reason=why)
        record_action(process, node="contract", action="accept", actor=actor, reason=note, signing=signing,
                      reference=reference)
        return ["contract_signing", "contract_reference", "contract_recorded_by"]

    return _accept_contract(application, actor=actor, actor_label="", record=record)
