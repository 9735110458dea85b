"""In-loan warnings (贷中风险预警): re-check a borrower's lines with the in-loan warning rule set
(``risk.services.inloan.warning_check``), raise a ``LineWarning`` for a hit and apply the rule's
handling at once, then leave it in the warnings queue for a person to confirm or lift.

Handling (the most severe of the fired rules', as risk reports it):

* ``notify`` — the warning alone;
* ``stop_drawdowns`` — every open drawdown of the line is stopped
  (``workflows.services.drawdowns.drawdown_stop``: rejected, its reservation and funder quotas
  released, its flow cancelled, ``drawdown.rejected`` sent);
* ``freeze`` — the open drawdowns are stopped and the line frozen through the line change flow
  (source ``rule``: applied directly);
* ``reduce_limit`` — the open drawdowns are stopped and the limit reduced to what is drawn
  (used; nothing left available), through the line change flow; a line with nothing drawn
  cannot go to a zero limit and is frozen instead.

Who triggers a check: a new risk-list entry (``list_entry_recheck``, dispatched by risk on
commit, so the lines of that person are frozen within the request that added the entry when
Celery runs eagerly, seconds otherwise) and the monitoring job (``warnings_monitor``, a share of
the active lines per run, so that every line is re-checked once per cycle). Each check carries a
reference (the entry, or the monitoring run) that makes it idempotent: a retried task finds the
check and the warning it raised and does nothing twice.

Lifting a warning undoes what can be undone: a line frozen by it (and still frozen) is unfrozen.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Mod
from django.utils import timezone
from django.utils.translation import gettext as _

from creditfactory.core.state import StateMachine, change_state, record_transition
from risk.models import Applicant
from servicing.models import (
    OPEN_DRAWDOWN_STATUSES, CreditLine, CreditLineChangeKind, CreditLineChangeSource, CreditLineChangeStatus,
    CreditLineStatus, Drawdown, LineWarning, WarningAction, WarningSource, WarningStatus,
)
from servicing.services.calendar import business_date

from ..selectors.lines import may_handle_warnings
from .line_changes import line_change_submit

logger = logging.getLogger(__name__)

__all__ = ["HANDLE_PERMISSION", "WARNING_MACHINE", "list_entry_recheck", "warning_confirm", "warning_lift",
           "warning_handle", "warning_raise", "warnings_monitor"]

HANDLE_PERMISSION = "servicing.handle_linewarning"
W = WarningStatus
WARNING_MACHINE = StateMachine({W.OPEN: frozenset({W.CONFIRMED, W.LIFTED}), W.CONFIRMED: frozenset({W.LIFTED})})
RULE_LABEL = "rule"
_ACTIVE = (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN)


def _warning_check(**kwargs):
    """risk's warning check (imported when called: risk is a layer below and may load later)."""
    from risk.services.inloan import warning_check

    return warning_check(**kwargs)


def _drawdown_reject(**kwargs):
    """The drawdown rejected (reservation and quotas released) and its flow cancelled."""
    from .drawdowns import drawdown_stop

    return drawdown_stop(**kwargs)


# --- raising a warning ---------------------------------------------------------------------------


def _stop_drawdowns(line: CreditLine, warning: LineWarning) -> int:
    stopped = 0
    reason = _("Stopped by in-loan warning: %(rules)s") % {"rules": _rules_text(warning)}
    for drawdown in Drawdown.objects.filter(credit_line=line, status__in=OPEN_DRAWDOWN_STATUSES).order_by("pk"):
        _drawdown_reject(drawdown=drawdown, reason=reason[:500], code="warning", actor_label=RULE_LABEL)
        stopped += 1
    return stopped


def _rules_text(warning: LineWarning) -> str:
    return "; ".join(rule.get("description") or rule.get("code", "") for rule in warning.rules) or _("in-loan rule")


def _rule_change(line: CreditLine, warning: LineWarning, *, kind: str, new_limit=None):
    line.refresh_from_db()
    if line.status not in _ACTIVE:
        return None
    if kind == CreditLineChangeKind.FREEZE and line.status != CreditLineStatus.ACTIVE:
        return None  # frozen already
    return line_change_submit(line=line, kind=kind, new_limit=new_limit, source=CreditLineChangeSource.RULE,
                              reason=(_("In-loan warning: %(rules)s") % {"rules": _rules_text(warning)})[:500],
                              actor_label=RULE_LABEL, warning=warning)


def _handle(line: CreditLine, warning: LineWarning) -> None:
    if warning.action == WarningAction.NOTIFY:
        return
    _stop_drawdowns(line, warning)
    if warning.action == WarningAction.FREEZE:
        _rule_change(line, warning, kind=CreditLineChangeKind.FREEZE)
    elif warning.action == WarningAction.REDUCE_LIMIT:
        line.refresh_from_db()
        floor = line.used + line.held
        if floor <= Decimal("0"):
            _rule_change(line, warning, kind=CreditLineChangeKind.FREEZE)
        elif floor < line.limit:
            _rule_change(line, warning, kind=CreditLineChangeKind.DECREASE, new_limit=floor)


