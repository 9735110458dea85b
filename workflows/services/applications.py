"""Writes of credit applications, each one transaction that also moves the credit flow and tells
the partner (``webhook_emit``) when the application came from one.

Called by the partner API, the back office and batch import alike:

* ``application_create`` (+ ``submit=True``: ``application_submit`` starts the flow),
  ``application_withdraw``, ``application_add_document``;
* the human decisions on the open review or approval task: ``application_review``,
  ``application_approve``, ``application_reject``, ``application_return_for_documents``, and
  ``application_claim``;
* resuming waiting points: ``application_resume_after_documents``,
  ``application_signing_passed`` (called by remote signing), ``application_accept_contract``
  (written in ``workflows.services.waits``, which remote signing builds on, and offered here).

Bad input raises ``ValidationError({field: [...]})``; applicant fields are named
``applicant.<field>`` (``enterprise.<field>``). Acting on a task one may not take raises
``PermissionDenied``. ``actor`` is the staff user; partners and the system pass ``actor=None``
and ``actor_label`` (``"partner:<code>"``).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.status import PROCESS, STATUS

from creditfactory.core.display import choice_labels
from creditfactory.core.money import MoneyError, quantize_fen, to_decimal
from creditfactory.core.numbers import parse_int
from creditfactory.core.permissions import require_permission
from creditfactory.core.uploads import document_type
from creditfactory.core.validators import text_problem
from products.choices import Purpose, RepaymentMethod
from creditfactory.core.texts import stored_text
from products.models import LoanProduct, ProductType
from products.selectors import ProductNotAvailable, product_version_for_origination
from risk.services.applicants import applicant_get_or_create, enterprise_get_or_create

from ..fastpath import APPLICATIONS, application_save
from ..flows import CreditApplicationFlow
from ..locks import application_flow_lock, application_lock
from ..models import (
    ACTIVE_APPOINTMENT_STATUSES,
    ApplicationDocument,
    ApplicationStatus,
    Channel,
    CreditApplication,
    DocumentKind,
    PiiField,
    PiiReveal,
)
from ..nodes import QueueView
from ..selectors.applications import application_current_node, application_open_task
from ..selectors.flow import four_eyes_excluded, node_enabled
from .dispatch import task_claim
from .flow_steps import emit, move, record_action
from .signing import signing_cancel
from .waits import (
    CONTRACT_PERMISSION,
    application_accept_contract,
    application_record_contract_acceptance,
    application_resume_after_documents,
    application_signing_passed,
)

S = ApplicationStatus

__all__ = [
    "FOUR_EYES_ENTERED", "FOUR_EYES_ENTERED_REVIEW", "FOUR_EYES_REVIEWED", "REQUIRED_CONSENTS", "CONTRACT_PERMISSION",
    "application_accept_contract", "application_record_contract_acceptance",
    "application_add_document", "application_approve", "application_claim", "application_create",
    "application_reject", "application_resume_after_documents", "application_return_for_documents",
    "application_reveal_pii", "application_review", "application_signing_passed", "application_submit",
    "application_withdraw",
]

REQUIRED_CONSENTS = ("credit_report", "personal_information")
FOUR_EYES_REVIEWED = gettext_noop("Four-eyes: the approver cannot be the reviewer of this application.")
FOUR_EYES_ENTERED = gettext_noop("Four-eyes: the approver cannot be the person who entered this application.")
FOUR_EYES_ENTERED_REVIEW = gettext_noop("Four-eyes: the reviewer cannot be the person who entered this application.")

# The named permissions the writes below need from a staff actor (``core.permissions``); the
# decisions on a task need the task's queue permission instead (``workflows.nodes.QueueView``).
ADD_PERMISSION = "workflows.add_creditapplication"
DOCUMENT_PERMISSION = "workflows.add_applicationdocument"



def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _locked(application: CreditApplication):
    """The process lock, then the application row — the order the flow's own nodes take them in,
    so two writers can never wait on each other crosswise. Yields the locked application.
    ``FlowLockFailed`` (another request is moving the same process) propagates: try again."""
    return application_flow_lock(CreditApplicationFlow, application.pk)


# --- create and submit -----------------------------------------------------------------------------


def _product_version(product, partner, errors: dict):
    code = product.code if isinstance(product, LoanProduct) else str(product or "").strip()
    try:
        # One query; the version (immutable) comes from a per-process cache: never modify it.
        return product_version_for_origination(code=code, partner=partner)
    except ProductNotAvailable as exc:
        errors["product"] = [str(exc)]
        return None


def _check_terms(version, *, amount, term, term_unit, repayment_method, purpose, errors: dict):
    try:
        amount = quantize_fen(to_decimal(amount))
    except MoneyError:
        errors["amount"] = [_("Enter an amount in CNY, e.g. 20000.00.")]
        amount = None
    if amount is not None and not version.amount_min <= amount <= version.amount_max:
        errors["amount"] = [_("The amount must be between %(min)s and %(max)s.")
                            % {"min": version.amount_min, "max": version.amount_max}]
    term_unit = term_unit or version.term_unit
    if term_unit != version.term_unit:
        errors["term_unit"] = [_("This product's term is in %(unit)s.") % {"unit": version.get_term_unit_display()}]
    try:
        term = parse_int(term)  # ASCII digits only (core.numbers)
    except (TypeError, ValueError):
        errors["term"] = [_("Enter the term as a whole number.")]
        term = None
    if term is not None and not version.term_min <= term <= version.term_max:
        errors["term"] = [_("The term must be between %(min)s and %(max)s.")
                          % {"min": version.term_min, "max": version.term_max}]
    if repayment_method not in (version.repayment_methods or []):
        errors["repayment_method"] = [_("Choose one of: %(choices)s.")
                                      % {"choices": choice_labels(RepaymentMethod, version.repayment_methods or [])}]
    if purpose not in (version.purposes or []):
        errors["purpose"] = [_("Choose one of: %(choices)s.")
                             % {"choices": choice_labels(Purpose, version.purposes or [])}]
    return amount, term, term_unit


def _prefixed(exc: ValidationError, prefix: str) -> dict:
    if hasattr(exc, "error_dict"):
        return {f"{prefix}.{field}": [str(m) for m in ValidationError(errors).messages]
                for field, errors in exc.error_dict.items()}
    return {prefix: [str(m) for m in exc.messages]}


def _applicant(applicant: dict, enterprise: dict | None, version, actor, errors: dict):
    person = company = None
    if not isinstance(applicant, dict):
        errors["applicant"] = [_("Give the applicant's details.")]
        return None, None
    fields = ("name", "id_number", "mobile", "monthly_income", "employment", "address", "employer_name",
              "years_at_employer", "bank_account")
    try:
        # applicant_get_or_create is atomic itself and validates before it writes: a ValidationError
        # leaves nothing behind, so no savepoint of our own is needed around it.
        person, _created = applicant_get_or_create(actor=actor, **{k: applicant.get(k) for k in fields
                                                                    if k in applicant})
    except ValidationError as exc:
        errors.update(_prefixed(exc, "applicant"))
    except TypeError:
        errors["applicant"] = [_("Give name, ID number, mobile, monthly income and employment.")]
    if version.product_type == ProductType.SMALL_BUSINESS and not enterprise:
        errors["enterprise"] = [_("A business loan needs the enterprise's details.")]
    elif enterprise:
        fields = ("name", "credit_code", "years_in_business", "annual_revenue")
        try:
            company, _created = enterprise_get_or_create(
                actor=actor, legal_representative=person, **{k: enterprise.get(k) for k in fields if k in enterprise})
        except ValidationError as exc:
            errors.update(_prefixed(exc, "enterprise"))
        except (TypeError, ValueError):
            errors["enterprise"] = [_("Give name, credit code, years in business and annual revenue.")]
    return person, company


@transaction.atomic
def application_create(
    *, product, amount, term, repayment_method: str, purpose: str, applicant: dict, branch=None,
    term_unit: str | None = None, enterprise: dict | None = None, channel: str = Channel.BACK_OFFICE,
    partner=None, consents: dict | None = None, device_id: str = "", external_reference: str = "",
    actor=None, actor_label: str = "", submit: bool = True,
) -> CreditApplication:
    """Create an application (and, with ``submit``, start its flow). ``product`` is a
    ``LoanProduct`` or its code; a partner's applications belong to the partner's branch."""
    require_permission(actor, ADD_PERMISSION, message=_("Your role may not enter applications."))
    errors: dict[str, list[str]] = {}
    version = _product_version(product, partner, errors)
    consents = consents if isinstance(consents, dict) else {}
    missing = [name for name in REQUIRED_CONSENTS if consents.get(name) is not True]
    if missing:
        errors["consents"] = [_("The applicant must consent to: %(names)s.") % {"names": ", ".join(missing)}]
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel.")]
    branch = partner.branch if partner is not None else branch
    if branch is None:
        errors["branch"] = [_("Choose the branch the application belongs to.")]
    external_reference = (external_reference or "").strip()
    reference_problem = text_problem(external_reference)  # one line, no control characters
    if reference_problem:
        errors["external_reference"] = [reference_problem]
    if partner is not None and external_reference and CreditApplication.objects.filter(
            partner=partner, external_reference=external_reference).exists():
        errors["external_reference"] = [_("An application with this reference exists already.")]
    if version is None:
        raise ValidationError(errors)
    amount, term, term_unit = _check_terms(version, amount=amount, term=term, term_unit=term_unit,
                                           repayment_method=repayment_method, purpose=purpose, errors=errors)
    person, company = _applicant(applicant, enterprise, version, actor, errors)
    if errors:
        raise ValidationError(errors)

    user = actor if getattr(actor, "pk", None) else None
    application = CreditApplication(
        number=CreditApplication.provisional_number(), product_version=version, branch=branch, channel=channel,
        amount=amount, term=term, term_unit=term_unit, repayment_method=repayment_method, purpose=purpose,
        applicant=person, enterprise=company, device_id=(device_id or "").strip()[:128], created_by=user,
        partner=partner, external_reference=external_reference, consents={k: bool(v) for k, v in consents.items()},
    )
    APPLICATIONS.insert(application)
    # The number needs the id. Nothing reads the row before this transaction commits, so with
    # ``submit`` the number is written by the submit's own UPDATE instead of one of its own.
    application.number = application.application_number()
    if not submit:
        application_save(application, ["number"])
    emit(application, event="application.created")
    if submit:
        _submit(application, actor=actor, actor_label=actor_label, extra_update_fields=("number",))
    return application


@transaction.atomic
def application_submit(*, application: CreditApplication, actor=None, actor_label: str = "") -> CreditApplication:
    """Start the credit flow of a draft application: the automated assessment is queued on commit."""
    application = application_lock(application.pk)
    if application.status != S.DRAFT or application.process_id:
        raise _error("status", _("Only a draft application can be submitted."))
    _submit(application, actor=actor, actor_label=actor_label)
    return application


def _submit(application: CreditApplication, *, actor, actor_label: str, extra_update_fields=()) -> None:
    """Start the flow of ``application`` (a draft, locked or created in this transaction) and
    record it submitted. The flow is started first so that status, submission time and process
    are written in one UPDATE; nothing in between reads the application's row."""
    application.submitted_at = timezone.now()
    application.process = CreditApplicationFlow.start.run(application=application, actor=actor, actor_label=actor_label)
    move(application, to_state=S.SUBMITTED, actor=actor, actor_label=actor_label,
         reason=stored_text(gettext_noop("Submitted.")),
         extra_update_fields=("submitted_at", "process", *extra_update_fields))