@transaction.atomic
def warning_raise(*, line: CreditLine, result, source: str) -> LineWarning | None:
    """A warning for ``line`` from a warning-check ``result`` (None when it did not hit), its
    handling applied. The same check (``result.reference``) raises one warning only."""
    if not result.hit:
        return None
    existing = LineWarning.objects.filter(credit_line=line, check_reference=result.reference).first()
    if existing is not None:
        return existing
    codes = list(getattr(result, "reason_codes", []) or [])
    rules = [{"code": codes[i] if i < len(codes) else "", "description": str(text)}
             for i, text in enumerate(result.reasons)]
    warning = LineWarning.objects.create(
        credit_line=line, source=source, action=result.action or WarningAction.NOTIFY, rules=rules,
        check_reference=result.reference[:40], business_date=business_date())
    record_transition(warning, from_state="", to_state=W.OPEN, actor_label=RULE_LABEL, reason=_rules_text(warning))
    _handle(line, warning)
    return warning


def warning_handle(*, warning: LineWarning) -> None:
    """Apply the automatic handling of a warning raised elsewhere — the daily close's post-loan
    monitoring (``CLOSE_WARNING_HANDLER``) — in the caller's transaction, as ``warning_raise`` does."""
    _handle(warning.credit_line, warning)


def _check_line(line: CreditLine, *, reference: str, source: str) -> LineWarning | None:
    result = _warning_check(applicant_id=line.applicant_id, product_id=line.product_version.product_id,
                            reference=reference[:64], line_id=line.pk, source=source)
    return warning_raise(line=line, result=result, source=source)


def list_entry_recheck(*, kind: str, value_index: str, entry_id=None, list_type: str = "") -> list[LineWarning]:
    """Re-check the active (and frozen) lines of the person a new list entry names (by the blind
    index of an ID number or mobile; a device entry names no borrower). Returns the warnings raised."""
    field = {"id_number": "id_number_index", "mobile": "mobile_index"}.get(kind)
    if field is None or not value_index:
        return []
    applicants = Applicant.objects.filter(**{field: value_index}).values("pk")
    lines = (CreditLine.objects.filter(applicant__in=applicants, status__in=_ACTIVE)
             .select_related("product_version").order_by("pk"))
    warnings = []
    for line in lines:
        warning = _check_line(line, reference=f"LE{entry_id or value_index[:16]}-CL{line.pk}",
                              source=WarningSource.LIST_ENTRY)
        if warning is not None:
            warnings.append(warning)
    return warnings


def warnings_monitor(*, share_percent: int, cadence_minutes: int, now=None) -> dict:
    """One run of the monitoring job: the active lines of this run's slice (``share_percent`` of
    them, by id, rotating from run to run so that every line is checked once every
    ``100 / share_percent`` runs) are re-checked. Safe to re-run within the same slot."""
    now = now or timezone.now()
    buckets = max(1, math.ceil(100 / max(1, min(share_percent, 100))))
    run = int(now.timestamp() // (max(1, cadence_minutes) * 60))
    bucket = run % buckets
    checked = raised = 0
    lines = (CreditLine.objects.filter(status=CreditLineStatus.ACTIVE).annotate(bucket=Mod("pk", buckets))
             .filter(bucket=bucket).select_related("product_version").order_by("pk"))
    for line in lines.iterator(chunk_size=500):
        checked += 1
        try:
            if _check_line(line, reference=f"MON{run}-CL{line.pk}", source=WarningSource.MONITORING):
                raised += 1
        except Exception:  # one borrower's failing check must not stop the run
            logger.exception("warning check of line %s failed", line.pk)
    return {"run": run, "bucket": bucket, "buckets": buckets, "checked": checked, "raised": raised}


# --- confirm or lift ------------------------------------------------------------------------------


def _decide(warning: LineWarning, *, actor, to_state: str, note: str) -> LineWarning:
    if not getattr(actor, "pk", None) or not may_handle_warnings(actor):
        raise PermissionDenied(_("You may not handle in-loan warnings."))
    warning = LineWarning.objects.select_related("credit_line").get(pk=warning.pk)
    if not WARNING_MACHINE.allows(warning.status, to_state):
        raise ValidationError({"status": [ValidationError(_("This warning has been handled already."),
                                                          code="closed")]})
    warning.handled_by, warning.handled_at, warning.note = actor, timezone.now(), (note or "").strip()[:500]
    change_state(warning, to_state=to_state, machine=WARNING_MACHINE, actor=actor, reason=warning.note,
                 extra_update_fields=["handled_by", "handled_at", "note"])
    return warning


@transaction.atomic
def warning_confirm(*, warning: LineWarning, actor, note: str = "") -> LineWarning:
    """A person confirms the warning: its handling stands."""
    return _decide(warning, actor=actor, to_state=W.CONFIRMED, note=note)


@transaction.atomic
def warning_lift(*, warning: LineWarning, actor, note: str) -> LineWarning:
    """A person lifts the warning (a reason required): a line it froze, still frozen, is unfrozen."""
    if not (note or "").strip():
        raise ValidationError({"note": [_("Give the reason for lifting the warning.")]})
    warning = _decide(warning, actor=actor, to_state=W.LIFTED, note=note)
    froze = warning.changes.filter(kind=CreditLineChangeKind.FREEZE, status=CreditLineChangeStatus.APPLIED).exists()
    line = warning.credit_line
    line.refresh_from_db()
    if froze and line.status == CreditLineStatus.FROZEN:
        line_change_submit(line=line, kind=CreditLineChangeKind.UNFREEZE, source=CreditLineChangeSource.SYSTEM,
                           reason=(_("Warning lifted: %(note)s") % {"note": warning.note})[:500], actor=actor)
    return warning