# --- withdraw and documents ------------------------------------------------------------------------


def application_withdraw(*, application: CreditApplication, reason: str, actor=None,
                         actor_label: str = "") -> CreditApplication:
    """The applicant withdraws: the flow is cancelled and an active signing appointment freed."""
    require_permission(actor, ADD_PERMISSION, message=_("Your role may not withdraw applications."))
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", _("Give the reason for withdrawing."))
    with _locked(application) as application:
        return _withdraw(application, reason=reason, actor=actor, actor_label=actor_label)


def _withdraw(application: CreditApplication, *, reason: str, actor, actor_label: str) -> CreditApplication:
    if application.is_closed:
        raise _error("status", _("Application %(number)s is %(status)s and can no longer be withdrawn.")
                     % {"number": application.number, "status": application.get_status_display().lower()})
    process = application.process
    if process is not None and process.status == PROCESS.NEW:
        try:
            CreditApplicationFlow.instance.cancel(process)
        except FlowRuntimeError:
            raise _error("status", _("The application is being worked on right now; try again.")) from None
    for appointment in application.signing_appointments.filter(status__in=ACTIVE_APPOINTMENT_STATUSES):
        signing_cancel(appointment=appointment, reason=reason, actor=actor, actor_label=actor_label or "system")
    application.closed_at = timezone.now()
    move(application, to_state=S.WITHDRAWN, actor=actor, actor_label=actor_label, reason=reason,
         extra_update_fields=("closed_at",))
    emit(application, event="application.withdrawn", reason=reason)
    return application


def application_add_document(*, application: CreditApplication, file, kind: str = DocumentKind.OTHER,
                             note: str = "", actor=None, actor_label: str = "",
                             resume: bool = False) -> ApplicationDocument:
    """Attach a PDF, JPEG or PNG. With ``resume``, an application returned for documents goes
    back to the step that asked for them (in the same transaction)."""
    require_permission(actor, DOCUMENT_PERMISSION, message=_("Your role may not add documents."))
    if kind not in DocumentKind.values:
        raise _error("kind", _("Choose one of: %(choices)s.") % {"choices": choice_labels(DocumentKind)})
    size = getattr(file, "size", None) or 0
    if not size:
        raise _error("file", _("The file is empty."))
    if size > settings.WORKFLOW_DOCUMENT_MAX_BYTES:
        raise _error("file", _("The file is larger than %(mb)s MB.")
                     % {"mb": settings.WORKFLOW_DOCUMENT_MAX_BYTES // (1024 * 1024)})
    file.seek(0)
    # The type is read from the content, never trusted from the client, and the whole file must
    # be of that type (core.uploads: no PDF header in front of an HTML page).
    content_type = document_type(file.read())
    if content_type not in settings.WORKFLOW_DOCUMENT_CONTENT_TYPES:
        raise _error("file", _("Upload a PDF, JPEG or PNG file."))
    file.seek(0)
    digest = hashlib.sha256()
    for chunk in file.chunks() if hasattr(file, "chunks") else [file.read()]:
        digest.update(chunk)
    file.seek(0)
    with _locked(application) as application:
        if application.is_closed:
            raise _error("file", _("Application %(number)s is closed: no more documents.")
                         % {"number": application.number})
        user = actor if getattr(actor, "pk", None) else None
        document = ApplicationDocument(
            application=application, kind=kind, name=(getattr(file, "name", "") or "document")[-255:],
            content_type=content_type, size=size, sha256=digest.hexdigest(), note=(note or "").strip()[:255],
            uploaded_by=user, uploaded_by_label="" if user else (actor_label or "system"),
        )
        document.file.save(document.name, file, save=False)
        try:
            document.save()
            if resume and application.status == S.RETURNED:
                application_resume_after_documents(application=application, actor=actor, actor_label=actor_label)
        except BaseException:
            # The row is rolled back with the transaction; the stored file would be left behind.
            document.file.delete(save=False)
            raise
    return document


# --- human decisions -------------------------------------------------------------------------------


def _four_eyes(application: CreditApplication, task, actor) -> None:
    """Entry → review → approval are three people: who entered the application may neither review
    nor approve it, who reviewed it may not approve it."""
    if task.flow_task.name == "review":
        if application.created_by_id and application.created_by_id == actor.pk:
            raise _error("actor", _(FOUR_EYES_ENTERED_REVIEW))
        return
    if task.flow_task.name != "approval":
        return
    if application.created_by_id and application.created_by_id == actor.pk:
        raise _error("actor", _(FOUR_EYES_ENTERED))
    if actor.pk in four_eyes_excluded(task.process):
        raise _error("actor", _(FOUR_EYES_REVIEWED))


def _decide(application: CreditApplication, *, actor, action: str, node: str | None = None, reason: str = "",
            **extra) -> CreditApplication:
    """Complete the open review or approval task of ``application`` with ``action``."""
    if not getattr(actor, "pk", None):
        raise PermissionDenied(_("Only staff can review or approve."))
    process_id = application.process_id
    if not process_id:
        raise _error("status", _("Application %(number)s has not been submitted.") % {"number": application.number})
    with _locked(application) as application:
        task = application_open_task(application, node_type=QueueView, name=node)
        if task is None:
            raise _error("status", _("Application %(number)s has no %(node)s waiting.")
                         % {"number": application.number, "node": node or _("review or approval")})
        flow_task = task.flow_task
        _four_eyes(application, task, actor)
        activation = flow_task.activation_class(task)
        if task.status == STATUS.NEW:
            if not flow_task.can_assign(actor, task):
                raise PermissionDenied(_("You do not work on this task's queue."))
            activation.assign(actor)
        if not flow_task.can_execute(actor, task):
            raise PermissionDenied(_("The task is assigned to %(user)s.") % {"user": task.owner})
        if flow_task.name == "review":
            application.reviewed_by = actor
            application.save(update_fields=["reviewed_by", "updated_at"])
        process = task.process
        if action == "return":
            process.data["returned_from"] = flow_task.name
        record_action(process, node=flow_task.name, action=action, actor=actor, reason=reason, **extra)
        activation.start(None)
        activation.execute()
    application.refresh_from_db()
    return application


def _require_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", message)
    return reason


def application_approve(*, application: CreditApplication, actor, note: str = "", conditions: str = "",
                        request_approval: bool = False) -> CreditApplication:
    """Approve on the open review or approval task with an opinion (``note``) and the conditions
    the approval is given under (both shown to the approver and on the application page). A
    reviewer may ask for an approver (``request_approval``) where the product has the approval
    node."""
    if request_approval:
        open_node = application_current_node(application)
        if open_node != "review":
            raise _error("request_approval", _("Only a reviewer can ask for an approver."))
        if not node_enabled(application.process, node="approval"):
            raise _error("request_approval", _("This product has no approval step."))
    return _decide(application, actor=actor, action="approve", reason=(note or "").strip(),
                   conditions=(conditions or "").strip(), request_approval=bool(request_approval))


def application_reject(*, application: CreditApplication, actor, reason: str,
                       customer_reason: str = "") -> CreditApplication:
    """Reject on the open review or approval task; ``reason`` is required, ``customer_reason`` is
    what the applicant is told (default: a neutral sentence)."""
    reason = _require_reason(reason, _("Give the reason for rejecting."))
    return _decide(application, actor=actor, action="reject", reason=reason,
                   customer_reason=(customer_reason or "").strip())


def application_return_for_documents(*, application: CreditApplication, actor, reason: str,
                                     documents=()) -> CreditApplication:
    """Ask the applicant's channel for more documents; the application waits for them and then
    goes back to the step that asked."""
    reason = _require_reason(reason, _("Say which documents are needed and why."))
    documents = [d for d in (documents or []) if d]
    unknown = [d for d in documents if d not in DocumentKind.values]
    if unknown:
        raise _error("documents", _("Unknown document kinds: %(kinds)s.") % {"kinds": ", ".join(unknown)})
    return _decide(application, actor=actor, action="return", reason=reason, documents=documents)


def application_review(*, application: CreditApplication, actor, outcome: str, reason: str = "",
                       request_approval: bool = False, documents=()) -> CreditApplication:
    """The reviewer's (审查) decision: ``approve`` | ``reject`` | ``return``."""
    if application_current_node(application) != "review":
        raise _error("status", _("Application %(number)s is not in review.") % {"number": application.number})
    if outcome == "approve":
        return application_approve(application=application, actor=actor, note=reason,
                                   request_approval=request_approval)
    if outcome == "reject":
        return application_reject(application=application, actor=actor, reason=reason)
    if outcome == "return":
        return application_return_for_documents(application=application, actor=actor, reason=reason,
                                                documents=documents)
    raise _error("outcome", _("Choose approve, reject or return."))


def application_claim(*, application: CreditApplication, actor):
    """Take the application's open review or approval task from the queue."""
    task = application_open_task(application, node_type=QueueView)
    if task is None:
        raise _error("status", _("Nothing of %(number)s is waiting in a queue.") % {"number": application.number})
    return task_claim(task=task, actor=actor)


# --- PII -------------------------------------------------------------------------------------------

REVEAL_PERMISSION = "risk.reveal_applicant_pii"


@transaction.atomic
def application_reveal_pii(*, application: CreditApplication, user, field: str, reason: str,
                           ip_address: str | None = None) -> str:
    """The unmasked identifier ``field`` of the applicant, for a user allowed to see it, with the
    reason recorded (who, when, which field, why) before anything is shown."""
    if not getattr(user, "pk", None) or not user.has_perm(REVEAL_PERMISSION):
        raise PermissionDenied(_("You may not reveal identifiers."))
    if field not in PiiField.values:
        raise _error("field", _("Choose one of: %(choices)s.") % {"choices": choice_labels(PiiField)})
    reason = _require_reason(reason, _("Say why you need to see the unmasked value."))
    PiiReveal.objects.create(user=user, application=application, applicant_id=application.applicant_id, field=field,
                             reason=reason, ip_address=ip_address or None)
    return getattr(application.applicant, field) or ""
